import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parquetRows, runCli, tempDir } from './helpers';

// With Retain Patient Characteristics a lenient PatientAge over 89 (1150M,
// 95Y) was written 090Y in the object while the index's age_years came
// from the birth date (43 here): the two disagreed on the same patient.
const work = tempDir('age-index');
const input = join(work.path, 'in');
const lake = join(work.path, 'lake');
/** PatientBirthDate and StudyDate of every input: 43 whole years apart. */
const BIRTH = '19760601';
const STUDY = '20200101';
const AGES = ['1150M', '95Y', '45Y', '089Y'];

before(async () => {
  mkdirSync(input, { recursive: true });
  AGES.forEach((age, i) => {
    const uid = `1.2.826.0.1.3680043.99.7.${i + 1}`;
    const dump = join(work.path, `${i}.dump`);
    writeFileSync(
      dump,
      `${[
        '(0002,0002) UI =MRImageStorage',
        `(0002,0003) UI [${uid}]`,
        '(0008,0016) UI =MRImageStorage',
        `(0008,0018) UI [${uid}]`,
        `(0008,0020) DA [${STUDY}]`,
        '(0008,0060) CS [MR]',
        `(0010,0010) PN [AGE^PATIENT${i}]`,
        `(0010,0020) LO [AGE${i}]`,
        `(0010,0030) DA [${BIRTH}]`,
        `(0010,1010) AS [${age}]`,
        `(0020,000d) UI [${uid}.1]`,
        `(0020,000e) UI [${uid}.2]`,
      ].join('\n')}\n`,
    );
    execFileSync('dump2dcm', ['+te', dump, join(input, `${i}.dcm`)]);
  });
  const init = await runCli([
    ...['init', '--lake', lake, '--retain', 'patient-characteristics'],
  ]);
  assert.equal(init.code, 0, init.stderr);
  const run = await runCli(['ingest', input, '--lake', lake]);
  assert.equal(run.code, 0, run.stderr);
});
after(() => work.remove());

/** Whole years of an AS value as written in a stored object (PS3.5 6.2). */
function years(as: string): number {
  const m = /^(\d{1,3})([DWMY])$/.exec(as)!;
  assert.ok(m, as);
  const per = { D: 365.25, W: 52.1775, M: 12, Y: 1 }[m[2] as 'Y'];
  return Math.floor(Number(m[1]) / per);
}

describe('age_years in the index', () => {
  it('is the age the stored object states, not one taken from the birth date', async () => {
    const rows = await parquetRows(
      `SELECT object_key, age_years FROM read_parquet('${lake}/tables/instances/*/*.parquet')`,
    );
    assert.equal(rows.length, AGES.length);
    const stated: string[] = [];
    for (const row of rows) {
      const dump = execFileSync(
        'dcmdump',
        ['-q', '+P', '0010,1010', join(lake, String(row.object_key))],
        { encoding: 'latin1' },
      );
      const as = /AS \[([^\]]*)\]/.exec(dump)?.[1];
      assert.ok(as, dump);
      stated.push(as);
      assert.equal(Number(row.age_years), years(as), as);
    }
    // Two were over 89 (capped in the object), two not: neither group's
    // ages are the 43 years between birth and study.
    assert.deepEqual(stated.sort(), ['045Y', '089Y', '090Y', '090Y']);
    assert.ok(rows.every((r) => Number(r.age_years) !== 43));
  });
});
