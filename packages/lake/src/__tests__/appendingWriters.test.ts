import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { after, describe, it } from 'node:test';
import { Catalog, Lake } from '../index';
import { LakeLocks, busyError } from '../LakeLocks';

const root = mkdtempSync(join(tmpdir(), 'lpacs-append-'));
after(() => rmSync(root, { recursive: true, force: true }));

const row = (i: number) => ({
  SOPInstanceUID: `2.25.${i}`,
  SeriesInstanceUID: '2.25.900',
  StudyInstanceUID: '2.25.800',
  PatientID: 'LPTEST',
  Modality: 'CT',
  sha256: `${i}`.repeat(64).slice(0, 64),
  ingested_at: '2026-01-01T00:00:00Z',
});

async function uids(lake: string): Promise<string[]> {
  const catalog = await Catalog.open(lake, { threads: 1 });
  try {
    const rows = await catalog.query(
      'SELECT "SOPInstanceUID" AS u FROM instances ORDER BY 1',
    );
    return rows.map((r) => String(r.u));
  } finally {
    await catalog.close();
  }
}

/** Runs `script` in `n` node processes at once; resolves with their exit codes. */
function inProcesses(n: number, script: string): Promise<number[]> {
  return Promise.all(
    Array.from(
      { length: n },
      () =>
        new Promise<number>((resolve) => {
          const child = spawn(process.execPath, ['-e', script], {
            stdio: ['ignore', 'ignore', 'inherit'],
          });
          child.on('close', (code) => resolve(code ?? -1));
        }),
    ),
  );
}

describe('several processes appending to one lake', () => {
  it('keeps the mutex to one holder at a time: no update is lost', async () => {
    const dir = join(root, 'mutex');
    mkdirSync(dir);
    const counter = join(dir, 'counter');
    writeFileSync(counter, '0');
    // Each holder reads the counter, waits, writes it plus one: two
    // holders at once would both write the same value and lose one.
    const script = `
      const { LakeLocks } = require(${JSON.stringify(join(__dirname, '..', 'LakeLocks.js'))});
      const fs = require('node:fs');
      const locks = new LakeLocks(${JSON.stringify(dir)}, 'test');
      (async () => {
        for (let i = 0; i < 25; i++)
          await locks.withMutex(async () => {
            const n = Number(fs.readFileSync(${JSON.stringify(counter)}, 'utf8'));
            await new Promise((r) => setTimeout(r, Math.random() * 3));
            fs.writeFileSync(${JSON.stringify(counter)}, String(n + 1));
          });
      })();`;
    assert.deepEqual(await inProcesses(3, script), [0, 0, 0]);
    assert.equal(readFileSync(counter, 'utf8'), String(3 * 25));
    assert.deepEqual(
      readdirSync(dir).filter((n) => n.startsWith('mutex-')),
      [],
    );
  });

  it('takes over a mutex whose holder was killed while holding it', async () => {
    const dir = join(root, 'stale-mutex');
    mkdirSync(dir);
    writeFileSync(join(dir, `mutex-999999999-0badf00d@${hostname()}`), '');
    const locks = new LakeLocks(dir, 'test', 1000);
    assert.equal(await locks.withMutex(async () => 'held'), 'held');
    assert.deepEqual(readdirSync(dir), []);
  });

  it('fails with LAKE_BUSY naming a live holder that keeps the mutex too long', async () => {
    const dir = join(root, 'held-mutex');
    mkdirSync(dir);
    const holder = new LakeLocks(dir, 'the-lake');
    const waiter = new LakeLocks(dir, 'the-lake', 50);
    await holder.withMutex(() =>
      assert.rejects(
        waiter.withMutex(async () => undefined),
        {
          code: 'LAKE_BUSY',
          message: `lake the-lake is being written by process ${process.pid}; wait for it to finish (reading with lpacs status is fine)`,
        },
      ),
    );
  });

  it('names a holding lpacs command, and says a server must be stopped rather than waited for (new-user case)', async () => {
    // A real process whose command line is that of `lpacs serve`.
    const server = spawn(process.execPath, [
      '-e',
      'setTimeout(() => {}, 10000)',
      '/opt/lpacs/packages/cli/dist/bin.js',
      'serve',
    ]);
    try {
      await new Promise((r) => setTimeout(r, 100));
      const entry = {
        name: `writer-${server.pid}`,
        kind: 'writer' as const,
        pid: server.pid!,
        host: hostname(),
      };
      assert.equal(
        busyError('the-lake', [entry]).message,
        `lake the-lake is being written by lpacs serve (process ${server.pid}); a running server keeps the lake until it stops: stop it for this command (reading with lpacs status is fine)`,
      );
    } finally {
      server.kill();
    }
  });

  it("finishes a killed writer's commit and leaves live writers' staging alone", async () => {
    const dir = join(root, 'recover');
    const live = await Lake.open(dir, undefined, 'append');
    try {
      // A writer killed after its journal, with a later batch half staged.
      await live.commitBatch('b1', { instances: [row(1)] });
      const dead = `writer-999999999-0badf00d@${hostname()}`;
      const committed = join(dir, 'tables', 'instances', 'batch=b1');
      const staged = join(dir, 'staging', dead, 'b1', 'instances');
      mkdirSync(dirname(staged), { recursive: true });
      renameSync(committed, staged);
      mkdirSync(join(dir, 'journal', dead), { recursive: true });
      writeFileSync(
        join(dir, 'journal', dead, 'b1.json'),
        JSON.stringify({
          batchId: 'b1',
          staging: dirname(staged),
          moves: [{ from: staged, to: committed }],
        }),
      );
      mkdirSync(join(dir, 'staging', dead, 'b2', 'instances'), {
        recursive: true,
      });
      writeFileSync(join(dir, 'locks', dead), '');
      // The live writer's object being written right now.
      const mine = live.objectStaging;
      mkdirSync(mine, { recursive: true });
      writeFileSync(join(mine, 'obj.1'), 'in flight');
      assert.deepEqual(await uids(dir), []);

      (await Lake.open(dir, undefined, 'append')).close();
      assert.deepEqual(await uids(dir), ['2.25.1']);
      assert.deepEqual(readdirSync(join(dir, 'staging')), [
        basename(dirname(mine)),
      ]);
      // The live writer's own journal folder, empty between commits.
      assert.deepEqual(readdirSync(join(dir, 'journal')), [
        basename(dirname(mine)),
      ]);
      assert.ok(existsSync(join(mine, 'obj.1')));
      assert.deepEqual(readdirSync(join(dir, 'locks')), [
        basename(dirname(mine)),
      ]);
    } finally {
      live.close();
    }
    assert.deepEqual(readdirSync(join(dir, 'staging')), []);
    assert.deepEqual(readdirSync(join(dir, 'locks')), []);
  });

  it('gives two writers starting on a new lake one site secret and one lake.json', async () => {
    const dir = join(root, 'new');
    const a = await Lake.open(dir, undefined, 'append');
    const b = await Lake.open(dir, undefined, 'append');
    try {
      // Both look before either writes: each finds none and makes one.
      const [sa, sb] = await Promise.all([a.siteSecret(), b.siteSecret()]);
      assert.ok(sa.equals(sb), 'one secret, or patients get two pseudonyms');
      const onDisk = readFileSync(join(dir, 'keys', 'site.key'), 'utf8');
      assert.equal(onDisk.trim(), sa.toString('hex'));
      const [oa, ob] = await Promise.all([
        a.settings({ made: 'by a' }),
        b.settings({ made: 'by b' }),
      ]);
      assert.deepEqual(oa, ob);
    } finally {
      a.close();
      b.close();
    }
  });

  it('hands reconcile what other writers committed since its last call, once', async () => {
    const dir = join(root, 'reconcile');
    const a = await Lake.open(dir, undefined, 'append');
    const b = await Lake.open(dir, undefined, 'append');
    try {
      const calls: Array<Record<string, string>> = [];
      const keepNew =
        (rows: Array<ReturnType<typeof row>>) =>
        (others: ReadonlyMap<string, string>) => {
          calls.push(Object.fromEntries(others));
          const kept = rows.filter((r) => !others.has(r.SOPInstanceUID));
          return kept.length === rows.length ? undefined : { instances: kept };
        };
      assert.equal(
        await a.commitBatch('a1', { instances: [row(1), row(2)] }),
        true,
      );
      const b1 = [row(2), row(3)];
      assert.equal(
        await b.commitBatch('b1', { instances: b1 }, keepNew(b1)),
        true,
      );
      const b2 = [row(4)];
      await b.commitBatch('b2', { instances: b2 }, keepNew(b2));
      const a2 = [row(3), row(4)]; // both committed by b already
      assert.equal(
        await a.commitBatch('a2', { instances: a2 }, keepNew(a2)),
        false,
      );
      assert.deepEqual(calls, [
        { '2.25.1': row(1).sha256, '2.25.2': row(2).sha256 },
        {},
        { '2.25.3': row(3).sha256, '2.25.4': row(4).sha256 },
      ]);
      assert.deepEqual(await uids(dir), [
        '2.25.1',
        '2.25.2',
        '2.25.3',
        '2.25.4',
      ]);
      assert.ok(!existsSync(join(dir, 'tables', 'instances', 'batch=a2')));
    } finally {
      a.close();
      b.close();
    }
    assert.deepEqual(readdirSync(join(dir, 'staging')), []);
    assert.deepEqual(readdirSync(join(dir, 'journal')), []);
  });
});
