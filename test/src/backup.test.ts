import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { AccessStore, AuditLog, Role } from '@lpacs/access';
import { Catalog, DirTarget, backupLake, listSnapshots } from '@lpacs/lake';
import {
  CLI,
  CT,
  REPO,
  SAMPLE,
  filesUnder,
  parquetRows,
  runCli,
  tempDir,
} from './helpers';
import { lakeDifferences } from './lakeDiff';

const work = tempDir('backup');
const lake = join(work.path, 'lake');
const backup = join(work.path, 'backup');
after(() => work.remove());

interface Report {
  snapshot: string;
  files: number;
  copied: number;
}

async function cli(args: string[]) {
  const r = await runCli([...args, '--json']);
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout) as Report & { ingested?: number };
}

/** Every object of a lake: relative path -> SHA-256 of its bytes. */
function objects(root: string): Map<string, string> {
  return new Map(
    filesUnder(join(root, 'objects')).map((f) => [
      f.slice(root.length),
      createHash('sha256').update(readFileSync(f)).digest('hex'),
    ]),
  );
}

async function tableRows(root: string, table: string, key: string) {
  return parquetRows(
    `SELECT * EXCLUDE (batch) FROM read_parquet('${root}/tables/${table}/*/*.parquet', hive_partitioning = true) ORDER BY "${key}"`,
  );
}

before(async () => {
  await cli(['ingest', CT, '--lake', lake]);
  await new AccessStore(lake).addUser('rita', Role.Researcher);
  await new AuditLog(lake).append({
    actor: 'rita',
    action: 'cohort.query',
    outcome: 'ok',
  });
});

describe('backup and restore', () => {
  let first: Report;
  let second: Report;

  it('copies only what is new on the second backup', async () => {
    first = await cli(['backup', backup, '--lake', lake]);
    assert.equal(first.copied, first.files);
    const added = await cli(['ingest', SAMPLE, '--lake', lake]);
    second = await cli(['backup', backup, '--lake', lake]);
    assert.ok(second.files > first.files);
    const newObjects = added.ingested! + 1; // and the one conflict version
    assert.ok(
      second.copied < second.files,
      `${second.copied} of ${second.files}`,
    );
    assert.ok(second.copied >= newObjects);
  });

  it('restores a lake equal in every table, object and state file, every checksum verified', async () => {
    const restored = join(work.path, 'restored');
    const r = await runCli(['restore', backup, '--lake', restored]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /every checksum verified/);
    assert.deepEqual(await lakeDifferences(restored, lake), []);
    assert.deepEqual(objects(restored), objects(lake));
    // Every Parquet file of every table, byte for byte (predictions and
    // batch files included), hashed here.
    const tableFiles = (root: string) =>
      new Map(
        filesUnder(join(root, 'tables')).map((f) => [
          f.slice(root.length),
          createHash('sha256').update(readFileSync(f)).digest('hex'),
        ]),
      );
    assert.ok(tableFiles(lake).size >= 10);
    assert.deepEqual(tableFiles(restored), tableFiles(lake));
    for (const f of ['state/access.json', 'keys/site.key', 'lake.json'])
      assert.deepEqual(
        readFileSync(join(restored, f)),
        readFileSync(join(lake, f)),
        f,
      );
    // The lake's log ends with the backup (written after the snapshot
    // was taken); the restored log is the snapshot's, intact, and goes on
    // with the restore. Both name the snapshot.
    const lakeLog = new AuditLog(lake);
    const restoredLog = new AuditLog(restored);
    assert.equal(restoredLog.verify().entries, lakeLog.verify().entries);
    const [backedUp] = lakeLog.query({ action: 'backup', limit: 1 });
    const [restoredEntry] = restoredLog.query({ limit: 1 });
    assert.equal(backedUp?.target, backup);
    assert.equal(backedUp?.detail?.snapshot, second.snapshot);
    assert.equal(restoredEntry?.action, 'restore');
    assert.equal(restoredEntry?.target, backup);
    assert.equal(restoredEntry?.detail?.snapshot, second.snapshot);
    assert.equal(restoredEntry?.detail?.files, second.files);
    assert.equal(
      restoredLog.query({ action: 'backup', limit: 10 }).length,
      lakeLog.query({ action: 'backup', limit: 10 }).length - 1,
    );
    const status = await runCli(['status', '--lake', restored, '--json']);
    assert.equal(status.code, 0, status.stderr);
  });

  it('says what the audit log holds when a filter matches nothing (new-user case: a misspelt action printed nothing)', async () => {
    const r = await runCli(['audit', '--action', 'bakup', '--lake', lake]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, '');
    const actions = [
      ...new Set(new AuditLog(lake).entries().map((e) => e.action)),
    ].sort();
    assert.ok(actions.includes('backup'));
    assert.equal(
      r.stderr,
      `no entries with action "bakup"; the log holds ${new AuditLog(lake).entries().length} entries, actions: ${actions.join(', ')}\n`,
    );
  });

  it('takes a consistent snapshot while an ingest is writing and queries are answered', async () => {
    const busy = join(work.path, 'busy');
    await cli(['ingest', CT, '--lake', busy]);
    const ctCount = filesUnder(CT).filter((f) => f.endsWith('.dcm')).length;
    // Queries through the catalog the API uses, one after another, for as
    // long as the backup runs.
    const catalog = await Catalog.open(busy, { threads: 1 });
    const counts: number[] = [];
    const failures: string[] = [];
    let backingUp = true;
    const querying = (async () => {
      while (backingUp) {
        await catalog
          .query('SELECT count(*)::INT AS n FROM instances')
          .then(([r]) => counts.push(Number(r?.n)))
          .catch((err: Error) => failures.push(err.message));
        await new Promise((r) => setTimeout(r, 20));
      }
    })();
    const ingest = spawn(
      process.execPath,
      [
        CLI,
        'ingest',
        join(REPO, 'datasets', 'cache', 'plant-phi'),
        SAMPLE,
        '--lake',
        busy,
        '--batch-size',
        '5',
      ],
      { stdio: 'ignore' },
    );
    const snap = join(work.path, 'busy-backup');
    await cli(['backup', snap, '--lake', busy]);
    backingUp = false;
    await querying;
    await catalog.close();
    await new Promise((r) => ingest.once('close', r));
    // Every query was answered, never with fewer instances than before.
    assert.deepEqual(failures, []);
    assert.ok(counts.length > 0);
    for (let i = 0; i < counts.length; i++)
      assert.ok(counts[i]! >= (counts[i - 1] ?? ctCount), counts.join(','));
    const restored = join(work.path, 'busy-restored');
    const r = await runCli(['restore', snap, '--lake', restored]);
    assert.equal(r.code, 0, r.stderr);
    // Every row of the snapshot finds its object, with the right bytes.
    const rows = await parquetRows(
      `SELECT object_key, sha256 FROM read_parquet('${restored}/tables/instances/*/*.parquet')`,
    );
    assert.ok(
      rows.length >= filesUnder(CT).filter((f) => f.endsWith('.dcm')).length,
    );
    for (const row of rows) {
      const bytes = readFileSync(join(restored, String(row.object_key)));
      assert.equal(
        createHash('sha256').update(bytes).digest('hex'),
        row.sha256,
      );
    }
  });

  it('refuses a backup whose object was changed, naming it, and leaves nothing half-restored (new-user case)', async () => {
    const victim = filesUnder(join(backup, 'objects'))[0]!;
    const bytes = readFileSync(victim);
    bytes.writeUInt8(
      bytes.readUInt8(bytes.length - 1) ^ 0xff,
      bytes.length - 1,
    );
    writeFileSync(victim, bytes);
    const target = join(work.path, 'bad');
    const r = await runCli(['restore', backup, '--lake', target]);
    assert.notEqual(r.code, 0);
    // Nothing at the target or beside it, so a retry is not refused.
    assert.deepEqual(
      readdirSync(work.path).filter((n) => n.startsWith('bad')),
      [],
    );
    assert.match(
      r.stderr,
      new RegExp(
        `${victim.slice(backup.length + 1)} does not match its checksum`,
      ),
    );
  });
});

describe('backup destinations (new-user case)', () => {
  it('refuses a destination inside the lake it backs up', async () => {
    for (const dest of [lake, join(lake, 'backups')]) {
      const r = await runCli(['backup', dest, '--lake', lake]);
      assert.equal(r.code, 2);
      assert.equal(
        r.stderr,
        `lpacs backup: ${dest} is inside the lake ${lake}: a backup there would be lost with the lake and copied into itself; choose a place outside it\n`,
      );
    }
    assert.equal(readdirSync(lake).includes('backups'), false);
  });
});

describe('snapshots stay whole (new-user cases)', () => {
  const lake2 = join(work.path, 'lake2');
  const bk = join(work.path, 'bk2');
  let firstId = '';
  let firstAccess: Buffer;
  let firstUsers: string[] = [];

  before(async () => {
    await cli(['ingest', CT, '--lake', lake2]);
    await new AccessStore(lake2).addUser('ann', Role.Researcher);
    firstId = (await cli(['backup', bk, '--lake', lake2])).snapshot;
    firstAccess = readFileSync(join(lake2, 'state', 'access.json'));
    firstUsers = new AccessStore(lake2).users().map((u) => u.name);
    // The lake changes, and is backed up twice more.
    await new AccessStore(lake2).addUser('bob', Role.Steward);
    await cli(['backup', bk, '--lake', lake2]);
    await cli(['backup', bk, '--lake', lake2]);
  });

  it('restores an older snapshot as it was taken, though later backups changed the same state files', async () => {
    const target = join(work.path, 'r-first');
    const r = await runCli([
      'restore',
      bk,
      '--snapshot',
      firstId,
      '--lake',
      target,
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(
      readFileSync(join(target, 'state', 'access.json')),
      firstAccess,
    );
    assert.deepEqual(
      new AccessStore(target).users().map((u) => u.name),
      firstUsers,
    );
    assert.ok(!firstUsers.includes('bob'));
  });

  it('leaves every earlier snapshot restorable when a backup stops midway', async () => {
    // A target that fails after a few files, as a full disk or a dropped
    // connection would.
    class Failing extends DirTarget {
      n = 0;
      override async putFile(
        path: string,
        from: string,
        size: number,
        sha256?: string,
      ): Promise<string> {
        if (++this.n > 2) throw new Error('disk full (injected)');
        return super.putFile(path, from, size, sha256);
      }
    }
    await new AccessStore(lake2).addUser('cy', Role.Researcher);
    writeFileSync(join(lake2, 'state', 'extra.json'), '{"changed":true}');
    await assert.rejects(backupLake(lake2, new Failing(bk)), /disk full/);
    for (const id of await listSnapshots(bk)) {
      const target = join(work.path, `r-${id}`);
      const r = await runCli([
        'restore',
        bk,
        '--snapshot',
        id,
        '--lake',
        target,
      ]);
      assert.equal(r.code, 0, `${id}: ${r.stderr}`);
    }
  });

  it('repairs a damaged copy with --verify, which a plain backup takes as present', async () => {
    const victim = filesUnder(join(bk, 'objects'))[0]!;
    const bytes = readFileSync(victim);
    bytes.writeUInt8(
      bytes.readUInt8(bytes.length - 1) ^ 0xff,
      bytes.length - 1,
    );
    writeFileSync(victim, bytes);
    const plain = await cli(['backup', bk, '--lake', lake2]);
    assert.equal((plain as Report & { repaired: number }).repaired, 0);
    const target = join(work.path, 'r-damaged');
    const refused = await runCli(['restore', bk, '--lake', target]);
    assert.notEqual(refused.code, 0);
    const verified = (await cli([
      'backup',
      bk,
      '--lake',
      lake2,
      '--verify',
    ])) as Report & {
      repaired: number;
    };
    assert.equal(verified.repaired, 1);
    const restored = await runCli(['restore', bk, '--lake', target]);
    assert.equal(restored.code, 0, restored.stderr);
    assert.deepEqual(objects(target), objects(lake2));
  });
});

describe('compact', () => {
  it('merges each table into one batch, keeps every row, and is audited with the batch counts', async () => {
    const before = await tableRows(lake, 'instances', 'SOPInstanceUID');
    const batches = (table: string) =>
      readdirSync(join(lake, 'tables', table)).filter((n) =>
        n.startsWith('batch='),
      ).length;
    const instanceBatches = batches('instances');
    assert.ok(instanceBatches > 1, `${instanceBatches} batches`);
    const r = await runCli(['compact', '--lake', lake]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(
      r.stdout,
      new RegExp(
        `instances: ${instanceBatches} batches -> 1 \\(${before.length} rows\\)`,
      ),
    );
    assert.equal(batches('instances'), 1);
    assert.deepEqual(
      await tableRows(lake, 'instances', 'SOPInstanceUID'),
      before,
    );
    const [entry] = new AuditLog(lake).query({ action: 'compact', limit: 1 });
    assert.equal(entry?.outcome, 'ok');
    assert.equal(entry?.detail?.instances, `${instanceBatches}->1`);
    assert.match(entry?.actor ?? '', /^cli:/);
  });
});
