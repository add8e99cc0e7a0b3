import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { parseDicom } from '@lpacs/dicom';
import {
  ActionTable,
  Deidentifier,
  RESEARCH_DEFAULT,
  SiteKeys,
  verifyDeidentified,
} from '../index';
import type { DeidOptions } from '../index';
import { CT_FILE, REPO } from './fixtures';

const PYTHON = '/usr/bin/python3';
const dir = mkdtempSync(join(tmpdir(), 'lpacs-unlisted-dates-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const keys = new SiteKeys(Buffer.alloc(32, 9));

/**
 * Dates and times Table E.1-1 does not list, planted by pydicom with
 * explicit VRs in a copy of the corpus CT (StudyDate 20200105, listed):
 * a DT with fraction and UTC offset, a DA, a TM, a multi-valued DA, and
 * a DA inside Anatomic Region Sequence (0008,2218), which the table keeps.
 */
const PLANTED: ReadonlyArray<[tag: number, vr: string, value: string]> = [
  [0x0008041f, 'DT', '20200315101010.5+0100'], // Study Update DateTime
  [0x00143076, 'DA', '20200314'], // Date of Gain Calibration
  [0x00143077, 'TM', '101010'], // Time of Gain Calibration
  [0x00141020, 'DA', '20200101\\20210630'], // Expiry Date, two values
];
const NESTED: [number, string, string] = [0x00140102, 'DA', '20191231']; // Secondary Review Date

function planted(): string {
  const path = join(dir, 'in.dcm');
  copyFileSync(CT_FILE, path);
  const adds = PLANTED.map(
    ([t, vr, v]) => `ds.add_new(${t}, '${vr}', r'${v}'.split('\\\\'))`,
  ).join('\n');
  execFileSync(
    PYTHON,
    [
      '-c',
      `import sys, pydicom
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence
ds = pydicom.dcmread(sys.argv[1])
${adds}
item = Dataset()
item.CodeValue = 'T-D4000'
item.CodingSchemeDesignator = 'SRT'
item.CodeMeaning = 'Abdomen'
item.add_new(${NESTED[0]}, '${NESTED[1]}', '${NESTED[2]}')
ds.AnatomicRegionSequence = Sequence([item])
ds.save_as(sys.argv[1])`,
      path,
    ],
    { stdio: 'inherit' },
  );
  return path;
}

/**
 * pydicom's reading of input and output: StudyDate and each planted
 * value, as {name: [input, output]}, and the day difference of each date
 * computed with Python's datetime (DT: its date part; time and offset
 * compared as text).
 */
function compare(input: string, output: string): Record<string, unknown> {
  const tags = [...PLANTED.map((p) => p[0]), 0x00080020];
  return JSON.parse(
    execFileSync(
      PYTHON,
      [
        '-c',
        `import sys, json, pydicom, datetime
a, b = pydicom.dcmread(sys.argv[1]), pydicom.dcmread(sys.argv[2])
def vals(ds, t):
    if t not in ds: return None
    v = ds[t].value
    if v is None or v == '': return []
    return [str(x) for x in (v if isinstance(v, pydicom.multival.MultiValue) else [v])]
def days(x, y):
    d = lambda s: datetime.date(int(s[0:4]), int(s[4:6]), int(s[6:8]))
    return (d(y) - d(x)).days
out = {}
for t in ${JSON.stringify(tags)}:
    x, y = vals(a, t), vals(b, t)
    vr = a[t].VR
    out[hex(t)] = {'in': x, 'out': y, 'vr': vr,
        'days': [days(p, q) for p, q in zip(x, y)] if y and vr in ('DA', 'DT') else None,
        'rest': [q[8:] for q in y] if y and vr == 'DT' else None}
ni, no = a.AnatomicRegionSequence[0], b.AnatomicRegionSequence[0]
t = ${NESTED[0]}
out['nested'] = {'in': vals(ni, t), 'out': vals(no, t),
    'days': [days(p, q) for p, q in zip(vals(ni, t), vals(no, t) or [])]}
print(json.dumps(out))`,
        input,
        output,
      ],
      { encoding: 'utf8' },
    ),
  ) as Record<string, unknown>;
}

function run(options: Partial<DeidOptions>): {
  got: Record<
    string,
    {
      in: string[];
      out: string[] | null;
      days: number[] | null;
      rest: string[] | null;
    }
  >;
  actions: Record<string, number>;
  bytes: Buffer;
} {
  const input = planted();
  const outcome = new Deidentifier(keys, {
    ...RESEARCH_DEFAULT,
    ...options,
  }).deidentify(parseDicom(readFileSync(input)));
  const output = join(dir, 'out.dcm');
  writeFileSync(output, outcome.bytes);
  return {
    got: compare(input, output) as never,
    actions: outcome.actions,
    bytes: outcome.bytes,
  };
}

describe('dates and times Table E.1-1 does not list', () => {
  it('are not in the table (read from the standard data, not from lpacs)', () => {
    const rows = JSON.parse(
      readFileSync(
        join(
          REPO,
          'packages',
          'dicom',
          'standard',
          'confidentiality_profile_attributes.json',
        ),
        'utf8',
      ),
    ) as Array<{ tag: string }>;
    const listed = new Set(rows.map((r) => r.tag.toUpperCase()));
    for (const [tag] of [...PLANTED, NESTED]) {
      const hex = tag.toString(16).padStart(8, '0').toUpperCase();
      assert.ok(!listed.has(`(${hex.slice(0, 4)},${hex.slice(4)})`), hex);
      assert.equal(new ActionTable(RESEARCH_DEFAULT).actionFor(tag), 'keep');
    }
  });

  it('are shifted with the listed dates under modified dates, time, precision and offset kept', () => {
    const { got, actions } = run({ longitudinal: 'modified' });
    const study = got['0x80020']!;
    assert.equal(study.days!.length, 1);
    const shift = study.days![0]!;
    assert.ok(shift < 0, `StudyDate shifted by ${shift} days`);
    assert.deepEqual(got['0x8041f']!.days, [shift]);
    assert.deepEqual(got['0x8041f']!.rest, ['101010.5+0100']);
    assert.deepEqual(got['0x143076']!.days, [shift]);
    assert.deepEqual(got['0x141020']!.days, [shift, shift]);
    assert.deepEqual(got.nested!.in, ['20191231']);
    assert.deepEqual(got.nested!.days, [shift]);
    // A time of day is not moved by whole days.
    assert.deepEqual(got['0x143077']!.out, ['101010']);
    assert.equal(actions.unlistedDate, 5);
  });

  it('are emptied without a Retain Longitudinal option, and kept under full dates', () => {
    const off = run({ longitudinal: 'off' });
    for (const tag of ['0x8041f', '0x143076', '0x143077', '0x141020'])
      assert.deepEqual(off.got[tag]!.out, [], tag);
    assert.deepEqual(off.got.nested!.out, []);
    assert.equal(off.actions.unlistedDate, 5);
    const full = run({ longitudinal: 'full' });
    for (const tag of ['0x8041f', '0x143076', '0x143077', '0x141020'])
      assert.deepEqual(full.got[tag]!.out, full.got[tag]!.in, tag);
    assert.deepEqual(full.got.nested!.days, [0]);
    assert.equal(full.actions.unlistedDate, undefined);
  });

  it('sync refuses an object without the option that keeps such a date', () => {
    const off = run({ longitudinal: 'off' });
    assert.equal(verifyDeidentified(parseDicom(off.bytes)), undefined);
    const path = join(dir, 'put-back.dcm');
    writeFileSync(path, off.bytes);
    execFileSync('dcmodify', ['-nb', '-m', '(0014,3076)=20200314', path], {
      stdio: 'ignore',
    });
    assert.match(
      verifyDeidentified(parseDicom(readFileSync(path))) ?? 'accepted',
      /\(0014,3076\)/,
    );
  });
});
