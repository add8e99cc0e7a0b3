import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { AuditLog } from '@lpacs/access';
import {
  CT,
  dcmdump,
  erasePatient,
  parquetRows,
  runCli,
  tempDir,
} from './helpers';

// A file sent again with another patient's identity but its old SOP
// Instance UID is a conflict: that version is kept beside the lake's, and
// holds the other patient's data (trial 7 finding 1).
const work = tempDir('erase-conflicts');
const lake = join(work.path, 'lake');
const se02 = join(CT, 'P0003', 'ST01', 'SE02');

interface Entry {
  id: string;
  code: string;
  message: string;
  patient?: string;
}

/** Copies of `names` of P0003's second series, given another identity. */
function resent(dir: string, names: string[], set: string[]): string {
  mkdirSync(dir, { recursive: true });
  for (const name of names) {
    const file = join(dir, name);
    cpSync(join(se02, name), file);
    execFileSync('dcmodify', [
      '-nb',
      ...set.flatMap((s) => [s.startsWith('(0010,0021)') ? '-i' : '-m', s]),
      file,
    ]);
  }
  return dir;
}

async function entries(): Promise<Entry[]> {
  const run = await runCli(['quarantine', 'list', '--json', '--lake', lake]);
  assert.equal(run.code, 0, run.stderr);
  return JSON.parse(run.stdout) as Entry[];
}

/** The object key each CONFLICT record says it kept, by entry id. */
function keptKey(e: Entry): string {
  return /kept as (objects\/\S+\.dcm)/.exec(e.message)![1]!;
}

async function instanceCount(): Promise<number> {
  const rows = await parquetRows(
    `SELECT count(*) AS n FROM read_parquet('${lake}/tables/instances/*/*.parquet')`,
  );
  return Number((rows[0] as { n: bigint }).n);
}

let conflicts: Entry[] = [];

before(async () => {
  const first = await runCli(['ingest', CT, '--lake', lake]);
  assert.equal(first.code, 0, first.stderr);
  const patient = resent(
    join(work.path, 'mrn'),
    ['CT000001.dcm', 'CT000002.dcm'],
    [
      '(0010,0021)=HOSP_A',
      '(0010,0020)=MRN5550001',
      '(0020,000d)=2.25.98989898',
    ],
  );
  const study = resent(
    join(work.path, 'study'),
    ['CT000003.dcm'],
    ['(0010,0020)=MRN5550002', '(0020,000d)=2.25.97979797'],
  );
  for (const dir of [patient, study]) {
    const run = await runCli(['ingest', dir, '--lake', lake]);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /conflicts\s+\d/);
  }
  conflicts = (await entries()).filter((e) => e.code === 'CONFLICT');
  assert.equal(conflicts.length, 3);
});
after(() => work.remove());

describe('erasure of conflict versions', () => {
  it('quarantine list names the patient of each conflict version, as its object holds it', () => {
    for (const e of conflicts) {
      const held = dcmdump(join(lake, keptKey(e)), ['0010,0020']);
      assert.match(held!['0010,0020']!, /^LP[A-Z2-7]{16}$/);
      assert.equal(e.patient, held!['0010,0020']);
    }
  });

  it('erase --original-patient-id deletes that patient’s conflict versions and their records, and counts them', async () => {
    const pseudonyms = new Set(
      conflicts.map(
        (e) => dcmdump(join(lake, keptKey(e)), ['0010,0020'])!['0010,0020'],
      ),
    );
    assert.equal(pseudonyms.size, 2);
    const n = await instanceCount();
    const run = await runCli([
      'erase',
      '--original-patient-id',
      'MRN5550001',
      '--issuer',
      'HOSP_A',
      '--reason',
      'withdrawn',
      '--lake',
      lake,
    ]);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /erased 0 instances .*2 conflict versions\)/);
    const audit = new AuditLog(lake).entries().at(-1)!;
    assert.equal(audit.action, 'erase.patient');
    assert.equal(audit.outcome, 'ok');
    assert.equal(audit.detail?.conflicts, 2);
    const gone = conflicts.filter(
      (e) =>
        dcmdump(join(lake, keptKey(e)), ['0010,0020'])?.['0010,0020'] ===
        audit.target,
    );
    assert.equal(gone.length, 0);
    const left = (await entries()).filter((e) => e.code === 'CONFLICT');
    assert.equal(left.length, 1);
    assert.equal(
      conflicts.filter((e) => existsSync(join(lake, keptKey(e)))).length,
      1,
    );
    // P0003's own instances of those SOP Instance UIDs stay.
    assert.equal(await instanceCount(), n);
    const again = await erasePatient(lake, audit.target!, {
      reason: 'withdrawn',
    });
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /already erased/);
  });

  it('erase --original-study-uid deletes the conflict versions of that study', async () => {
    const [last] = (await entries()).filter((e) => e.code === 'CONFLICT');
    const key = keptKey(last!);
    const run = await runCli([
      'erase',
      '--original-study-uid',
      '2.25.97979797',
      '--reason',
      'withdrawn',
      '--lake',
      lake,
    ]);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /1 conflict version\)/);
    assert.equal(existsSync(join(lake, key)), false);
    assert.deepEqual(
      (await entries()).filter((e) => e.code === 'CONFLICT'),
      [],
    );
  });
});
