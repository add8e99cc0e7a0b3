import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { AccessStore, Action, Role } from '@lpacs/access';
import { startServer } from '@lpacs/api';
import type { RunningServer } from '@lpacs/api';
import { CT, filesUnder, parquetRows, runCli, tempDir } from './helpers';

// New-user trial (HIGH): POST /sync/objects stored lpacs objects with one
// field planted per copy, Overlay Description/Label, file meta elements
// lpacs never writes, BurnedInAnnotation YES, byte for byte. Each copy
// here is a real object of lake A (ingested from the CT corpus) with one
// element planted by pydicom (Debian python3-pydicom), sent to lake B's
// server on 127.0.0.1.

const PYTHON = '/usr/bin/python3';
const PYDICOM_FILES = '/usr/lib/python3/dist-packages/pydicom/data/test_files';
const work = tempDir('sync-planted');
const lakeA = join(work.path, 'a');
const lakeB = join(work.path, 'b');
const plants = join(work.path, 'plants');
let server: RunningServer;
let base = '';
let token = '';

/** Every planted text value starts with this; none may reach B. */
const MARK = 'PLNT';

/**
 * One copy per plant: the pydicom edit on `ds`, the code B must answer,
 * and the attribute its message must name (tag and PS3.6 keyword).
 */
const PLANTS: Array<[name: string, edit: string, code: string, names: RegExp]> =
  [
    [
      'overlay-description',
      `ds.add_new(0x60000022, 'LO', '${MARK}01 Roe^Jane')`,
      'NOT_DEIDENTIFIED',
      /\(6000,0022\) OverlayDescription is an overlay or curve element/,
    ],
    [
      'overlay-label',
      `ds.add_new(0x60001500, 'LO', '${MARK}02 Roe')`,
      'NOT_DEIDENTIFIED',
      /\(6000,1500\) OverlayLabel is an overlay or curve element/,
    ],
    [
      'second-overlay-group',
      `ds.add_new(0x60020022, 'LO', '${MARK}03 Roe')`,
      'NOT_DEIDENTIFIED',
      /\(6002,0022\) OverlayDescription is an overlay or curve element/,
    ],
    [
      'curve-description',
      `ds.add_new(0x50000022, 'LO', '${MARK}04 Roe')`,
      'NOT_DEIDENTIFIED',
      /\(5000,0022\) CurveDescription is an overlay or curve element/,
    ],
    [
      'overlay-in-an-item',
      `item = Dataset()\nitem.add_new(0x60000022, 'LO', '${MARK}05 Roe')\nds.add_new(0x00081140, 'SQ', Sequence([item]))`,
      'NOT_DEIDENTIFIED',
      /\(6000,0022\) OverlayDescription is an overlay or curve element/,
    ],
    [
      // Even groups above 1E: no standard element (PS3.5 7.6), but
      // dcmtk's dictionary reads them as overlays; lpacs removes them.
      'overlay-group-6020',
      `ds.add_new(0x60200022, 'LO', '${MARK}18 Roe')`,
      'NOT_DEIDENTIFIED',
      /: \(6020,0022\) is an overlay or curve element/,
    ],
    [
      'overlay-group-60fe',
      `ds.add_new(0x60fe1500, 'LO', '${MARK}19 Roe')`,
      'NOT_DEIDENTIFIED',
      /: \(60FE,1500\) is an overlay or curve element/,
    ],
    [
      'curve-group-50fe-in-an-item',
      `item = Dataset()\nitem.add_new(0x50fe2500, 'LO', '${MARK}20 Roe')\nds.add_new(0x00081140, 'SQ', Sequence([item]))`,
      'NOT_DEIDENTIFIED',
      /: \(50FE,2500\) is an overlay or curve element/,
    ],
    [
      // Group lengths: lpacs writes none in the data set, so any is
      // refused, whatever its VR or value, at any depth.
      'group-length-as-text',
      `extra = [(0x00100000, raw(0x00100000, 'LO', '${MARK}21 ZQN11 ZXQUARTZ'))]`,
      'NOT_DEIDENTIFIED',
      /: \(0010,0000\) is a group length, which lpacs does not write in the data set/,
    ],
    [
      'overlay-group-length',
      `extra = [(0x60000000, raw(0x60000000, 'LT', '${MARK}22 Roe'))]`,
      'NOT_DEIDENTIFIED',
      /: \(6000,0000\) is a group length/,
    ],
    [
      'private-group-length',
      `extra = [(0x00110000, raw(0x00110000, 'LT', '${MARK}23 Roe'))]`,
      'NOT_DEIDENTIFIED',
      /: \(0011,0000\) is a group length/,
    ],
    [
      // In implicit VR the reader takes (gggg,0000) as UL, whatever it holds.
      'group-length-implicit-vr',
      `ds.file_meta.TransferSyntaxUID = '1.2.840.10008.1.2'\nds.is_implicit_VR = True\nextra = [(0x00080000, raw(0x00080000, 'LO', '${MARK}24 Roe^Jane', True))]`,
      'NOT_DEIDENTIFIED',
      /: \(0008,0000\) is a group length/,
    ],
    [
      'group-length-in-a-kept-item',
      `ds.pop(0x00081140, None)\nextra = [(0x00081140, sequence(0x00081140, [raw(0x00081150, 'UI', ds.SOPClassUID) + raw(0x00081155, 'UI', ds.SOPInstanceUID) + raw(0x00400000, 'LT', '${MARK}25 Roe')]))]`,
      'NOT_DEIDENTIFIED',
      /: \(0040,0000\) is a group length/,
    ],
    [
      // Elements the table does not list: text with a VR PS3.6 does not
      // give it, C's text whatever its VR, a UID naming an original, a
      // URI to the source site (docs/deid.md).
      'model-name-as-ob',
      `ds.add_new(0x00081090, 'OB', b'${MARK}28 Roe^Jane ')`,
      'NOT_DEIDENTIFIED',
      /: \(0008,1090\) ManufacturerModelName is written as OB, not the VR PS3.6 gives it/,
    ],
    [
      'unlisted-date-as-ob',
      `ds.add_new(0x00143076, 'OB', b'19440604${MARK}29')`,
      'NOT_DEIDENTIFIED',
      /: \(0014,3076\) DateOfGainCalibration is written as OB, not the VR PS3.6 gives it/,
    ],
    [
      'patient-comments-as-ob',
      `ds.add_new(0x00104000, 'OB', b'${MARK}30 Roe HIV+ ')`,
      'NOT_DEIDENTIFIED',
      /: \(0010,4000\) PatientComments holds a value, and the profile empties it/,
    ],
    [
      'unlisted-uid',
      `ds.add_new(0x00081167, 'UI', '1.2.826.0.1.3680043.99.6.3')`,
      'NOT_DEIDENTIFIED',
      /: \(0008,1167\) MultiFrameSourceSOPInstanceUID holds a UID the profile would have replaced/,
    ],
    [
      'retrieve-uri',
      `ds.add_new(0x0040E010, 'UR', 'https://pacs.${MARK}31.example/studies/1.2.826.0.1.3680043.99.6.1')`,
      'NOT_DEIDENTIFIED',
      /: \(0040,E010\) RetrieveURI is a URI the table does not list/,
    ],
    [
      'source-ae-title',
      `ds.file_meta.SourceApplicationEntityTitle = '${MARK}06ROE'`,
      'NOT_DEIDENTIFIED',
      /its file meta holds \(0002,0016\) SourceApplicationEntityTitle, which lpacs does not write/,
    ],
    [
      'private-information',
      `ds.file_meta.PrivateInformationCreatorUID = '1.2.3'\nds.file_meta.PrivateInformation = b'${MARK}07 Roe^Jane '`,
      'NOT_DEIDENTIFIED',
      /its file meta holds \(0002,0100\) PrivateInformationCreatorUID, which lpacs does not write/,
    ],
    [
      'private-information-alone',
      `ds.file_meta.PrivateInformation = b'${MARK}08 Roe^Jane '`,
      'NOT_DEIDENTIFIED',
      /its file meta holds \(0002,0102\) PrivateInformation, which lpacs does not write/,
    ],
    [
      'implementation-version-name',
      `ds.file_meta.ImplementationVersionName = '${MARK}09ROE'`,
      'NOT_DEIDENTIFIED',
      /its file meta \(0002,0013\) ImplementationVersionName is not what lpacs writes/,
    ],
    [
      'preamble',
      `ds.preamble = b'${MARK}10 Roe^Jane'.ljust(128, b'\\0')`,
      'NOT_DEIDENTIFIED',
      /its 128-byte preamble is not zeros/,
    ],
    [
      'deidentification-method',
      `ds.DeidentificationMethod = '${MARK}11 Roe'`,
      'NOT_DEIDENTIFIED',
      /\(0012,0063\) DeidentificationMethod is not the text lpacs writes/,
    ],
    [
      'method-code-meaning',
      `ds.DeidentificationMethodCodeSequence[0].CodeMeaning = '${MARK}12 Roe'`,
      'NOT_DEIDENTIFIED',
      /an item of \(0012,0064\) DeidentificationMethodCodeSequence is not a code lpacs writes/,
    ],
    [
      // 2.25. and 2^128: the prefix lpacs writes, a number it cannot.
      'uid-beyond-128-bits',
      `ds.SeriesInstanceUID = '2.25.' + str(2**128)`,
      'NOT_DEIDENTIFIED',
      /\(0020,000E\) SeriesInstanceUID holds a UID the profile would have replaced/,
    ],
    [
      // Specific Character Set: lpacs writes Defined Terms alone, so a
      // value that is none (an ID, a name) is text lpacs never wrote.
      'character-set-term',
      `ds.SpecificCharacterSet = ['ISO_IR 100', '${MARK}26ROE']`,
      'NOT_DEIDENTIFIED',
      /^a synced object that is not de-identified as it says: \(0008,0005\) SpecificCharacterSet holds a value that is not a Defined Term/,
    ],
    [
      'character-set-term-in-an-item',
      `item = Dataset()\nitem.SpecificCharacterSet = '${MARK}27ROE'\nds.add_new(0x00081140, 'SQ', Sequence([item]))`,
      'NOT_DEIDENTIFIED',
      /\(0008,0005\) SpecificCharacterSet holds a value that is not a Defined Term/,
    ],
    [
      'burned-in-annotation',
      `ds.BurnedInAnnotation = 'YES'`,
      'BURNED_IN_ANNOTATION',
      /BurnedInAnnotation \(0028,0301\) is YES/,
    ],
    [
      'recognizable-visual-features',
      `ds.add_new(0x00280302, 'CS', 'YES')`,
      'RECOGNIZABLE_VISUAL_FEATURES',
      /RecognizableVisualFeatures \(0028,0302\) is YES/,
    ],
    [
      'ultrasound-modality',
      `ds.Modality = 'US'`,
      'BURNED_IN_ANNOTATION',
      /Modality \(0008,0060\) US \(ultrasound\)/,
    ],
    [
      'secondary-capture-class',
      `ds.SOPClassUID = ds.file_meta.MediaStorageSOPClassUID = '1.2.840.10008.5.1.4.1.1.7'`,
      'BURNED_IN_ANNOTATION',
      /secondary capture without BurnedInAnnotation \(0028,0301\) NO/,
    ],
    [
      // A's CT compressed by dcmcjpeg (JPEG Lossless), a COM segment
      // naming the patient put in its frame: lpacs blanks those.
      'jpeg-comment-segment',
      [
        'import subprocess',
        'from pydicom.encaps import encapsulate, generate_pixel_data_frame',
        "subprocess.run(['dcmcjpeg', src, out + '/jpeg.tmp'], check=True)",
        "jpeg = pydicom.dcmread(out + '/jpeg.tmp')",
        'frame = next(generate_pixel_data_frame(jpeg.PixelData, 1))',
        `com = b'${MARK}40 Roe^Jane '`,
        "frame = frame[:2] + b'\\xff\\xfe' + (len(com) + 2).to_bytes(2, 'big') + com + frame[2:]",
        'ds.file_meta.TransferSyntaxUID = jpeg.file_meta.TransferSyntaxUID',
        'ds.PixelData = encapsulate([frame])',
        "ds['PixelData'].VR = 'OB'",
        "ds['PixelData'].is_undefined_length = True",
      ].join('\n'),
      'NOT_DEIDENTIFIED',
      /: \(7FE0,0010\) PixelData holds content in frame 1's COM segment, which lpacs blanks$/,
    ],
  ];

/**
 * pydicom leaves out group lengths (gggg,0000) at every depth and writes
 * elements in tag order, so plants of those kinds are written element by
 * element with pydicom's own encoder: `raw` encodes one element,
 * `sequence` one sequence of raw items, and `save` writes the object
 * with each `extra` (sort key, bytes) placed by its key among the
 * object's own elements (keyed by tag; a key after (7FE0,0010) appends).
 */
const WRITER = `
from pydicom.dataelem import DataElement
from pydicom.filebase import DicomBytesIO, DicomFile
from pydicom.filewriter import write_data_element, write_file_meta_info
def raw(tag, vr, value, implicit=False):
    fp = DicomBytesIO()
    fp.is_little_endian = True
    fp.is_implicit_VR = implicit
    write_data_element(fp, DataElement(tag, vr, value))
    return fp.getvalue()
def flat(t):
    return (t >> 16).to_bytes(2, 'little') + (t & 0xffff).to_bytes(2, 'little')
def sequence(tag, items):
    out = flat(tag) + b'SQ' + bytes(2) + (0xffffffff).to_bytes(4, 'little')
    for item in items:
        out += flat(0xfffee000) + (0xffffffff).to_bytes(4, 'little') + item
        out += flat(0xfffee00d) + bytes(4)
    return out + flat(0xfffee0dd) + bytes(4)
def save(ds, path, extra):
    fp = DicomFile(path, 'wb')
    fp.is_little_endian = True
    fp.is_implicit_VR = ds.is_implicit_VR
    fp.write(ds.preamble)
    fp.write(b'DICM')
    write_file_meta_info(fp, ds.file_meta, enforce_standard=False)
    fp.is_implicit_VR = ds.is_implicit_VR
    own = [(int(t), 0, None) for t in ds.keys()]
    for key, _, b in sorted(own + [(k, 1, b) for k, b in extra], key=lambda e: (e[0], e[1])):
        if b is None:
            write_data_element(fp, ds.get_item(key))
        else:
            fp.write(b)
    fp.close()
`;

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** POSTs objects to B's /sync/objects as `lpacs sync` does. */
async function send(objects: Buffer[]) {
  const boundary = 'planted';
  const res = await fetch(`${base}/sync/objects`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${token}`,
      'content-type': `multipart/related; type="application/dicom"; boundary=${boundary}`,
    },
    body: Buffer.concat([
      ...objects.flatMap((b) => [
        Buffer.from(
          `--${boundary}\r\ncontent-type: application/dicom\r\nx-lpacs-sha256: ${sha256(b)}\r\n\r\n`,
        ),
        b,
        Buffer.from('\r\n'),
      ]),
      Buffer.from(`--${boundary}--\r\n`),
    ]),
  });
  assert.equal(res.status, 200);
  return (
    (await res.json()) as {
      results: Array<{
        sha256: string;
        outcome: string;
        code?: string;
        message?: string;
      }>;
    }
  ).results;
}

/** Every file under a folder with the SHA-256 of its bytes. */
function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string) => {
    for (const n of readdirSync(d)) {
      const p = join(d, n);
      if (statSync(p).isDirectory()) walk(p);
      else out[relative(dir, p)] = sha256(readFileSync(p));
    }
  };
  walk(dir);
  return out;
}

async function instanceCount(lake: string): Promise<number> {
  const [row] = await parquetRows(
    `SELECT count(*) AS n FROM read_parquet('${lake}/tables/instances/*/*.parquet')`,
  );
  return Number(row!.n);
}

/** A's object of a CT image, as A stores it. */
let clean = '';

before(async () => {
  const ingested = await runCli([
    'ingest',
    CT,
    PYDICOM_FILES,
    '--lake',
    lakeA,
    '--json',
  ]);
  assert.ok(ingested.code === 0 || ingested.code === 1, ingested.stderr);
  // A CT of the generated corpus (64 x 64, uncompressed): pydicom's test
  // files hold CTs without Pixel Data or compressed, and which object a
  // listing yields first depends on the lake's keyed UIDs.
  clean = filesUnder(join(lakeA, 'objects')).find((f) => {
    const dump = execFileSync(
      'dcmdump',
      ['-q', '+P', '0002,0010', '+P', '0008,0060', '+P', '7fe0,0010', f],
      { encoding: 'latin1' },
    );
    return (
      /\(0002,0010\) UI =LittleEndianExplicit /.test(dump) &&
      /\(0008,0060\) CS \[CT\]/.test(dump) &&
      /\(7fe0,0010\) OW .*# 8192, 1 PixelData/.test(dump)
    );
  })!;
  assert.ok(clean, 'a CT object in lake A');
  execFileSync('mkdir', ['-p', plants]);
  // One pydicom run writes every planted copy; a copy written without an
  // edit must be byte for byte A's object, so the plant is the only change.
  const script = [
    'import sys',
    'import pydicom',
    'from pydicom.dataset import Dataset',
    'from pydicom.sequence import Sequence',
    WRITER,
    'src, out = sys.argv[1], sys.argv[2]',
    "pydicom.dcmread(src).save_as(out + '/unchanged.dcm', write_like_original=True)",
    "save(pydicom.dcmread(src), out + '/unchanged-raw.dcm', [])",
    ...PLANTS.flatMap(([name, edit]) => [
      'ds = pydicom.dcmread(src)',
      'extra = []',
      edit,
      'if extra:',
      `    save(ds, out + '/${name}.dcm', extra)`,
      'else:',
      `    ds.save_as(out + '/${name}.dcm', write_like_original=True)`,
    ]),
  ].join('\n');
  execFileSync(PYTHON, ['-c', script, clean, plants]);
  for (const copy of ['unchanged.dcm', 'unchanged-raw.dcm'])
    assert.equal(
      sha256(readFileSync(join(plants, copy))),
      sha256(readFileSync(clean)),
      `pydicom writes the object back unchanged (${copy})`,
    );
  assert.equal((await runCli(['init', '--lake', lakeB])).code, 0);
  const store = new AccessStore(lakeB);
  await store.addUser('peer-a', Role.Admin);
  token = (
    await store.issueToken('peer-a', {
      label: 'sync from A',
      scopes: [Action.SyncReceive],
    })
  ).token;
  server = await startServer({ lake: lakeB, port: 0 });
  base = server.url.replace(/\/graphql$/, '');
});
after(async () => {
  await server?.close();
  work.remove();
});

describe('sync receive of lpacs objects with one element planted', () => {
  it('refuses each copy, naming the attribute and never its value, and keeps nothing of it', async () => {
    const objectsBefore = snapshot(join(lakeB, 'objects'));
    const tablesBefore = snapshot(join(lakeB, 'tables'));
    const copies = PLANTS.map(([name]) =>
      readFileSync(join(plants, `${name}.dcm`)),
    );
    const results = await send(copies);
    const bySha = new Map(results.map((r) => [r.sha256, r]));
    PLANTS.forEach(([name, , code, names], i) => {
      const r = bySha.get(sha256(copies[i]!));
      assert.ok(r, name);
      assert.equal(r.outcome, 'refused', name);
      assert.equal(r.code, code, name);
      assert.match(r.message ?? '', names, name);
      assert.ok(!r.message!.includes(MARK), name);
    });
    assert.deepEqual(snapshot(join(lakeB, 'objects')), objectsBefore);
    assert.deepEqual(snapshot(join(lakeB, 'tables')), tablesBefore);
    // What B did keep: the reasons, as plain JSON, one per copy.
    const list = await runCli([
      'quarantine',
      'list',
      '--json',
      '--lake',
      lakeB,
    ]);
    const entries = JSON.parse(list.stdout) as Array<{ code: string }>;
    assert.equal(entries.length, PLANTS.length);
  });

  it('stores the object as A wrote it', async () => {
    const bytes = readFileSync(clean);
    assert.deepEqual(
      (await send([bytes])).map((r) => [r.sha256, r.outcome]),
      [[sha256(bytes), 'stored']],
    );
    assert.equal(await instanceCount(lakeB), 1);
  });

  it('leaves no planted text anywhere under B', () => {
    let plain = 0;
    for (const f of filesUnder(lakeB)) {
      const text = readFileSync(f).toString('latin1');
      assert.ok(!text.includes(MARK), f);
      if (text.includes('NOT_DEIDENTIFIED')) plain++;
    }
    // The search reads plain bytes: the refusal records are there as text.
    assert.ok(plain >= 1);
  });

  it('takes every object of a lake ingested from the CT corpus and pydicom’s test files, refusing none', async () => {
    const all = filesUnder(join(lakeA, 'objects'));
    assert.ok(all.length > 48, `${all.length} objects`);
    const outcomes: Record<string, number> = {};
    for (let i = 0; i < all.length; i += 32) {
      const batch = all.slice(i, i + 32).map((f) => readFileSync(f));
      for (const r of await send(batch)) {
        const key = r.code ? `${r.outcome} ${r.code}: ${r.message}` : r.outcome;
        outcomes[key] = (outcomes[key] ?? 0) + 1;
      }
    }
    // A keeps other versions of some instances beside them (pydicom's
    // MR_small in several encodings, under one SOP Instance UID): objects
    // its instances table does not name, which B keeps as conflicts too.
    const instances = await instanceCount(lakeA);
    assert.deepEqual(outcomes, {
      stored: instances - 1,
      present: 1,
      conflict: all.length - instances,
    });
    assert.equal(await instanceCount(lakeB), instances);
  });
});
