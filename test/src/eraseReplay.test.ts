import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { AuditLog } from '@lpacs/access';
import { CT, filesUnder, parquetRows, runCli, tempDir } from './helpers';

// A snapshot taken before an erasure still holds the data: restoring it
// must be followed by the erasures made since, which the live lake's
// audit log and tombstones name.
const work = tempDir('erase-replay');
const live = join(work.path, 'live');
const backups = join(work.path, 'backups');
const restored = join(work.path, 'restored');

async function rows(lake: string): Promise<string[]> {
  const r = await parquetRows(
    `SELECT "PatientID" || ' ' || "StudyInstanceUID" || ' ' || "SOPInstanceUID" AS k FROM read_parquet('${lake}/tables/instances/*/*.parquet') ORDER BY 1`,
  );
  return r.map((x) => String(x.k));
}

function tombstoned(lake: string): Record<string, { at: string }> {
  const file = join(lake, 'state', 'erased-patients.json');
  return (
    JSON.parse(readFileSync(file, 'utf8')) as {
      patients: Record<string, { at: string }>;
    }
  ).patients;
}

before(async () => {
  const run = await runCli(['ingest', CT, '--lake', live]);
  assert.equal(run.code, 0, run.stderr);
  const b = await runCli(['backup', backups, '--lake', live]);
  assert.equal(b.code, 0, b.stderr);
  const all = await rows(live);
  const [patient] = all[0]!.split(' ');
  const other = all.find((k) => !k.startsWith(patient!))!.split(' ')[1]!;
  for (const args of [
    ['--patient', patient!],
    ['--study', other],
  ]) {
    const e = await runCli([
      'erase',
      ...args,
      '--reason',
      'withdrawn',
      '--lake',
      live,
    ]);
    assert.equal(e.code, 0, e.stderr);
  }
});
after(() => work.remove());

describe('erase --replay-from after a restore', () => {
  it('erases from the restored lake what the live lake erased since the snapshot', async () => {
    const r = await runCli(['restore', backups, '--lake', restored]);
    assert.equal(r.code, 0, r.stderr);
    const all = filesUnder(CT).filter((f) => f.endsWith('.dcm')).length;
    assert.equal((await rows(restored)).length, all);
    const run = await runCli([
      'erase',
      '--replay-from',
      live,
      '--lake',
      restored,
    ]);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /replayed 2 erasures of .*: 2 erased data here/);
    assert.deepEqual(await rows(restored), await rows(live));
    assert.deepEqual(tombstoned(restored), tombstoned(live));
    const objects = (lake: string) =>
      filesUnder(join(lake, 'objects'))
        .map((f) => f.slice(lake.length))
        .sort();
    assert.deepEqual(objects(restored), objects(live));
    const audited = new AuditLog(restored)
      .entries()
      .filter((e) => e.action.startsWith('erase.') && e.outcome === 'ok');
    assert.equal(audited.length, 2);
  });

  it('finds nothing left when run again', async () => {
    const run = await runCli([
      'erase',
      '--replay-from',
      live,
      '--lake',
      restored,
    ]);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /0 erased data here, 2 found nothing left/);
  });
});
