import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Role } from '@lpacs/access';
import { startServer } from '@lpacs/api';
import type { RunningServer } from '@lpacs/api';
import {
  CT,
  dcmdump,
  filesUnder,
  gqlResult,
  parquetRows,
  runCli,
  tempDir,
  tokenFor,
} from './helpers';

// Finding 4: retention --apply removes linkage as erase does: the
// accession links of the studies it erases, and the whole record of a
// patient it leaves with no instance.
const work = tempDir('retention-linkage');
const lake = join(work.path, 'lake');
let server: RunningServer;
let steward = '';
let whole = ''; // P0003: every study before the cutoff
let part = ''; // P0001: one study before, one after
let cutoff = '';

async function pseudonyms(): Promise<Set<string>> {
  const rows = await parquetRows(
    `SELECT DISTINCT "PatientID" AS p FROM read_parquet('${lake}/tables/instances/*/*.parquet')`,
  ).catch(() => []);
  return new Set(rows.map((r) => String(r.p)));
}

async function ingest(folder: string): Promise<string[]> {
  const before = await pseudonyms();
  const r = await runCli(['ingest', join(CT, folder), '--lake', lake]);
  assert.equal(r.code, 0, r.stderr);
  return [...(await pseudonyms())].filter((p) => !before.has(p));
}

type Reidentified = {
  reidentify: {
    patientID: string;
    accessions: Array<{ original: string; pseudonym: string }>;
  };
};
const reidentify = (pseudonym: string) =>
  gqlResult<Reidentified>(
    server.url,
    steward,
    'mutation ($p: String!) { reidentify(pseudonym: $p, reason: "audit check") { patientID accessions { original pseudonym } } }',
    { p: pseudonym },
  );

const firstFile = (dir: string) =>
  filesUnder(join(CT, dir)).filter((f) => f.endsWith('.dcm'))[0]!;

before(async () => {
  [part] = (await ingest('P0001/ST01')) as [string];
  [whole] = (await ingest('P0003')) as [string];
  await new Promise((r) => setTimeout(r, 1100)); // ingest times have second precision
  cutoff = new Date().toISOString();
  await new Promise((r) => setTimeout(r, 1100));
  assert.deepEqual(await ingest('P0001/ST02'), []);
  steward = await tokenFor(lake, Role.Steward);
  server = await startServer({ lake, port: 0 });
  assert.ok((await reidentify(whole)).data, 'linked before retention');
});
after(async () => {
  await server.close();
  work.remove();
});

describe('lpacs retention --apply and the linkage', () => {
  it('forgets a patient it leaves with no instance, and the accessions of the studies it erases', async () => {
    // It needs the lake alone: the server stops for it and starts again.
    await server.close();
    const r = await runCli([
      'retention',
      '--before',
      cutoff,
      '--reason',
      'policy',
      '--apply',
      '--lake',
      lake,
      '--json',
    ]);
    assert.equal(r.code, 0, r.stderr);
    server = await startServer({ lake, port: 0 });
    const report = JSON.parse(r.stdout) as {
      patients: number;
      studies: number;
      linkageRecords: number;
    };
    assert.equal(report.patients, 1);
    assert.equal(report.studies, 3); // P0003's two, P0001's first
    assert.deepEqual(await pseudonyms(), new Set([part]));
    const gone = await reidentify(whole);
    assert.equal(gone.data, null);
    assert.equal(gone.errors?.[0]?.extensions?.code, 'NOT_FOUND');
    // P0001 still re-identifies, with its remaining study's accession only:
    // the original from the source file, the pseudonym from the lake's object.
    const left = await reidentify(part);
    assert.equal(left.errors, undefined, JSON.stringify(left.errors));
    const source = dcmdump(firstFile('P0001/ST02'), [
      '0010,0020',
      '0008,0050',
    ])!;
    const stored = dcmdump(filesUnder(join(lake, 'objects'))[0]!, [
      '0008,0050',
    ])!;
    assert.equal(left.data?.reidentify.patientID, source['0010,0020']);
    assert.deepEqual(left.data?.reidentify.accessions, [
      { original: source['0008,0050'], pseudonym: stored['0008,0050'] },
    ]);
    assert.notEqual(
      dcmdump(firstFile('P0001/ST01'), ['0008,0050'])!['0008,0050'],
      source['0008,0050'],
    );
  });
});
