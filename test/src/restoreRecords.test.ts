import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { AuditLog } from '@lpacs/access';
import { CLI, CT, parquetRows, runCli, startUntil, tempDir } from './helpers';
import { parsePrometheusText } from './prometheusText';

// A lake restored from a backup is a new lake: the source's records of
// its own backups (the last one, the snapshots in each store) must not
// become the new lake's, which was never backed up. /metrics and lpacs
// status of the restored lake, then its first backup.

const work = tempDir('restore-records');
after(() => work.remove());
const source = join(work.path, 'source');
const store = join(work.path, 'bk');
const restored = join(work.path, 'restored');
let snapshots: string[] = [];
let erasedAt = '';

async function ok(args: string[]): Promise<string> {
  const r = await runCli(args);
  assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

const snapshotsIn = (dir: string) =>
  readdirSync(join(dir, 'snapshots'))
    .filter((f) => /^\d{8}T\d{9}Z\.json$/.test(f))
    .map((f) => f.slice(0, -5))
    .sort();

/** The backup-age samples of /metrics of `lpacs serve` on `lake`. */
async function backupMetrics(lake: string): Promise<{
  timestamp: number;
  age: number;
}> {
  const serve = await startUntil(
    process.execPath,
    [CLI, 'serve', '--lake', lake, '--port', '0'],
    (o) => /at http:\/\/127\.0\.0\.1:\d+\/graphql/.test(o),
  );
  try {
    const url = /at (http:\/\/127\.0\.0\.1:\d+)\/graphql/.exec(serve.out)![1]!;
    const families = parsePrometheusText(
      await (await fetch(`${url}/metrics`)).text(),
    );
    const one = (name: string) => {
      const s = families.get(name)?.samples ?? [];
      assert.equal(s.length, 1, name);
      return s[0]!.value;
    };
    return {
      timestamp: one('lpacs_last_backup_timestamp_seconds'),
      age: one('lpacs_last_backup_age_seconds'),
    };
  } finally {
    await serve.stop();
  }
}

before(async () => {
  await ok(['ingest', join(CT, 'P0001'), join(CT, 'P0002'), '--lake', source]);
  // A backup, an erasure, a second backup: the source's status then
  // advises pruning the first snapshot, and the second snapshot holds
  // the source's records of the first (written before it was taken).
  await ok(['backup', store, '--lake', source]);
  const [row] = await parquetRows(
    `SELECT min("PatientID") AS p FROM read_parquet('${join(source, 'tables', 'patients', '*', '*.parquet')}')`,
  );
  await ok([
    'erase',
    '--patient',
    String(row!.p),
    '--reason',
    'consent withdrawn',
    '--lake',
    source,
  ]);
  erasedAt = new AuditLog(source).query({
    action: 'erase.patient',
    limit: 1,
  })[0]!.at;
  await ok(['backup', store, '--lake', source]);
  snapshots = snapshotsIn(store);
  assert.equal(snapshots.length, 2);
  const status = await ok(['status', '--lake', source]);
  assert.ok(
    status.includes(
      `backups     1 snapshot in ${store} predates the erasure of ${erasedAt}`,
    ),
    status,
  );
  await ok(['restore', store, '--lake', restored]);
});

describe('a restored lake and the backups of the lake it came from', () => {
  it('starts with no backup record: /metrics says never backed up, status gives no prune advice', async () => {
    assert.equal(
      existsSync(join(restored, 'state', 'last-backup.json')),
      false,
    );
    assert.equal(existsSync(join(restored, 'state', 'backups')), false);
    // The source's records are still its own.
    assert.equal(
      JSON.parse(
        readFileSync(join(source, 'state', 'last-backup.json'), 'utf8'),
      ).snapshot,
      snapshots[1],
    );
    assert.deepEqual(await backupMetrics(restored), { timestamp: 0, age: -1 });
    const status = await ok(['status', '--lake', restored]);
    assert.doesNotMatch(status, /^backups /m);
    assert.ok(!status.includes('backup prune'), status);
  });

  it('records its own first backup as any lake does', async () => {
    const own = join(work.path, 'bk-restored');
    const t0 = Date.now();
    await ok(['backup', own, '--lake', restored]);
    const t1 = Date.now();
    const [id] = snapshotsIn(own);
    const record = JSON.parse(
      readFileSync(join(restored, 'state', 'last-backup.json'), 'utf8'),
    ) as { snapshot: string; target: string };
    assert.deepEqual([record.snapshot, record.target], [id, own]);
    const m = await backupMetrics(restored);
    assert.ok(
      m.timestamp * 1000 >= t0 - 1 && m.timestamp * 1000 <= t1 + 1,
      `${m.timestamp} in [${t0}, ${t1}]`,
    );
    assert.ok(m.age >= 0 && m.age * 1000 <= Date.now() - t0 + 1000);
    // Its own store holds one snapshot, taken after the erasure.
    const status = await ok(['status', '--lake', restored]);
    assert.ok(!status.includes('backup prune'), status);
    // Backed up into the source's store, it learns what that store holds
    // (the snapshot from before the erasure) and advises as the source did.
    await ok(['backup', store, '--lake', restored]);
    const again = await ok(['status', '--lake', restored]);
    assert.ok(
      again.includes(
        `backups     1 snapshot in ${store} predates the erasure of ${erasedAt} and may still hold what it erased: run lpacs backup prune ${store} --before-erasures --lake ${restored}`,
      ),
      again,
    );
  });
});
