import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { CLI, copySampleAndCt, parquetRows, runCli, tempDir } from './helpers';

// Shared case 07: `lpacs status` during an ingest deleted the ingest's
// staging and could leave the lake unusable.
const work = tempDir('concurrency');
after(() => work.remove());

describe('a lake with writers and readers beside them', () => {
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

  it('refuses to compact while an ingest runs, naming it, and loses no row', async () => {
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
      '--json',
    ]);
    let out = '';
    first.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const firstDone = new Promise<number | null>((resolve) =>
      first.on('close', resolve),
    );
    const writing = () =>
      existsSync(join(lake, 'locks')) &&
      readdirSync(join(lake, 'locks')).some((n) =>
        n.startsWith(`writer-${first.pid}-`),
      );
    while (!writing() && first.exitCode === null)
      await new Promise((r) => setTimeout(r, 5));
    let refused = 0;
    while (first.exitCode === null) {
      const compact = await runCli(['compact', '--lake', lake]);
      if (compact.code === 0) continue; // the ingest had closed the lake
      assert.equal(compact.code, 1, compact.stderr);
      assert.match(
        compact.stderr,
        new RegExp(
          `LAKE_BUSY: lake .* is being written by lpacs ingest \\(process ${first.pid}\\); wait for it to finish`,
        ),
      );
      refused++;
    }
    assert.equal(await firstDone, 0);
    assert.ok(refused > 0, 'compact was tried while the ingest ran');
    const report = JSON.parse(out) as { ingested: number };
    const compact = await runCli(['compact', '--lake', lake]);
    assert.equal(compact.code, 0, compact.stderr);
    const rows = await parquetRows(
      `SELECT count(*)::INTEGER AS n, count(DISTINCT "SOPInstanceUID")::INTEGER AS u FROM read_parquet('${lake}/tables/instances/*/*.parquet')`,
    );
    assert.deepEqual(rows, [{ n: report.ingested, u: report.ingested }]);
  });
});
