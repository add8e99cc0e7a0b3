"""Plants text in the codestreams of compressed copies of one CT slice, for
test/src/pixelText.test.ts. Usage: plant-pixel-text.py SRC OUT MARK

Compresses SRC with dcmtk (dcmcjpeg baseline and lossless, dcmcjpls) and
GDCM (gdcmconv --j2k, OpenJPEG), inserts COM and APPn segments (JPEG 2000
COM in the main and a tile-part header) whose text starts with MARK, adds
text after a codestream's end, and splits frames into fragments so that
segments straddle fragment boundaries. Writes OUT/NAME.dcm (planted),
OUT/ref-NAME.dcm (as the codec wrote it) and OUT/expect.json: for each
NAME its transfer syntax, its fragment lengths, and every run of bytes
(offset in the frames' fragments joined, Basic Offset Table left out;
length; fill byte) that de-identification must blank, known from how the
file was built: nothing else may change.

Run with Debian's /usr/bin/python3 (python3-pydicom)."""
import json
import os
import struct
import subprocess
import sys

import pydicom

src, out, mark = sys.argv[1], sys.argv[2], sys.argv[3]
os.makedirs(out, exist_ok=True)


def fragments(pixel_data):
    """The fragments after the Basic Offset Table, and that table."""
    frags, at = [], 0
    while at + 8 <= len(pixel_data):
        group, elem, length = struct.unpack('<HHI', pixel_data[at:at + 8])
        if (group, elem) == (0xFFFE, 0xE0DD):
            break
        frags.append(pixel_data[at + 8:at + 8 + length])
        at += 8 + length
    return frags[1:], frags[0]


def item(data):
    return b'\xfe\xff\x00\xe0' + struct.pack('<I', len(data)) + data


def encapsulated(frags, bot=b''):
    return item(bot) + b''.join(item(f) for f in frags)


def segment(code, payload):
    return bytes([0xFF, code]) + struct.pack('>H', len(payload) + 2) + payload


def split(stream, cuts):
    """Fragments of one frame cut at the given (even) offsets."""
    assert all(c % 2 == 0 for c in cuts), cuts
    edges = [0] + sorted(cuts) + [len(stream)]
    return [stream[a:b] for a, b in zip(edges, edges[1:])]


def compressed(name, tool):
    ref = os.path.join(out, f'ref-{name}.dcm')
    subprocess.run(tool + [src, ref], check=True)
    ds = pydicom.dcmread(ref)
    frames, _ = fragments(ds.PixelData)
    assert len(frames) == 1, name
    return ds, frames[0]


expect = {}


def save(name, ds, frags, blank, n_frames=1, bot=b''):
    ds.PixelData = encapsulated(frags, bot)
    ds['PixelData'].is_undefined_length = True
    ds['PixelData'].VR = 'OB'
    if n_frames > 1:
        ds.NumberOfFrames = n_frames
    # Another instance per file (lpacs replaces UIDs; they only differ).
    for kw in ('SOPInstanceUID', 'SeriesInstanceUID'):
        setattr(ds, kw, getattr(ds, kw) + f'.{len(expect) + 1}')
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    ds.save_as(os.path.join(out, f'{name}.dcm'), write_like_original=False)
    expect[name] = {
        'transferSyntax': str(ds.file_meta.TransferSyntaxUID),
        'fragments': [len(f) for f in frags],
        'blank': blank,
    }


def text(n, tag):
    """A payload of n bytes: MARK, the tag, a name and an ID."""
    t = f'{mark}{tag} Patient ZQROE^ZQJANE ZQMRN55'.encode()
    return (t * (n // len(t) + 1))[:n]


def header_end(f, last):
    """The offset of the first segment of code `last` in a JPEG header."""
    at = 2
    while f[at + 1] != last:
        at += 2 + struct.unpack('>H', f[at + 2:at + 4])[0]
    return at


# JPEG baseline: before SOS (decoders read SOF from the first fragment), an
# APP1 of odd length (an Exif-like block), then a COM whose FF ends a
# fragment; another COM after the entropy-coded data; text after EOI in the
# last fragment; fragments of 96 bytes through the scan.
ds, f = compressed('baseline', ['dcmcjpeg', '+eb'])
a1 = header_end(f, 0xDA)
app1 = segment(0xE1, b'Exif\0\0' + text(31 if a1 % 2 == 0 else 30, 'A1'))
com = segment(0xFE, text(40, 'C1'))
eoi = f.rindex(b'\xff\xd9')
tail_com = segment(0xFE, text(22, 'C2'))
trail = text(6, 'T1')
stream = f[:a1] + app1 + com + f[a1:eoi] + tail_com + b'\xff\xd9' + trail
stream += b'\0' * (len(stream) % 2)
c1 = a1 + len(app1)
c2 = c1 + len(com) + (eoi - a1)
assert c1 % 2 == 1
scan = c1 + len(com) + 1  # an even offset past the COM
cuts = [a1 + 2 + a1 % 2, c1 + 1, c1 + 21, *range(scan, c2, 96)]
save('baseline', ds, split(stream, cuts), [
    [a1 + 4, len(app1) - 4, 0],
    [c1 + 4, len(com) - 4, 0],
    [c2 + 4, len(tail_com) - 4, 0],
    [c2 + len(tail_com) + 2, len(stream) - c2 - len(tail_com) - 2, 0],
])

# JPEG lossless, two frames of one fragment each: the second frame alone
# carries a COM and an APP15 (the Basic Offset Table says where it starts).
ds, f = compressed('lossless', ['dcmcjpeg'])
jfif_end = 4 + struct.unpack('>H', f[4:6])[0]
com = segment(0xFE, text(28, 'C3'))
app15 = segment(0xEF, text(18, 'A2'))
second = f[:jfif_end] + com + app15 + f[jfif_end:]
second += b'\0' * (len(second) % 2)
save('lossless', ds, [f, second], [
    [len(f) + jfif_end + 4, len(com) - 4, 0],
    [len(f) + jfif_end + len(com) + 4, len(app15) - 4, 0],
], n_frames=2, bot=struct.pack('<II', 0, len(f) + 8))

# JPEG-LS lossless: a COM and an APP1 after SOI, the frame cut in three:
# between the COM's marker and its length, and inside the APP1's text.
ds, f = compressed('jpeg-ls', ['dcmcjpls'])
com = segment(0xFE, text(33, 'C4'))
app1 = segment(0xE1, text(40, 'A3'))
stream = f[:2] + com + app1 + f[2:]
stream += b'\0' * (len(stream) % 2)
save('jpeg-ls', ds, split(stream, [4, 2 + len(com) + 11]), [
    [6, len(com) - 4, 0],
    [2 + len(com) + 4, len(app1) - 4, 0],
])

# JPEG 2000 (OpenJPEG through GDCM, which writes its own Latin COM): two
# binary COMs in the main header, the second cut between its marker's two
# bytes and inside its length; a Latin COM in the first tile-part header
# (its Psot grown to match); and OpenJPEG's own COM.
ds, f = compressed('j2k', ['gdcmconv', '--j2k'])
at, own = 2, None
while f[at + 1] != 0x90:  # main header segments up to the first SOT
    length = struct.unpack('>H', f[at + 2:at + 4])[0]
    if f[at + 1] == 0x64:
        own = [at + 6, length - 4, 0x20 if f[at + 4:at + 6] == b'\0\1' else 0]
    at += 2 + length
assert own, 'OpenJPEG writes a COM'
sot = at
# The first COM's length puts the second's FF at an odd offset.
pre = segment(0x64, b'\0\0' + text(21 if sot % 2 == 0 else 20, 'J0'))
main_com = segment(0x64, b'\0\0' + text(41, 'J1'))
tile_com = segment(0x64, b'\0\1' + text(24, 'J2'))
psot = struct.unpack('>I', f[sot + 6:sot + 10])[0]
assert psot > 0
tile = bytearray(f[sot:sot + 12])
tile[6:10] = struct.pack('>I', psot + len(tile_com))
stream = f[:sot] + pre + main_com + bytes(tile) + tile_com + f[sot + 12:]
stream += b'\0' * (len(stream) % 2)
m = sot + len(pre)
t = m + len(main_com)
assert m % 2 == 1
cuts = [c for c in (m + 1, m + 3, own[0] + 4, t + 12) if c % 2 == 0]
save('j2k', ds, split(stream, cuts), [
    own,
    [sot + 6, len(pre) - 6, 0],
    [m + 6, len(main_com) - 6, 0],
    [t + 18, len(tile_com) - 6, 0x20],
])

with open(os.path.join(out, 'expect.json'), 'w') as fp:
    json.dump(expect, fp, indent=1)
