import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Role } from '@lpacs/access';
import { startServer } from '@lpacs/api';
import type { RunningServer } from '@lpacs/api';
import {
  bearer,
  filesUnder,
  initAcceptingUnmarked,
  runCli,
  tempDir,
  tokenFor,
} from './helpers';
import { lakeContents, leaksIn, needlesOf } from './phiSearch';
import type { Needle } from './phiSearch';

// pydicom's character set test files (Debian python3-pydicom), each
// written by another toolkit under one Specific Character Set.
const PYDICOM_CHARSETS =
  '/usr/lib/python3/dist-packages/pydicom/data/charset_files';
const PYTHON = '/usr/bin/python3';

/**
 * Inputs of our own, written by dump2dcm, whose kept descriptor (Study
 * Description, cleaned and kept) holds text outside ASCII and the
 * patient's name, so lpacs must rewrite text under each character set.
 * The Japanese words are chosen so that no JIS byte is `\` or `]`.
 */
const CRAFTED = [
  {
    name: 'latin1',
    charset: 'ISO_IR 100',
    codec: 'latin-1',
    family: 'Müllerström',
    given: 'Jörg',
    description: 'Thorax Übersicht Müllerström',
  },
  {
    name: 'cyrillic',
    charset: 'ISO_IR 144',
    codec: 'iso8859_5',
    family: 'Кузнецова',
    given: 'Ирина',
    description: 'КТ грудной клетки Кузнецова',
  },
  {
    name: 'utf8',
    charset: 'ISO_IR 192',
    codec: 'utf-8',
    family: 'Ærøskøbing',
    given: '张伟',
    description: 'CT 胸部 Ærøskøbing',
  },
  {
    name: 'gb18030',
    charset: 'GB18030',
    codec: 'gb18030',
    family: '欧阳',
    given: '建国',
    description: 'CT 胸部 欧阳',
  },
  {
    name: 'jis',
    charset: '\\ISO 2022 IR 87',
    codec: 'iso2022_jp',
    family: '山田',
    given: '太郎',
    description: 'CT 胸部 山田',
  },
];

/** Encodes texts with Python's codecs (independent of lpacs and Node). */
function encode(pairs: Array<[string, string]>): Buffer[] {
  const out = execFileSync(
    PYTHON,
    [
      '-c',
      'import json,sys\nfor t,c in json.load(sys.stdin): print(t.encode(c).hex())',
    ],
    { input: JSON.stringify(pairs), encoding: 'utf8' },
  );
  return out
    .trim()
    .split('\n')
    .map((h) => Buffer.from(h, 'hex'));
}

/**
 * Compares, with pydicom, every text element an output shares with its
 * input: each value decoded under the output's own Specific Character Set
 * must be the input's value decoded under the input's, or a documented
 * replacement (pseudonym, dummy, empty), or the input's words with some
 * removed (the Clean action). Prints one JSON object.
 */
const COMPARE = `
import json, re, sys, unicodedata, pydicom
TEXT = {'SH','LO','ST','LT','UT','PN','UC','CS','AE'}
DUMMY = {'', 'ANONYMIZED', 'ANON'}
PSEUDO = re.compile(r'^(LP[A-Z2-7]{16}|A[A-Z2-7]{15})$')
def walk(ds, path=''):
    for el in ds:
        p = f'{path}({el.tag.group:04X},{el.tag.element:04X})'
        if el.VR == 'SQ':
            for i, item in enumerate(el.value):
                yield from walk(item, f'{p}[{i}]')
        elif el.VR in TEXT and el.value is not None:
            v = el.value
            vals = list(v) if isinstance(v, pydicom.multival.MultiValue) else [v]
            yield p, [unicodedata.normalize('NFC', str(x)) for x in vals]
bad, compared, same = [], 0, 0
for src, out in json.load(sys.stdin):
    a, b = pydicom.dcmread(src), pydicom.dcmread(out)
    a.decode(); b.decode()
    # A label may change only to ISO_IR 192 (issue #3: output consistent).
    if a.get('SpecificCharacterSet') != b.get('SpecificCharacterSet') and b.get('SpecificCharacterSet') != 'ISO_IR 192':
        bad.append([out, '(0008,0005)', 'label changed'])
    before = dict(walk(a))
    for p, values in walk(b):
        if p not in before or p.endswith('(0008,0005)'): continue
        compared += 1
        if values == before[p]:
            same += 1
            continue
        words = set(' '.join(before[p]).split())
        for v in values:
            if '\\ufffd' in v:
                bad.append([out, p, 'undecodable bytes'])
            elif not (v in DUMMY or PSEUDO.match(v) or set(v.split()) <= words):
                bad.append([out, p, 'neither kept, replaced nor cleaned'])
print(json.dumps({'bad': bad, 'compared': compared, 'same': same}))
`;

/**
 * Checks, with pydicom and Python's codecs, the raw bytes of every text
 * value of every output. Under ISO_IR 192 they must be UTF-8. Under any
 * other label they must decode under it without error, and a value lpacs
 * wrote (its bytes differ from the input's at the same place) must not be
 * UTF-8 with characters outside ASCII, which would read as other letters
 * under that label. Prints one JSON object.
 */
const LABELLED_BYTES = `
import json, sys, warnings, pydicom
from pydicom.charset import decode_bytes
from pydicom.valuerep import PN_DELIMS, TEXT_VR_DELIMS
warnings.simplefilter('error')  # a decoding fallback is a failure
TEXT = {'SH','LO','ST','LT','UT','PN','UC'}
def raw(ds, path=''):
    for tag in sorted(ds.keys()):
        el = ds.get_item(tag)
        p = f'{path}({tag.group:04X},{tag.element:04X})'
        if el.VR == 'SQ':
            for i, item in enumerate(ds[tag].value):
                yield from raw(item, f'{p}[{i}]')
        elif el.VR in TEXT and isinstance(el.value, bytes):
            enc = ds._character_set  # an item's is a str, not a list
            yield p, el.value, [enc] if isinstance(enc, str) else enc, el.VR
bad, written, utf8 = [], 0, 0
for src, out in json.load(sys.stdin):
    before = {p: v for p, v, _, _ in raw(pydicom.dcmread(src))}
    b = pydicom.dcmread(out)
    label = b.get('SpecificCharacterSet')
    utf8 += label == 'ISO_IR 192'
    for p, value, encodings, vr in raw(b):
        if label == 'ISO_IR 192':
            try: value.decode('utf-8')
            except UnicodeDecodeError: bad.append([out, p, 'not UTF-8 under ISO_IR 192'])
            continue
        try:
            if vr == 'PN':
                for group in value.split(b'='): decode_bytes(group, encodings, PN_DELIMS)
            else: decode_bytes(value, encodings, TEXT_VR_DELIMS)
        except Exception: bad.append([out, p, f'does not decode under {label}'])
        if before.get(p) == value or max(value, default=0) < 0x80: continue
        written += 1
        try: value.decode('utf-8'); bad.append([out, p, f'UTF-8 under {label}'])
        except UnicodeDecodeError: pass
print(json.dumps({'bad': bad, 'written': written, 'utf8': utf8}))
`;

const work = tempDir('charsets');
const input = join(work.path, 'in');
const lake = join(work.path, 'lake');
/** [input file, the object lpacs stored for it]. */
const pairs: Array<[string, string]> = [];
/** Every form a name part of the inputs could survive in. */
let needles: Needle[] = [];
let cliOutput = '';
let server: RunningServer;

function craft(c: (typeof CRAFTED)[number], n: number): string {
  const [family, given, description] = encode([
    [c.family, c.codec],
    [c.given, c.codec],
    [c.description, c.codec],
  ]);
  const uid = `1.2.826.0.1.3680043.9.7781.${n}`;
  const dump = Buffer.concat([
    Buffer.from(
      [
        `(0008,0005) CS [${c.charset}]`,
        '(0008,0016) UI [1.2.840.10008.5.1.4.1.1.7]',
        `(0008,0018) UI [${uid}.1]`,
        '(0008,0020) DA [20190412]',
        '(0008,0060) CS [OT]',
        '(0008,1030) LO [',
      ].join('\n'),
      'latin1',
    ),
    description!,
    Buffer.from(']\n(0010,0010) PN [', 'latin1'),
    family!,
    Buffer.from('^', 'latin1'),
    given!,
    Buffer.from(
      [
        ']',
        `(0010,0020) LO [CSPID${n}]`,
        '(0028,0301) CS [NO]',
        `(0020,000d) UI [${uid}.2]`,
        `(0020,000e) UI [${uid}.3]`,
        '',
      ].join('\n'),
      'latin1',
    ),
  ]);
  const path = join(input, `crafted-${c.name}.dcm`);
  writeFileSync(join(work.path, `${c.name}.dump`), dump);
  execFileSync('dump2dcm', [
    '+te',
    '-q',
    join(work.path, `${c.name}.dump`),
    path,
  ]);
  return path;
}

/** Name parts and IDs of an input, by pydicom. */
function identifiersOf(file: string): string[] {
  const out = execFileSync(
    PYTHON,
    [
      '-c',
      `import json,sys,pydicom
ds = pydicom.dcmread(sys.argv[1]); ds.decode()
parts = set()
for el in ds.iterall():
    if el.VR == 'PN' and el.value:
        for v in (el.value if el.VM > 1 else [el.value]):
            parts.update(p for p in str(v).replace('=', '^').split('^') if p.strip())
for t in ('PatientID', 'StudyID', 'AccessionNumber'):
    if ds.get(t): parts.add(str(ds.get(t)))
print(json.dumps(sorted(parts)))`,
      file,
    ],
    { encoding: 'utf8' },
  );
  return JSON.parse(out) as string[];
}

/**
 * The name parts and IDs searched for: ASCII ones of fewer than five
 * characters are left out, as they occur by chance in binary data.
 */
const parts: Array<{ what: string; text: string }> = [];

function leaks(haystack: Buffer): string[] {
  return leaksIn(haystack, needles);
}

before(async () => {
  mkdirSync(input, { recursive: true });
  const inputs = readdirSync(PYDICOM_CHARSETS)
    .filter((f) => f.endsWith('.dcm'))
    // chrSQEncoding*.dcm have no StudyInstanceUID: quarantined, no output.
    .filter((f) => !f.startsWith('chrSQEncoding'))
    .map((f, i) => {
      const to = join(input, f);
      copyFileSync(join(PYDICOM_CHARSETS, f), to);
      // chrFrenMulti and chrJapMultiExplicitIR6 repeat another file's SOP
      // Instance UID; a new one (dcmtk writes it) keeps them apart.
      execFileSync('dcmodify', [
        '-nb',
        '-m',
        `(0008,0018)=1.2.826.0.1.3680043.9.7781.99.${i}`,
        to,
      ]);
      return to;
    });
  inputs.push(...CRAFTED.map((c, i) => craft(c, i + 1)));
  // pydicom's files are secondary captures without BurnedInAnnotation.
  await initAcceptingUnmarked(lake);
  // One run per file, so each new object in the lake is that file's.
  for (const file of inputs) {
    const objects = join(lake, 'objects');
    const before = new Set(existsSync(objects) ? filesUnder(objects) : []);
    const run = await runCli(['ingest', file, '--lake', lake, '--json'], {
      LPACS_LOG_LEVEL: 'debug',
    });
    assert.equal(run.code, 0, run.stderr);
    cliOutput += run.stdout + run.stderr;
    const added = filesUnder(objects).filter((f) => !before.has(f));
    assert.equal(added.length, 1, `${file}: ${added.length} new objects`);
    pairs.push([file, added[0]!]);
    for (const part of identifiersOf(file))
      if (!/^[\x20-\x7e]{0,4}$/.test(part))
        parts.push({ what: part, text: part });
  }
  needles = needlesOf(parts);
  server = await startServer({ lake, port: 0, host: '127.0.0.1' });
});
after(async () => {
  await server?.close();
  work.remove();
});

describe('text under every Specific Character Set, through lpacs ingest', () => {
  it('writes text that decodes under the output label to the input text, a replacement, or its cleaned words', () => {
    const result = JSON.parse(
      execFileSync(PYTHON, ['-c', COMPARE], {
        input: JSON.stringify(pairs),
        encoding: 'utf8',
      }),
    ) as { bad: string[][]; compared: number; same: number };
    assert.deepEqual(result.bad, []);
    // 15 pydicom files and 5 of ours, a dozen text elements each.
    assert.equal(pairs.length, 20);
    assert.ok(result.compared > 150, `${result.compared} compared`);
    assert.ok(result.same > 0 && result.same < result.compared);
  });

  it('keeps a cleaned descriptor in its own set, or the whole object in UTF-8 when the set has no encoder', () => {
    const names = ['latin1', 'cyrillic', 'utf8', 'gb18030', 'jis'];
    const out = execFileSync(
      PYTHON,
      [
        '-c',
        `import json,sys,pydicom
print(json.dumps([[str(d.SpecificCharacterSet), str(d.StudyDescription)] for d in map(pydicom.dcmread, sys.argv[1:])]))`,
        ...names.map(
          (n) => pairs.find(([i]) => i.endsWith(`crafted-${n}.dcm`))![1],
        ),
      ],
      { encoding: 'utf8' },
    );
    // The name is cleaned away and the clinical words stay, written in
    // ISO 8859-1, ISO 8859-5 and UTF-8; lpacs has no GB18030 or ISO 2022
    // encoder, so those objects are rewritten in UTF-8 (docs/deid.md).
    assert.deepEqual(JSON.parse(out), [
      ['ISO_IR 100', 'Thorax Übersicht'],
      ['ISO_IR 144', 'КТ грудной клетки'],
      ['ISO_IR 192', 'CT 胸部'],
      ['ISO_IR 192', 'CT 胸部'],
      ['ISO_IR 192', 'CT 胸部'],
    ]);
  });

  it('writes no UTF-8 bytes under a label that says another set, and nothing that does not decode under its label', () => {
    const result = JSON.parse(
      execFileSync(PYTHON, ['-c', LABELLED_BYTES], {
        input: JSON.stringify(pairs),
        encoding: 'utf8',
      }),
    ) as { bad: string[][]; written: number; utf8: number };
    assert.deepEqual(result.bad, []);
    // Written, not copied, with letters outside ASCII under other labels:
    // the cleaned descriptors of the Latin-1 and Cyrillic inputs.
    assert.equal(result.written, 2);
    // In UTF-8: chrX1 and our utf8 input as they came, our GB18030 and
    // ISO 2022 inputs re-encoded.
    assert.equal(result.utf8, 4);
  });

  it('leaves no name part or ID, in any encoding, in objects or Parquet', async () => {
    assert.ok(needles.length > 100, `${needles.length} forms`);
    // Japanese, Korean and Chinese parts under ISO 2022 (ESC $ ...) too.
    assert.ok(needles.some((n) => n.what === '山田' && n.bytes[0] === 0x1b));
    const contents = await lakeContents(lake);
    assert.ok(contents.some((c) => c.file.endsWith('(rows)')));
    for (const { file, bytes } of contents)
      assert.deepEqual(leaks(bytes), [], file);
  });

  it('leaves none in the --json reports or the debug log', () => {
    assert.deepEqual(leaks(Buffer.from(cliOutput, 'utf8')), []);
  });

  it('sends none in API responses', async () => {
    const res = await fetch(server.url, {
      method: 'POST',
      headers: bearer(await tokenFor(lake, Role.Researcher)),
      body: JSON.stringify({
        query: `{ cohort { counts { patients studies } studies(first: 50) { nodes { studyInstanceUID patientID studyDate studyDescription modalities } } } }`,
      }),
    });
    const text = Buffer.from(await res.arrayBuffer());
    assert.ok(text.includes('"patients"'));
    assert.deepEqual(leaks(text), []);
  });
});
