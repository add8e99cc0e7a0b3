import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CLI, parquetRows, runCli, tempDir, copySampleAndCt } from './helpers';

const work = tempDir('crash');
const input = join(work.path, 'input');
const reference = join(work.path, 'reference');

function batches(lake: string): number {
  const dir = join(lake, 'tables', 'instances');
  return existsSync(dir) ? readdirSync(dir).length : 0;
}

/** Starts an ingest and kills it with SIGKILL once `ready` says so (or after `ms`). */
function ingestAndKill(
  lake: string,
  ready: () => boolean,
  ms: number,
): Promise<string> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [
      CLI,
      'ingest',
      input,
      '--lake',
      lake,
      '--batch-size',
      '5',
      '--workers',
      '1',
      '--json',
    ]);
    const started = Date.now();
    const timer = setInterval(() => {
      if (ready() || Date.now() - started > ms) child.kill('SIGKILL');
    }, 5);
    child.on('close', (code, signal) => {
      clearInterval(timer);
      resolve(signal ?? `exit ${code}`);
    });
  });
}

async function instances(lake: string) {
  return parquetRows(
    `SELECT "SOPInstanceUID" AS uid, sha256, object_key FROM read_parquet('${lake}/tables/instances/*/*.parquet') ORDER BY 1`,
  );
}

before(async () => {
  copySampleAndCt(input);
  const run = await runCli([
    'ingest',
    input,
    '--lake',
    reference,
    '--batch-size',
    '5',
    '--json',
  ]);
  assert.equal(run.code, 0, run.stderr);
});
after(() => work.remove());

describe('kill -9 during ingest', () => {
  for (const [name, killAt] of [
    [
      'after the first batch is committed',
      (lake: string) => () => batches(lake) >= 1,
    ],
    ['a few milliseconds in', () => () => false],
    ['midway', (lake: string) => () => batches(lake) >= 6],
  ] as const) {
    it(`loses and duplicates nothing when killed ${name}, then rerun`, async () => {
      const lake = join(work.path, name.replace(/\W+/g, '-'));
      mkdirSync(join(lake, 'keys'), { recursive: true });
      copyFileSync(
        join(reference, 'keys', 'site.key'),
        join(lake, 'keys', 'site.key'),
      );
      const how = await ingestAndKill(
        lake,
        killAt(lake),
        name.startsWith('a few') ? 150 : 20_000,
      );
      assert.equal(how, 'SIGKILL', 'the ingest was killed before it finished');
      const partial = await instances(lake).catch(() => []);
      const run = await runCli(['ingest', input, '--lake', lake, '--json']);
      assert.equal(run.code, 0, run.stderr);
      const report = JSON.parse(run.stdout) as {
        ingested: number;
        skipped: number;
      };
      const rows = await instances(lake);
      const expected = await instances(reference);
      assert.deepEqual(rows, expected, 'same rows as an uninterrupted run');
      assert.equal(
        new Set(rows.map((r) => r.uid)).size,
        rows.length,
        'no duplicates',
      );
      assert.equal(report.ingested, expected.length - partial.length);
      for (const r of rows)
        assert.ok(existsSync(join(lake, String(r.object_key))));
      assert.deepEqual(readdirSync(join(lake, 'staging')), []);
      assert.deepEqual(readdirSync(join(lake, 'journal')), []);
    });
  }
});
