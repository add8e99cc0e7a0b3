"""Writes small synthetic DICOM images whose stored values are known by
construction, for the @lpacs/pixels tests. Usage: make-synthetic.py OUTDIR

Each NAME.dcm comes with NAME.expected: the stored values of every frame
as little-endian int32, pixels interleaved (R, G, B, R, ...). Run with
Debian's /usr/bin/python3 (python3-pydicom, python3-numpy)."""
import sys
import numpy as np
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import (ExplicitVRLittleEndian, ExplicitVRBigEndian,
                         generate_uid)

OUT = sys.argv[1]
ROWS, COLS = 7, 9  # odd sizes catch row/column mix-ups


def base(ts, **attrs):
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = '1.2.840.10008.5.1.4.1.1.7'
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ts
    ds = Dataset()
    ds.file_meta = meta
    ds.preamble = b'\0' * 128
    ds.is_little_endian = ts != ExplicitVRBigEndian
    ds.is_implicit_VR = False
    ds.SOPClassUID = meta.MediaStorageSOPClassUID
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.Modality = 'OT'
    ds.Rows, ds.Columns = ROWS, COLS
    for k, v in attrs.items():
        setattr(ds, k, v)
    return ds


def save(name, ds, pixel_bytes, expected):
    ds.PixelData = pixel_bytes
    ds['PixelData'].VR = 'OB' if ds.BitsAllocated == 8 else 'OW'
    ds.save_as(f'{OUT}/{name}.dcm', write_like_original=False)
    expected.astype('<i4').tofile(f'{OUT}/{name}.expected')


# RGB 8-bit, colour-by-pixel and colour-by-plane.
rgb = (np.arange(ROWS * COLS * 3).reshape(ROWS, COLS, 3) * 7 % 256)
for planar in (0, 1):
    ds = base(ExplicitVRLittleEndian, SamplesPerPixel=3,
              PhotometricInterpretation='RGB', PlanarConfiguration=planar,
              BitsAllocated=8, BitsStored=8, HighBit=7,
              PixelRepresentation=0)
    data = rgb.transpose(2, 0, 1) if planar else rgb
    save(f'rgb_planar{planar}', ds, data.astype('u1').tobytes(), rgb)

# Signed 12-bit values in 16-bit words whose top 4 bits hold junk that a
# reader must mask off before sign extension (PS3.5 8.1.1).
values = np.linspace(-2048, 2047, ROWS * COLS).round().astype(np.int32)
words = (values & 0x0FFF) | (0xA000 * (np.arange(values.size) % 2))
for ts, order, name in ((ExplicitVRLittleEndian, '<u2', 'signed12_le'),
                        (ExplicitVRBigEndian, '>u2', 'signed12_be')):
    ds = base(ts, SamplesPerPixel=1, PhotometricInterpretation='MONOCHROME2',
              BitsAllocated=16, BitsStored=12, HighBit=11,
              PixelRepresentation=1, RescaleSlope='2', RescaleIntercept='-5')
    save(name, ds, words.astype(order).tobytes(), values)

# Three frames of unsigned 16-bit, each frame different.
frames = np.stack([np.arange(ROWS * COLS) * (f + 1) * 997 % 65536
                   for f in range(3)])
ds = base(ExplicitVRLittleEndian, SamplesPerPixel=1,
          PhotometricInterpretation='MONOCHROME1', NumberOfFrames=3,
          BitsAllocated=16, BitsStored=16, HighBit=15, PixelRepresentation=0)
save('frames3_u16', ds, frames.astype('<u2').tobytes(), frames)

# YBR_FULL colour-by-pixel, which a renderer must turn into RGB itself.
ds = base(ExplicitVRLittleEndian, SamplesPerPixel=3,
          PhotometricInterpretation='YBR_FULL', PlanarConfiguration=0,
          BitsAllocated=8, BitsStored=8, HighBit=7, PixelRepresentation=0)
ybr = (np.arange(ROWS * COLS * 3).reshape(ROWS, COLS, 3) * 11 % 200 + 28)
save('ybr_full', ds, ybr.astype('u1').tobytes(), ybr)
