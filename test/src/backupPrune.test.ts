import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  cpSync,
  existsSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
} from 'node:fs';
import { createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { AccessStore, AuditLog, Role } from '@lpacs/access';
import { pruneBackup, startS3Peer } from '@lpacs/lake';
import type { S3Peer } from '@lpacs/lake';
import { CLI, REPO, filesUnder, parquetRows, runCli, tempDir } from './helpers';

// lpacs backup prune: snapshots deleted by each selector, the files only
// they named swept, every snapshot left restorable (kill -9 at any point
// included), the erased patient's bytes gone from the backup, in a
// directory and in S3.
const work = tempDir('backup-prune');
const input = join(work.path, 'ct');
const lake = join(work.path, 'lake');
/** A directory backup: s1, s2 before the erasure, s3, s4 after. */
const tmpl = join(work.path, 'tmpl');
const ids: string[] = [];
let erased = '';
let kept = '';
let erasedAt = '';
/** SHA-256 of each of the erased patient's objects (their file names too). */
let erasedShas: string[] = [];
/** SHA-256 of the linkage files as they were before the erasure. */
let linkageBefore: string[] = [];
let peer: S3Peer;
const BUCKET = 'lpacs-prune';
/** S3 prefixes, each with one snapshot before the erasure and one after. */
const PREFIXES = ['chrono', 'k1', 'k2', 'k3', 'k4', 'sel'];

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

async function ok(args: string[], env: Record<string, string> = {}) {
  const r = await runCli(args, env);
  assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
  return r;
}

async function backupTo(dest: string, env: Record<string, string> = {}) {
  const r = await ok(['backup', dest, '--lake', lake, '--json'], env);
  return (JSON.parse(r.stdout) as { snapshot: string }).snapshot;
}

interface Manifest {
  files: Array<{ path: string; size: number; sha256: string; blob?: true }>;
}

/** The snapshot ids of a directory backup, oldest first (read by hand). */
function snapshotsIn(dest: string): string[] {
  return readdirSync(join(dest, 'snapshots'))
    .filter((n) => /^\d{8}T\d{9}Z\.json$/.test(n))
    .map((n) => n.slice(0, -5))
    .sort();
}

/**
 * What a directory backup holding exactly `keep` consists of, worked out
 * from their manifests the way docs/ops.md did by hand with jq: each file
 * at its path, or at blobs/<sha256>; the manifests and reader scripts.
 */
function expectedFiles(dest: string, keep: string[]): string[] {
  const out = new Set<string>();
  for (const id of keep) {
    const m = JSON.parse(
      readFileSync(join(dest, 'snapshots', `${id}.json`), 'utf8'),
    ) as Manifest;
    for (const f of m.files) out.add(f.blob ? `blobs/${f.sha256}` : f.path);
    out.add(`snapshots/${id}.json`);
    out.add(`snapshots/${id}.duckdb.sql`);
  }
  return [...out].sort();
}

/** Every file under a directory backup, relative to it. */
function filesOf(dest: string): string[] {
  return filesUnder(dest)
    .map((f) => f.slice(dest.length + 1))
    .sort();
}

function bytesOf(dest: string, paths: string[]): number {
  return paths.reduce((n, p) => n + statSync(join(dest, p)).size, 0);
}

let restores = 0;
/** `lpacs restore` of each snapshot: every checksum verified, and no row of the erased patient in those taken after. */
async function restoresAll(
  dest: string,
  snapshots: string[],
  env: Record<string, string> = {},
) {
  for (const id of snapshots) {
    const to = join(work.path, `restored-${++restores}`);
    const r = await ok(['restore', dest, '--snapshot', id, '--lake', to], env);
    assert.match(r.stdout, /every checksum verified/, id);
    if (id > erasedAt.replace(/[-:.]/g, '')) {
      const rows = await parquetRows(
        `SELECT "PatientID" AS p, count(*) AS n FROM read_parquet('${to}/tables/instances/*/*.parquet') GROUP BY 1`,
      );
      assert.deepEqual(
        rows.map((r) => [r.p, Number(r.n)]),
        [[kept, 80]],
        id,
      );
    }
  }
}

/** No file under `dest` is one of the erased patient's objects or the linkage that named them. */
function noErasedBytes(dest: string) {
  const gone = new Set([...erasedShas, ...linkageBefore]);
  for (const f of filesUnder(dest)) {
    assert.equal(gone.has(sha256(readFileSync(f))), false, f);
    for (const s of erasedShas) assert.equal(f.includes(s), false, f);
  }
}

/** botocore, an S3 client that is not lpacs: the keys under a prefix. */
function bucketKeys(prefix: string): string[] {
  const py = `
import json, os, sys
import botocore.session
s3 = botocore.session.get_session().create_client(
    's3', endpoint_url=os.environ['AWS_ENDPOINT_URL'], region_name='us-east-1',
    aws_access_key_id=os.environ['AWS_ACCESS_KEY_ID'],
    aws_secret_access_key=os.environ['AWS_SECRET_ACCESS_KEY'])
out, token = [], None
while True:
    kw = {'Bucket': sys.argv[1], 'Prefix': sys.argv[2]}
    if token: kw['ContinuationToken'] = token
    page = s3.list_objects_v2(**kw)
    out += [o['Key'][len(sys.argv[2]):] for o in page.get('Contents', [])]
    if not page.get('IsTruncated'): break
    token = page['NextContinuationToken']
print(json.dumps(sorted(out)))
`;
  return JSON.parse(
    execFileSync('/usr/bin/python3', ['-c', py, BUCKET, `${prefix}/`], {
      env: { ...process.env, ...peer.env },
      encoding: 'utf8',
    }),
  ) as string[];
}

/** A manifest of an S3 backup, fetched with lpacs's own restore of nothing: read through the peer's files is not ours to know, so through botocore. */
function s3Manifest(prefix: string, id: string): Manifest {
  const py = `
import os, sys
import botocore.session
s3 = botocore.session.get_session().create_client(
    's3', endpoint_url=os.environ['AWS_ENDPOINT_URL'], region_name='us-east-1',
    aws_access_key_id=os.environ['AWS_ACCESS_KEY_ID'],
    aws_secret_access_key=os.environ['AWS_SECRET_ACCESS_KEY'])
sys.stdout.write(s3.get_object(Bucket=sys.argv[1], Key=sys.argv[2])['Body'].read().decode())
`;
  return JSON.parse(
    execFileSync(
      '/usr/bin/python3',
      ['-c', py, BUCKET, `${prefix}/snapshots/${id}.json`],
      { env: { ...process.env, ...peer.env }, encoding: 'utf8' },
    ),
  ) as Manifest;
}

/** The keys an S3 backup holding exactly `keep` consists of. */
function expectedKeys(prefix: string, keep: string[]): string[] {
  const out = new Set<string>();
  for (const id of keep) {
    for (const f of s3Manifest(prefix, id).files)
      out.add(f.blob ? `blobs/${f.sha256}` : f.path);
    out.add(`snapshots/${id}.json`);
    out.add(`snapshots/${id}.duckdb.sql`);
  }
  return [...out].sort();
}

const s3Ids = (prefix: string) =>
  bucketKeys(prefix)
    .filter((k) => /^snapshots\/\d{8}T\d{9}Z\.json$/.test(k))
    .map((k) => k.slice('snapshots/'.length, -5))
    .sort();

before(async () => {
  const made = spawnSync(
    process.execPath,
    [
      join(REPO, 'datasets', 'generate-ct.mjs'),
      '--out',
      input,
      '--patients',
      '2',
      '--studies',
      '1',
      '--series',
      '2',
      '--slices',
      '40',
      '--size',
      '128',
    ],
    { encoding: 'utf8' },
  );
  assert.equal(made.status, 0, made.stderr);
  await ok(['ingest', input, '--lake', lake]);
  const rows = await parquetRows(
    `SELECT "PatientID" AS p, sha256 AS s FROM read_parquet('${lake}/tables/instances/*/*.parquet') ORDER BY 1, 2`,
  );
  const patients = [...new Set(rows.map((r) => String(r.p)))];
  assert.equal(patients.length, 2);
  [erased, kept] = patients as [string, string];
  erasedShas = rows.filter((r) => r.p === erased).map((r) => String(r.s));
  assert.equal(erasedShas.length, 80);
  linkageBefore = filesUnder(join(lake, 'keys', 'linkage')).map((f) =>
    sha256(readFileSync(f)),
  );
  peer = await startS3Peer(join(work.path, 's3'));
  // Before the erasure: s1, then a change, s2; one snapshot per prefix.
  ids.push(await backupTo(tmpl));
  for (const p of PREFIXES) await backupTo(`s3://${BUCKET}/${p}`, peer.env);
  await new AccessStore(lake).addUser('ann', Role.Researcher);
  ids.push(await backupTo(tmpl));
  await ok([
    'erase',
    '--patient',
    erased,
    '--reason',
    'consent withdrawn',
    '--lake',
    lake,
  ]);
  // When the erasure finished, as its audit entry says.
  erasedAt = new AuditLog(lake).query({ action: 'erase.patient', limit: 1 })[0]!
    .at;
  // After it: s3, then a change, s4; a second snapshot per prefix.
  ids.push(await backupTo(tmpl));
  await new AccessStore(lake).addUser('bob', Role.Researcher);
  ids.push(await backupTo(tmpl));
  for (const p of PREFIXES) await backupTo(`s3://${BUCKET}/${p}`, peer.env);
  assert.deepEqual(snapshotsIn(tmpl), ids);
  // The erased patient's objects are in the backup, named by s1 and s2 only.
  for (const s of erasedShas)
    assert.equal(
      filesOf(tmpl).some((f) => f.includes(s)),
      true,
    );
});
after(async () => {
  await peer?.stop();
  work.remove();
});

let copies = 0;
/** A fresh copy of the four-snapshot directory backup. */
function copyOfTmpl(): string {
  const dest = join(work.path, `dest-${++copies}`);
  cpSync(tmpl, dest, { recursive: true });
  return dest;
}

describe('lpacs backup prune: selectors (directory backup)', () => {
  const selectors: Array<[string, string[], () => string[]]> = [
    [
      '--snapshot (repeatable)',
      ['--snapshot', '@1', '--snapshot', '@3'],
      () => [ids[1]!, ids[3]!],
    ],
    ['--keep-last 1', ['--keep-last', '1'], () => ids.slice(0, 3)],
    [
      '--older-than-days 0 with --keep-last 3 (all are older than now; the newest three stay)',
      ['--older-than-days', '0', '--keep-last', '3'],
      () => ids.slice(0, 1),
    ],
    ['--before-erasures', ['--before-erasures'], () => ids.slice(0, 2)],
  ];
  for (const [name, args, expected] of selectors)
    it(`deletes what ${name} names, sweeps what only those named, and every snapshot left restores`, async () => {
      const dest = copyOfTmpl();
      const flags = args.map((a) =>
        a.startsWith('@') ? ids[Number(a.slice(1))]! : a,
      );
      const goneIds = expected();
      const keep = ids.filter((id) => !goneIds.includes(id));
      const before = filesOf(dest);
      const want = expectedFiles(dest, keep);
      const freed = before.filter((f) => !want.includes(f));
      // A dry run names them and the bytes, and changes nothing.
      const dry = await ok([
        'backup',
        'prune',
        dest,
        ...flags,
        '--dry-run',
        '--lake',
        lake,
        '--json',
      ]);
      const plan = JSON.parse(dry.stdout) as {
        deleted: string[];
        bytes: number;
        files: number;
      };
      assert.deepEqual(plan.deleted, goneIds);
      assert.equal(plan.bytes, bytesOf(dest, freed));
      assert.equal(
        plan.files,
        freed.filter((f) => !f.startsWith('snapshots/')).length,
      );
      assert.deepEqual(filesOf(dest), before);
      const r = await ok([
        'backup',
        'prune',
        dest,
        ...flags,
        '--lake',
        lake,
        '--json',
      ]);
      const done = JSON.parse(r.stdout) as {
        deleted: string[];
        kept: string[];
        bytes: number;
      };
      assert.deepEqual(done.deleted, goneIds);
      assert.deepEqual(done.kept, keep);
      assert.equal(done.bytes, plan.bytes);
      assert.deepEqual(filesOf(dest), want);
      assert.deepEqual(snapshotsIn(dest), keep);
      await restoresAll(dest, keep);
      const [entry] = new AuditLog(lake).query({
        action: 'backup.prune',
        limit: 1,
      });
      assert.equal(entry?.target, dest);
      assert.equal(entry?.outcome, 'ok');
      assert.equal(entry?.detail?.snapshots, goneIds.length);
      assert.equal(entry?.detail?.deleted, goneIds.join(','));
      assert.match(entry?.actor ?? '', /^cli:/);
    });

  it('--before-erasures leaves no byte of the erased patient in the backup: objects, linkage, rows', async () => {
    const dest = copyOfTmpl();
    const r = await ok([
      'backup',
      'prune',
      dest,
      '--before-erasures',
      '--lake',
      lake,
    ]);
    assert.equal(
      r.stdout.split('\n')[0],
      `deleted 2 snapshots of ${dest} taken before the erasure of ${erasedAt}: ${ids[0]}, ${ids[1]}`,
    );
    noErasedBytes(dest);
    // The pseudonym is left only where the live lake keeps it too: the
    // tombstone that refuses their files and the audit log.
    const where = new Set<string>();
    for (const id of snapshotsIn(dest))
      for (const f of (
        JSON.parse(
          readFileSync(join(dest, 'snapshots', `${id}.json`), 'utf8'),
        ) as Manifest
      ).files)
        if (
          f.blob &&
          readFileSync(join(dest, 'blobs', f.sha256)).includes(erased)
        )
          where.add(f.path);
    assert.deepEqual([...where].sort(), [
      'audit/audit.ndjson',
      'state/erased-patients.json',
    ]);
    for (const f of filesUnder(join(dest, 'objects')).concat(
      filesUnder(join(dest, 'tables')),
    ))
      assert.equal(readFileSync(f).includes(erased), false, f);
  });

  it('pruneBackup --older-than-days counts days from the time in each snapshot id', async () => {
    const dest = copyOfTmpl();
    // One day and 1 ms after s2 was taken (from its id), s1 and s2 are
    // more than a day old and s3, s4 (taken later) are not.
    const t = ids[1]!.replace(
      /^(\d{4})(\d\d)(\d\d)T(\d\d)(\d\d)(\d\d)(\d{3})Z$/,
      '$1-$2-$3T$4:$5:$6.$7Z',
    );
    const now = new Date(Date.parse(t) + 86_400_000 + 1);
    const r = await pruneBackup(dest, { olderThanDays: 1 }, { now });
    assert.deepEqual(r.deleted, ids.slice(0, 2));
    assert.deepEqual(filesOf(dest), expectedFiles(dest, ids.slice(2)));
  });
});

describe('lpacs backup prune: refusals (new-user cases)', () => {
  it('refuses to delete every snapshot unless --all, and with --all leaves nothing of them', async () => {
    const dest = copyOfTmpl();
    const before = filesOf(dest);
    const r = await runCli([
      'backup',
      'prune',
      dest,
      '--keep-last',
      '1',
      '--snapshot',
      ids[3]!,
      '--lake',
      lake,
    ]);
    assert.equal(r.code, 1);
    assert.equal(
      r.stderr,
      `lpacs backup prune: this would delete every snapshot of ${dest} (4), leaving none to restore: take a new backup first (lpacs backup ${dest}), or add --all to delete them all\n`,
    );
    assert.deepEqual(filesOf(dest), before);
    await ok(['backup', 'prune', dest, '--all', '--lake', lake]);
    assert.deepEqual(filesOf(dest), []);
    const again = await runCli([
      'backup',
      'prune',
      dest,
      '--all',
      '--lake',
      lake,
    ]);
    assert.equal(
      again.stderr,
      `lpacs backup prune: ${dest} holds no snapshot (every one was deleted): nothing to prune\n`,
    );
  });

  it('names an unknown snapshot id and deletes nothing', async () => {
    const dest = copyOfTmpl();
    const before = filesOf(dest);
    const r = await runCli([
      'backup',
      'prune',
      dest,
      '--snapshot',
      ids[0]!,
      '--snapshot',
      '20200101T000000000Z',
      '--lake',
      lake,
    ]);
    assert.equal(r.code, 1);
    assert.equal(
      r.stderr,
      `lpacs backup prune: no snapshot 20200101T000000000Z in ${dest}; it has 4 (${ids.join(', ')})\n`,
    );
    assert.deepEqual(filesOf(dest), before);
  });

  it('refuses what is not a backup, writing nothing there: a folder, the lake, a missing path', async () => {
    const folder = join(work.path, 'not-a-backup');
    mkdirSync(join(folder, 'objects'), { recursive: true });
    const cases: Array<[string, string]> = [
      [
        folder,
        `${folder} is not an lpacs backup: it has no snapshots/ folder (lpacs backup writes snapshots/<id>.json for each snapshot)`,
      ],
      [
        lake,
        `${lake} is a lake, not a backup: give the place lpacs backup wrote to`,
      ],
      [
        join(work.path, 'nowhere'),
        `${join(work.path, 'nowhere')} does not exist`,
      ],
    ];
    const lakeFiles = filesUnder(lake).length;
    for (const [dest, message] of cases) {
      const r = await runCli([
        'backup',
        'prune',
        dest,
        '--all',
        '--lake',
        lake,
      ]);
      assert.equal(r.code, 1);
      assert.equal(r.stderr, `lpacs backup prune: ${message}\n`);
    }
    assert.deepEqual(readdirSync(folder), ['objects']);
    assert.equal(existsSync(join(work.path, 'nowhere')), false);
    assert.equal(filesUnder(lake).length, lakeFiles);
  });

  it('asks which snapshots when given no selector', async () => {
    const r = await runCli(['backup', 'prune', tmpl, '--lake', lake]);
    assert.equal(r.code, 2);
    assert.match(
      r.stderr,
      /^lpacs backup prune: say which snapshots to delete\nusage: lpacs backup prune DEST/,
    );
  });
});

describe('lpacs status flags snapshots older than the last erasure', () => {
  it('names them with the command that deletes them, until they are pruned', async () => {
    const dest = copyOfTmpl();
    // A backup now makes the lake list what this backup holds.
    const fifth = await backupTo(dest);
    const line = `backups     2 snapshots in ${dest} predate the erasure of ${erasedAt} and may still hold what it erased: run lpacs backup prune ${dest} --before-erasures --lake ${lake}`;
    const status = await ok(['status', '--lake', lake]);
    assert.ok(status.stdout.split('\n').includes(line), status.stdout);
    const json = JSON.parse(
      (await ok(['status', '--lake', lake, '--json'])).stdout,
    ) as {
      snapshotsBeforeErasure: {
        erasure: string;
        backups: Array<{ target: string; snapshots: string[] }>;
      };
    };
    assert.equal(json.snapshotsBeforeErasure.erasure, erasedAt);
    assert.deepEqual(
      json.snapshotsBeforeErasure.backups.find((b) => b.target === dest)
        ?.snapshots,
      ids.slice(0, 2),
    );
    // A lake whose erasure predates state/last-erasure.json: read from the audit log.
    const older = join(work.path, 'older-lake');
    cpSync(lake, older, { recursive: true, verbatimSymlinks: true });
    rmSync(join(older, 'state', 'last-erasure.json'));
    const fromLog = await ok(['status', '--lake', older]);
    assert.ok(
      fromLog.stdout
        .split('\n')
        .includes(line.replace(`--lake ${lake}`, `--lake ${older}`)),
      fromLog.stdout,
    );
    await ok(['backup', 'prune', dest, '--before-erasures', '--lake', lake]);
    const after = await ok(['status', '--lake', lake]);
    assert.equal(after.stdout.includes(`in ${dest} `), false, after.stdout);
    assert.deepEqual(snapshotsIn(dest), [...ids.slice(2), fifth]);
  });
});

/** Starts `lpacs backup prune` and kills it with SIGKILL once `ready` says so. */
function pruneAndKill(
  args: string[],
  ready: () => boolean,
  env: Record<string, string> = {},
): Promise<string> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, 'backup', 'prune', ...args], {
      env: { ...process.env, ...env },
      stdio: 'ignore',
    });
    const timer = setInterval(() => {
      if (!ready()) return;
      child.kill('SIGKILL');
      clearInterval(timer);
    }, 1);
    child.on('close', (code, signal) => {
      clearInterval(timer);
      resolve(signal ?? `exit ${code}`);
    });
  });
}

describe('kill -9 during lpacs backup prune, then a prune again (directory)', () => {
  const objectsLeft = (dest: string) =>
    erasedShas.filter((s) =>
      existsSync(join(dest, 'objects', s.slice(0, 2), `${s}.dcm`)),
    ).length;
  const cases: Array<[string, (dest: string) => () => boolean]> = [
    [
      'while its journal is there',
      (dest) => () => existsSync(join(dest, 'prune.json')),
    ],
    [
      "midway through sweeping the erased patient's objects",
      (dest) => () => {
        const left = objectsLeft(dest);
        return left > 0 && left < erasedShas.length;
      },
    ],
  ];
  for (const [name, killAt] of cases)
    it(`leaves every snapshot left restorable when killed ${name}, and the next prune finishes`, async () => {
      const dest = copyOfTmpl();
      assert.equal(objectsLeft(dest), erasedShas.length);
      const how = await pruneAndKill(
        ['--before-erasures', dest, '--lake', lake],
        killAt(dest),
      );
      assert.equal(how, 'SIGKILL', 'killed before it finished');
      assert.ok(existsSync(join(dest, 'prune.json')), 'the journal is left');
      const left = objectsLeft(dest);
      if (name.startsWith('midway'))
        assert.ok(left > 0 && left < erasedShas.length, `${left} left`);
      // Whatever manifests are left name only files that are there.
      await restoresAll(dest, snapshotsIn(dest));
      const rerun = await ok([
        'backup',
        'prune',
        dest,
        '--keep-last',
        '4',
        '--lake',
        lake,
      ]);
      assert.match(
        rerun.stdout,
        new RegExp(
          `^finished an interrupted prune of 2 snapshots: ${ids[0]}, ${ids[1]}\n`,
        ),
      );
      assert.deepEqual(snapshotsIn(dest), ids.slice(2));
      assert.deepEqual(filesOf(dest), expectedFiles(dest, ids.slice(2)));
      assert.equal(existsSync(join(dest, 'prune.json')), false);
      assert.deepEqual(readdirSync(join(dest, 'locks')), []);
      noErasedBytes(dest);
      await restoresAll(dest, ids.slice(2));
    });
});

describe('a backup and a prune of the same destination never interleave', () => {
  /** Spawns lpacs and stops it (SIGSTOP) once `ready`; resolves with the stopped process. */
  function startAndStop(
    args: string[],
    ready: () => boolean,
  ): Promise<{
    child: ChildProcess;
    closed: Promise<number | null>;
    err: () => string;
  }> {
    return new Promise((resolve, reject) => {
      const child = spawn(process.execPath, [CLI, ...args]);
      let err = '';
      child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
      child.stdout!.resume();
      const closed = new Promise<number | null>((r) => child.on('close', r));
      const timer = setInterval(() => {
        if (!ready()) return;
        child.kill('SIGSTOP');
        clearInterval(timer);
        resolve({ child, closed, err: () => err });
      }, 1);
      void closed.then(() => {
        clearInterval(timer);
        reject(new Error(`finished before it could be stopped: ${err}`));
      });
    });
  }
  const lockOf = (dest: string, kind: string) => () =>
    readdirSync(join(dest, 'locks')).some((n) => n.startsWith(`${kind}-`));

  it('refuses to prune while a backup is writing, naming it; the backup then completes', async () => {
    const dest = copyOfTmpl();
    const b = await startAndStop(
      ['backup', dest, '--lake', lake],
      lockOf(dest, 'backup'),
    );
    const r = await runCli([
      'backup',
      'prune',
      dest,
      '--before-erasures',
      '--lake',
      lake,
    ]);
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      new RegExp(
        `^lpacs backup prune: ${dest} is being written by lpacs backup \\(process ${b.child.pid} on [^;]+; ${dest}/locks/backup-${b.child.pid}-[0-9a-f]+@[^)]+\\): prune when it finishes\n$`,
      ),
    );
    b.child.kill('SIGCONT');
    assert.equal(await b.closed, 0, b.err());
    assert.deepEqual(snapshotsIn(dest).slice(0, 4), ids);
    await restoresAll(dest, snapshotsIn(dest).slice(4));
  });

  it('makes a backup wait for a prune, so no file it finds present is swept before its snapshot names it', async () => {
    const dest = copyOfTmpl();
    // Stopped once past its lock: its journal is written after.
    const p = await startAndStop(
      ['backup', 'prune', dest, '--before-erasures', '--lake', lake],
      () => existsSync(join(dest, 'prune.json')),
    );
    const backup = runCli(['backup', dest, '--lake', lake]);
    await new Promise((r) => setTimeout(r, 1500));
    // Still waiting: no snapshot of its own yet.
    assert.equal(snapshotsIn(dest).filter((id) => !ids.includes(id)).length, 0);
    p.child.kill('SIGCONT');
    assert.equal(await p.closed, 0, p.err());
    const b = await backup;
    assert.equal(b.code, 0, b.stderr);
    assert.match(
      b.stderr,
      new RegExp(
        `^lpacs backup: ${dest} is being pruned by lpacs backup prune \\(process ${p.child.pid} `,
      ),
    );
    const left = snapshotsIn(dest);
    assert.deepEqual(left.slice(0, 2), ids.slice(2));
    assert.equal(left.length, 3);
    assert.deepEqual(filesOf(dest), expectedFiles(dest, left));
    await restoresAll(dest, left);
  });

  it('takes no heed of the entry of a backup killed with -9, and sweeps what it had copied', async () => {
    const dest = copyOfTmpl();
    const b = await startAndStop(
      ['backup', dest, '--lake', lake],
      lockOf(dest, 'backup'),
    );
    b.child.kill('SIGKILL');
    await b.closed;
    assert.equal(readdirSync(join(dest, 'locks')).length, 1);
    await ok(['backup', 'prune', dest, '--snapshot', ids[0]!, '--lake', lake]);
    assert.deepEqual(readdirSync(join(dest, 'locks')), []);
    assert.deepEqual(filesOf(dest), expectedFiles(dest, ids.slice(1)));
  });
});

describe('lpacs backup prune of an S3 backup', () => {
  it('--before-erasures deletes the snapshot taken before it and every key only it named; the one left restores', async () => {
    const dest = `s3://${BUCKET}/chrono`;
    const [first, second] = s3Ids('chrono') as [string, string];
    const want = expectedKeys('chrono', [second]);
    const r = await ok(
      ['backup', 'prune', dest, '--before-erasures', '--lake', lake],
      peer.env,
    );
    assert.match(
      r.stdout,
      new RegExp(
        `^deleted 1 snapshot of ${dest} taken before the erasure of ${erasedAt}: ${first}\n`,
      ),
    );
    assert.deepEqual(bucketKeys('chrono'), want);
    for (const s of erasedShas)
      assert.equal(
        want.some((k) => k.includes(s)),
        false,
      );
    await restoresAll(dest, [second], peer.env);
  });

  /**
   * A proxy in front of the S3 peer that kills the prune (SIGKILL) as
   * its `n`-th DELETE arrives, before the peer sees it.
   */
  async function killingProxy(
    n: number,
    victim: () => ChildProcess | undefined,
  ) {
    const upstream = new URL(peer.endpoint);
    let deletes = 0;
    const server = createServer((req, res) => {
      if (req.method === 'DELETE' && ++deletes === n) {
        victim()?.kill('SIGKILL');
        req.socket.destroy();
        return;
      }
      const up = request(
        {
          host: upstream.hostname,
          port: upstream.port,
          method: req.method,
          path: req.url,
          headers: req.headers,
        },
        (answer) => {
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
        },
      );
      up.on('error', () => res.destroy());
      req.pipe(up);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as AddressInfo).port;
    return {
      endpoint: `http://127.0.0.1:${port}`,
      close: () => new Promise((r) => server.close(r)),
    };
  }

  // DELETEs of a prune of one snapshot: its manifest, then the sweep
  // (the files only it named, then its reader script), then the journal.
  const points: Array<[string, (files: number) => number]> = [
    ['before its first delete (journal written)', () => 1],
    ['after the manifest, before the sweep', () => 2],
    ['midway through the sweep', (files) => 2 + Math.floor(files / 2)],
    ['after the sweep, before the journal goes', (files) => 2 + files + 1],
  ];
  points.forEach(([name, at], i) =>
    it(`leaves the other snapshot restorable when killed ${name}, and the next prune finishes`, async () => {
      const prefix = PREFIXES[i + 1]!;
      const dest = `s3://${BUCKET}/${prefix}`;
      const [first, second] = s3Ids(prefix) as [string, string];
      const want = expectedKeys(prefix, [second]);
      const dry = await ok(
        [
          'backup',
          'prune',
          dest,
          '--snapshot',
          first,
          '--dry-run',
          '--json',
          '--lake',
          lake,
        ],
        peer.env,
      );
      const { files } = JSON.parse(dry.stdout) as { files: number };
      assert.ok(files > erasedShas.length, `${files} files`);
      let child: ChildProcess | undefined;
      const proxy = await killingProxy(at(files), () => child);
      child = spawn(
        process.execPath,
        [CLI, 'backup', 'prune', dest, '--snapshot', first, '--lake', lake],
        {
          env: {
            ...process.env,
            ...peer.env,
            AWS_ENDPOINT_URL: proxy.endpoint,
          },
          stdio: 'ignore',
        },
      );
      const signal = await new Promise((r) =>
        child!.on('close', (_c, s) => r(s)),
      );
      await proxy.close();
      assert.equal(signal, 'SIGKILL');
      const keys = bucketKeys(prefix);
      assert.ok(keys.includes('prune.json'), 'the journal is left');
      assert.equal(keys.includes(`snapshots/${first}.json`), i === 0);
      await restoresAll(dest, s3Ids(prefix), peer.env);
      const rerun = await ok(
        ['backup', 'prune', dest, '--keep-last', '1', '--lake', lake],
        peer.env,
      );
      assert.match(
        rerun.stdout,
        new RegExp(`^finished an interrupted prune of 1 snapshot: ${first}\n`),
      );
      assert.deepEqual(bucketKeys(prefix), want);
      await restoresAll(dest, [second], peer.env);
    }),
  );
});
