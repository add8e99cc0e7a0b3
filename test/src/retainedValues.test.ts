import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { REPO, parquetRows, runCli, tempDir } from './helpers';

// A new-user trial's files (test/data/retained-values), ingested with the
// research default (Retain Patient Characteristics): PatientAge, Sex,
// Weight, EthnicGroup, SmokingStatus and PatientSexNeutered holding the
// patient's name or ID passed into the object and every table; ages over
// 89 written `95 YRS` or `95YEARS` escaped the 090Y cap; a TransferSyntax
// or SOP Class UID holding the name and ID was written as it came.
const DATA = join(REPO, 'test', 'data', 'retained-values');
const work = tempDir('retained');
const lake = join(work.path, 'lake');
/** The patients' names and IDs the trial files plant (read by hand from them). */
const PLANTED = [
  'QXSMITHERS',
  'QXWAYLON',
  'QX100003',
  'QWHARGREAVES',
  'HARGREAVE',
  'QWELOISE',
  'QW123456',
  'QVWALDRON',
  'QV998877',
];

interface Report {
  ingested: number;
  quarantine: Array<{ source: string; code: string; message: string }>;
}
let report: Report;

before(async () => {
  const run = await runCli(['ingest', DATA, '--lake', lake, '--json']);
  assert.equal(run.code, 0, run.stderr);
  report = JSON.parse(run.stdout) as Report;
});
after(() => work.remove());

const table = (name: string) =>
  `read_parquet('${lake}/tables/${name}/*/*.parquet')`;

describe('values a retain option keeps, end to end', () => {
  it('quarantines the transfer syntax and SOP class that are no UIDs (PS3.5 9.1), naming no value', () => {
    const refused = report.quarantine
      .map((q) => [q.source.split('/').pop(), q.code, q.message])
      .sort();
    assert.deepEqual(
      refused.map(([file, code]) => [file, code]),
      [
        ['g1_ts.dcm', 'INVALID_UID'],
        ['g2_class.dcm', 'INVALID_UID'],
      ],
    );
    assert.match(refused[0]![2]!, /^TransferSyntaxUID \(0002,0010\) /);
    assert.match(refused[1]![2]!, /^SOPClassUID \(0008,0016\) /);
    for (const phi of PLANTED)
      assert.ok(!JSON.stringify(refused).includes(phi), phi);
    assert.equal(report.ingested, readdirSync(DATA).length - 2);
  });

  it('leaves no planted name or ID in any stored object or table', async () => {
    for (const name of ['instances', 'patients', 'attributes']) {
      const rows = await parquetRows(`SELECT * FROM ${table(name)}`);
      assert.ok(rows.length > 0, name);
      const text = JSON.stringify(rows, (_k, v: unknown) =>
        typeof v === 'bigint' ? String(v) : v,
      );
      for (const phi of PLANTED)
        assert.ok(!text.includes(phi), `${name}: ${phi}`);
    }
    const objects = await parquetRows(
      `SELECT object_key FROM ${table('instances')}`,
    );
    for (const { object_key } of objects) {
      const bytes = readFileSync(join(lake, String(object_key))).toString(
        'latin1',
      );
      for (const phi of PLANTED) assert.ok(!bytes.includes(phi), phi);
    }
  });

  it('caps a readable age over 89 at 090Y and age_years at 90, and keeps no age that is none', async () => {
    // Each trial file's PatientID names it; the ages by hand: `95 Y` is
    // 95 years (090Y, 90); `95 YRS` and `95YEARS` are no AS value and the
    // files have no birth date, so neither the object nor the index has
    // an age.
    const rows = await parquetRows(
      `SELECT PatientAge, age_years FROM ${table('instances')} WHERE PatientSex = 'M' ORDER BY PatientAge NULLS LAST`,
    );
    assert.deepEqual(
      rows.map((r) => [
        r.PatientAge,
        r.age_years === null ? null : Number(r.age_years),
      ]),
      [
        ['090Y', 90],
        [null, null],
        [null, null],
      ],
    );
  });
});
