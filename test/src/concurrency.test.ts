import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { CLI, copySampleAndCt, runCli, tempDir } from './helpers';

// Shared case 07: `lpacs status` during an ingest deleted the ingest's
// staging and could leave the lake unusable.
const work = tempDir('concurrency');
after(() => work.remove());

describe('a lake with one writer and readers beside it', () => {
  it('answers status during an ingest without disturbing it', async () => {
    const input = join(work.path, 'input');
    copySampleAndCt(input);
    const lake = join(work.path, 'lake');
    const ingest = spawn(process.execPath, [
      CLI,
      'ingest',
      input,
      '--lake',
      lake,
      '--batch-size',
      '1',
      '--workers',
      '1',
      '--json',
    ]);
    let out = '';
    ingest.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const done = new Promise<number | null>((resolve) =>
      ingest.on('close', resolve),
    );
    let statuses = 0;
    let running = true;
    void done.then(() => (running = false));
    while (running) {
      const status = await runCli(['status', '--lake', lake, '--json']);
      if (status.code === 0) statuses++;
      else assert.match(status.stderr, /no lake at/); // before the ingest created it
    }
    assert.equal(await done, 0);
    assert.ok(statuses > 0, 'status ran while the ingest did');
    const report = JSON.parse(out) as { ingested: number };
    const after = JSON.parse(
      (await runCli(['status', '--lake', lake, '--json'])).stdout,
    ) as { instances: number };
    assert.equal(after.instances, report.ingested);
  });

  it('refuses a second writer, naming the first', async () => {
    const input = join(work.path, 'input');
    const lake = join(work.path, 'lake2');
    const first = spawn(process.execPath, [
      CLI,
      'ingest',
      input,
      '--lake',
      lake,
      '--batch-size',
      '2',
      '--workers',
      '1',
    ]);
    const firstDone = new Promise<number | null>((resolve) =>
      first.on('close', resolve),
    );
    while (!existsSync(join(lake, 'lake.lock')) && first.exitCode === null) {
      await new Promise((r) => setTimeout(r, 5));
    }
    const second = await runCli(['ingest', input, '--lake', lake]);
    const stillRunning = first.exitCode === null;
    assert.equal(await firstDone, 0);
    if (stillRunning) {
      assert.equal(second.code, 1);
      assert.match(
        second.stderr,
        /LAKE_BUSY: lake .* is being written by process \d+/,
      );
    }
  });
});
