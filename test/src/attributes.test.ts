import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { cpSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startServer } from '@lpacs/api';
import type { RunningServer } from '@lpacs/api';
import { Role } from '@lpacs/access';
import {
  CT,
  erasePatient,
  gqlResult,
  parquetRows,
  runCli,
  tempDir,
  tokenFor,
} from './helpers';

const work = tempDir('attributes');
const lake = join(work.path, 'lake');
let server: RunningServer;
let serving = false;
let token: string;

function gql<T>(query: string, variables?: object) {
  return gqlResult<T>(server.url, token, query, variables);
}

const COUNT = `query ($filter: CohortFilter) {
  cohort(filter: $filter) { counts { instances } }
}`;

/** Instances the API counts for these attribute criteria. */
async function count(...attribute: object[]): Promise<number> {
  const r = await gql<{ cohort: { counts: { instances: number } } }>(COUNT, {
    filter: { attribute },
  });
  assert.equal(r.errors, undefined, JSON.stringify(r.errors));
  return r.data!.cohort.counts.instances;
}

/** The message of the BAD_USER_INPUT error these criteria get. */
async function refusal(...attribute: object[]): Promise<string> {
  const r = await gql(COUNT, { filter: { attribute } });
  assert.equal(r.errors?.[0]?.extensions?.code, 'BAD_USER_INPUT');
  return r.errors[0]!.message;
}

const DUMPED = [
  '0018,0050',
  '0018,0060',
  '0018,1210',
  '0008,0100',
  '0008,0020',
  '0008,0033',
];
const dumps = new Map<string, Array<[string, string]>>();

/**
 * Every value of a tag in a stored object, at any depth, as dcmtk's
 * dcmdump reads it (not through lpacs).
 */
function valuesOf(file: string, tag: string): string[] {
  let dump = dumps.get(file);
  if (!dump) {
    const out = execFileSync(
      'dcmdump',
      ['-q', ...DUMPED.flatMap((t) => ['+P', t]), file],
      { encoding: 'latin1' },
    );
    dump = [...out.matchAll(/^\s*\(([0-9a-f,]+)\) \w\w \[([^\]]*)\]/gm)].map(
      (m) => [m[1]!, m[2]!.trim()],
    );
    dumps.set(file, dump);
  }
  return dump.filter(([t]) => t === tag).map(([, v]) => v);
}

let stored: string[];
const countWhere = (tag: string, test: (values: string[]) => boolean) =>
  stored.filter((file) => test(valuesOf(file, tag))).length;

before(async () => {
  const input = join(work.path, 'input');
  cpSync(CT, input, {
    recursive: true,
    filter: (source) => !source.endsWith('.json'),
  });
  const run = await runCli(['ingest', input, '--lake', lake, '--json']);
  assert.equal(run.code, 0, run.stderr);
  token = await tokenFor(lake, Role.Researcher);
  server = await startServer({ lake, host: '127.0.0.1', port: 0 });
  serving = true;
  const rows = await parquetRows(
    `SELECT object_key FROM read_parquet('${lake}/tables/instances/*/*.parquet')`,
  );
  stored = rows.map((r) => join(lake, String(r.object_key)));
});
after(async () => {
  if (serving) await server.close();
  work.remove();
});

describe('cohorts by attribute (the attributes table)', () => {
  it('finds instances by a keyword nothing else indexes', async () => {
    const kernels = new Set(stored.flatMap((f) => valuesOf(f, '0018,1210')));
    assert.ok(kernels.size > 1, 'the corpus has several kernels');
    for (const kernel of kernels)
      assert.equal(
        await count({ keyword: 'ConvolutionKernel', op: 'EQ', value: kernel }),
        countWhere('0018,1210', (v) => v.includes(kernel)),
        kernel,
      );
  });

  it('compares numbers by value, given a tag', async () => {
    const kvps = stored.flatMap((f) => valuesOf(f, '0018,0060')).map(Number);
    const middle = [...kvps].sort((a, b) => a - b)[kvps.length >> 1]!;
    for (const [op, test] of [
      ['GE', (n: number) => n >= middle],
      ['LT', (n: number) => n < middle],
      ['EQ', (n: number) => n === middle],
      ['NE', (n: number) => n !== middle],
    ] as const)
      assert.equal(
        await count({ tag: '(0018,0060)', op, value: String(middle) }),
        countWhere('0018,0060', (v) => v.some((x) => test(Number(x)))),
        `KVP ${op} ${middle}`,
      );
  });

  it('holds every criterion at once', async () => {
    const thick = stored.flatMap((f) => valuesOf(f, '0018,0050'))[0]!;
    const kernel = stored.flatMap((f) => valuesOf(f, '0018,1210'))[0]!;
    const part = kernel.slice(1, 3).toLowerCase();
    const expected = stored.filter(
      (f) =>
        valuesOf(f, '0018,0050').some((v) => Number(v) === Number(thick)) &&
        valuesOf(f, '0018,1210').some((v) => v.toLowerCase().includes(part)),
    ).length;
    assert.ok(expected > 0);
    assert.equal(
      await count(
        { keyword: 'SliceThickness', op: 'EQ', value: thick },
        { keyword: 'ConvolutionKernel', op: 'CONTAINS', value: part },
      ),
      expected,
    );
  });

  it('matches nested elements at any depth unless a path is given', async () => {
    const code = '113100'; // Basic Application Confidentiality Profile
    const withCode = countWhere('0008,0100', (v) => v.includes(code));
    assert.ok(withCode > 0);
    const criterion = { keyword: 'CodeValue', op: 'EQ', value: code };
    assert.equal(await count(criterion), withCode);
    assert.equal(await count({ ...criterion, path: '' }), 0);
    assert.equal(
      await count({ ...criterion, path: '00120064[0].00080100' }),
      withCode,
    );
    assert.equal(await count({ tag: '00120064', op: 'EXISTS' }), withCode);
  });

  it('names what is wrong with a criterion', async () => {
    assert.match(
      await refusal({ keyword: 'SliceThicknes', op: 'EXISTS' }),
      /keyword "SliceThicknes" is not in the DICOM dictionary/,
    );
    assert.match(
      await refusal({ tag: '0018,005G', op: 'EXISTS' }),
      /tag must be 8 hex digits.*"0018,005G"/,
    );
    assert.match(
      await refusal({ keyword: 'KVP', op: 'ABOVE', value: '1' }),
      /op must be one of .*"ABOVE"/,
    );
    assert.match(
      await refusal({ keyword: 'KVP', op: 'GT', value: 'high' }),
      /op GT compares numbers, got "high"/,
    );
    assert.match(
      await refusal({ keyword: 'StudyDate', op: 'GT', value: '2019-02-30' }),
      /StudyDate \(VR DA, VM 1\) compares dates: .*"2019-02-30"/,
    );
    assert.match(
      await refusal({ keyword: 'KVP', op: 'EXISTS', value: '1' }),
      /EXISTS takes no value/,
    );
    assert.match(await refusal({ op: 'EXISTS' }), /needs a tag or a keyword/);
  });

  it('compares DA values as dates and TM values as times', async () => {
    // PS3.5 6.2: DA is YYYYMMDD, so text order is date order; TM is
    // HH[MM[SS[.F]]], read here as seconds since midnight.
    const dates = [...new Set(stored.flatMap((f) => valuesOf(f, '0008,0020')))];
    assert.ok(dates.length > 2, 'the corpus has several study dates');
    dates.sort();
    const mid = dates[dates.length >> 1]!;
    const iso = `${mid.slice(0, 4)}-${mid.slice(4, 6)}-${mid.slice(6)}`;
    for (const [op, test] of [
      ['GT', (d: string) => d > mid],
      ['GE', (d: string) => d >= mid],
      ['LT', (d: string) => d < mid],
      ['LE', (d: string) => d <= mid],
    ] as const) {
      const expected = countWhere('0008,0020', (v) => v.some(test));
      assert.ok(expected > 0, `StudyDate ${op} ${mid}`);
      for (const value of [mid, iso])
        assert.equal(
          await count({ keyword: 'StudyDate', op, value }),
          expected,
          `StudyDate ${op} ${value}`,
        );
    }
    const seconds = (tm: string) =>
      Number(tm.slice(0, 2)) * 3600 +
      Number(tm.slice(2, 4) || 0) * 60 +
      Number(tm.slice(4) || 0);
    const times = stored.flatMap((f) => valuesOf(f, '0008,0033'));
    assert.ok(
      times.some((t) => t.includes('.')),
      'fractions of a second',
    );
    const sorted = times.map(seconds).sort((a, b) => a - b);
    const noon = sorted[sorted.length >> 1]!;
    // The middle time as HHMM (whole minutes) and as HHMMSS.F.
    const hhmm = `${String(Math.floor(noon / 3600)).padStart(2, '0')}${String(
      Math.floor(noon / 60) % 60,
    ).padStart(2, '0')}`;
    const exact = times.find((t) => seconds(t) === noon)!;
    for (const [value, at] of [
      [hhmm, seconds(hhmm)],
      [exact, noon],
    ] as const)
      for (const [op, test] of [
        ['GT', (s: number) => s > at],
        ['LE', (s: number) => s <= at],
      ] as const) {
        const expected = countWhere('0008,0033', (v) =>
          v.some((t) => test(seconds(t))),
        );
        assert.ok(expected > 0, `ContentTime ${op} ${value}`);
        assert.equal(
          await count({ keyword: 'ContentTime', op, value }),
          expected,
          `ContentTime ${op} ${value}`,
        );
      }
  });

  it('refuses comparisons no value can meet, naming the element and what to use', async () => {
    const refused = async (attribute: object) => {
      const r = await gql(COUNT, { filter: { attribute: [attribute] } });
      assert.equal(r.errors?.[0]?.extensions?.code, 'BAD_USER_INPUT');
      assert.equal(r.data ?? null, null);
      return r.errors[0]!.message;
    };
    assert.match(
      await refused({ keyword: 'PatientAge', op: 'GT', value: '50' }),
      /PatientAge \(VR AS, VM 1\).*use ageMin\/ageMax/,
    );
    assert.match(
      await refused({ keyword: 'ImagePositionPatient', op: 'LT', value: '0' }),
      /ImagePositionPatient \(VR DS, VM 3\) holds 3 values/,
    );
    assert.match(
      await refused({ tag: '00080031', op: 'GE', value: '1' }),
      /SeriesTime \(VR TM, VM 1\) compares times: .*"1"/,
    );
    assert.match(
      await refused({ keyword: 'ConvolutionKernel', op: 'GT', value: 'B' }),
      /ConvolutionKernel \(VR SH, VM 1-n\).*not SH values: use EQ, NE or CONTAINS/,
    );
    assert.match(
      await refused({ keyword: 'AcquisitionDateTime', op: 'LT', value: '2' }),
      /AcquisitionDateTime \(VR DT, VM 1\).*studyDateFrom\/studyDateTo/,
    );
  });

  it('leaves the table to the erased patient no row', async () => {
    const [row] = await parquetRows(
      `SELECT "PatientID" AS p, count(*) AS n FROM read_parquet('${lake}/tables/attributes/*/*.parquet') GROUP BY 1 ORDER BY 1 LIMIT 1`,
    );
    const patient = String(row!.p);
    assert.ok(Number(row!.n) > 0);
    await server.close();
    serving = false;
    const run = await erasePatient(lake, patient, { json: true });
    assert.equal(run.code, 0, run.stderr);
    const [left] = await parquetRows(
      `SELECT count(*) AS n FROM read_parquet('${lake}/tables/attributes/*/*.parquet') WHERE "PatientID" = '${patient}'`,
    );
    assert.equal(Number(left!.n), 0);
  });
});
