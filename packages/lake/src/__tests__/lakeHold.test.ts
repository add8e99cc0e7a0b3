import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import {
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { Lake } from '../index';

const root = mkdtempSync(join(tmpdir(), 'lpacs-hold-'));
after(() => rmSync(root, { recursive: true, force: true }));

const row = (i: number) => ({
  SOPInstanceUID: `2.25.${i}`,
  SeriesInstanceUID: '2.25.900',
  StudyInstanceUID: '2.25.800',
  PatientID: 'LPTESTTESTTESTTEST',
  Modality: 'CT',
  ingested_at: '2026-01-01T00:00:00Z',
});

/** When this process started, field 22 of /proc/self/stat. */
function ownStart(): string {
  const stat = readFileSync('/proc/self/stat', 'latin1');
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]!;
}

describe('Lake.hold (a server, a prediction run)', () => {
  it('keeps out what needs the lake alone, naming the holder, and lets writers and readers in', async () => {
    const dir = join(root, 'held');
    (await Lake.open(dir)).close();
    const hold = await Lake.hold(dir, 'lpacs serve');
    try {
      await assert.rejects(Lake.open(dir), {
        code: 'LAKE_BUSY',
        message: `lake ${dir} is in use by lpacs serve (process ${process.pid}); a running server keeps the lake until it stops: stop it for this command (reading with lpacs status is fine)`,
      });
      const writer = await Lake.open(dir, undefined, 'append');
      await writer.commitBatch('b1', { instances: [row(1)] });
      writer.close();
      (await Lake.open(dir, undefined, 'read')).close();
    } finally {
      hold.release();
    }
    hold.release(); // again: nothing happens
    assert.deepEqual(readdirSync(join(dir, 'locks')), []);
    (await Lake.open(dir)).close();
  });

  it('is refused while a process has the lake to itself', async () => {
    const dir = join(root, 'alone');
    const alone = await Lake.open(dir);
    try {
      await assert.rejects(Lake.hold(dir, 'lpacs serve'), {
        code: 'LAKE_BUSY',
        message: new RegExp(`being written by process ${process.pid}`),
      });
    } finally {
      alone.close();
    }
    assert.deepEqual(readdirSync(join(dir, 'locks')), []);
  });

  it('counts for nothing once its process is gone (kill -9), and the next writer removes it', async () => {
    const dir = join(root, 'killed');
    (await Lake.open(dir)).close();
    const dead = `hold-999999999-0badf00d@${hostname()}`;
    writeFileSync(
      join(dir, 'locks', dead),
      `999999999 ${hostname()}\nwhat=lpacs serve\n`,
    );
    (await Lake.open(dir)).close();
    assert.deepEqual(readdirSync(join(dir, 'locks')), []);
  });

  it('goes when its process exits without releasing it', async () => {
    const dir = join(root, 'exit');
    (await Lake.open(dir)).close();
    const child = spawn(
      process.execPath,
      [
        '-e',
        `require(${JSON.stringify(join(__dirname, '..', 'index.js'))}).Lake.hold(${JSON.stringify(dir)}, 'lpacs serve').then(() => { console.log('held'); process.exit(3); });`,
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    const [code] = (await once(child, 'exit')) as [number];
    assert.equal(code, 3);
    assert.deepEqual(readdirSync(join(dir, 'locks')), []);
  });

  it("lets its own process's writer compact alone (a C-STORE SCP in lpacs serve)", async () => {
    const dir = join(root, 'scp');
    const hold = await Lake.hold(dir, 'lpacs serve');
    const writer = await Lake.open(dir, undefined, 'append');
    try {
      await writer.commitBatch('b1', { instances: [row(1)] });
      await writer.commitBatch('b2', { instances: [row(2)] });
      const merged = await writer.compactAlone();
      assert.ok(merged, 'compacted');
      assert.deepEqual(
        merged.find((c) => c.table === 'instances'),
        { table: 'instances', batchesBefore: 2, batchesAfter: 1, rows: 2 },
      );
    } finally {
      writer.close();
      hold.release();
    }
  });
});

describe('a lock entry whose pid another process now has', () => {
  it('counts for nothing when that process started after the entry was written', async () => {
    const dir = join(root, 'reused');
    (await Lake.open(dir)).close();
    // A writer killed with kill -9, whose pid this process got since.
    const entry = `writer-${process.pid}-0badf00d@${hostname()}`;
    writeFileSync(
      join(dir, 'locks', entry),
      `${process.pid} ${hostname()}\nstarted=1\n`,
    );
    (await Lake.open(dir)).close();
    assert.deepEqual(readdirSync(join(dir, 'locks')), []);
  });

  it('still counts when the process is the one that wrote it', async () => {
    const dir = join(root, 'same');
    (await Lake.open(dir)).close();
    const entry = `writer-${process.pid}-0badf00d@${hostname()}`;
    writeFileSync(
      join(dir, 'locks', entry),
      `${process.pid} ${hostname()}\nstarted=${ownStart()}\n`,
    );
    await assert.rejects(Lake.open(dir), { code: 'LAKE_BUSY' });
    rmSync(join(dir, 'locks', entry));
  });
});
