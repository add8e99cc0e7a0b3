import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { AuditLog } from '@lpacs/access';
import {
  CLI,
  copySampleAndCt,
  filesUnder,
  parquetRows,
  runCli,
  tempDir,
} from './helpers';

const work = tempDir('orphans');
after(() => work.remove());
const input = join(work.path, 'input');
const lake = join(work.path, 'lake');

function objectFiles(): string[] {
  const dir = join(lake, 'objects');
  return existsSync(dir)
    ? filesUnder(dir).map((f) => f.slice(lake.length + 1))
    : [];
}

function batches(): number {
  const dir = join(lake, 'tables', 'instances');
  return existsSync(dir)
    ? readdirSync(dir).filter((n) => n.startsWith('batch=')).length
    : 0;
}

/**
 * `lpacs ingest` of the whole input in one batch, killed with SIGKILL once
 * its workers have stored `objects` objects: all stored, none committed.
 */
function ingestAndKill(objects: number): Promise<string> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [
      CLI,
      'ingest',
      input,
      '--lake',
      lake,
      '--workers',
      '1',
      '--batch-size',
      '100000',
    ]);
    const timer = setInterval(() => {
      if (objectFiles().length >= objects) child.kill('SIGKILL');
    }, 2);
    child.on('close', (code, signal) => {
      clearInterval(timer);
      resolve(signal ?? `exit ${code}`);
    });
  });
}

async function objectKeys(): Promise<string[]> {
  const rows = await parquetRows(
    `SELECT object_key FROM read_parquet('${lake}/tables/instances/*/*.parquet') ORDER BY 1`,
  );
  return rows.map((r) => String(r.object_key));
}

before(() => copySampleAndCt(input));

describe('objects a killed ingest stored', () => {
  it('are deleted by lpacs compact after a rerun on other input; every object left is named and whole', async () => {
    const how = await ingestAndKill(20);
    assert.equal(how, 'SIGKILL', 'the ingest was killed before it finished');
    assert.equal(batches(), 0, 'killed before its one commit');
    const stored = objectFiles().length;
    assert.ok(stored >= 20, `${stored} objects stored`);

    // Rerun on other input: one patient's folder of the CT corpus.
    const rerun = await runCli(
      ['ingest', join(input, 'ct', 'P0001')].concat(['--lake', lake, '--json']),
    );
    assert.equal(rerun.code, 0, rerun.stderr);
    const keys = await objectKeys();
    const orphans = objectFiles().filter((f) => !keys.includes(f));
    assert.ok(orphans.length > 0, 'the killed run left objects no row names');
    const freed = orphans.reduce((n, f) => n + statSync(join(lake, f)).size, 0);

    const compact = await runCli(['compact', '--lake', lake, '--json']);
    assert.equal(compact.code, 0, compact.stderr);
    const out = JSON.parse(compact.stdout) as {
      objects: { kept: number; removed: number; bytesFreed: number };
    };
    assert.deepEqual(out.objects, {
      kept: keys.length,
      removed: orphans.length,
      bytesFreed: freed,
    });
    const [entry] = new AuditLog(lake).query({ action: 'compact', limit: 1 });
    assert.equal(entry?.detail?.objectsRemoved, orphans.length);

    // Every object file is named by a row, every row's object is there,
    // and each hashes to its name.
    assert.deepEqual(objectFiles().sort(), [...new Set(keys)].sort());
    for (const key of keys) {
      const sha = createHash('sha256')
        .update(readFileSync(join(lake, key)))
        .digest('hex');
      assert.equal(key, `objects/${sha.slice(0, 2)}/${sha}.dcm`);
    }
    // The text report says what was removed.
    const again = await runCli(['compact', '--lake', lake]);
    assert.equal(again.code, 0, again.stderr);
    assert.match(
      again.stdout,
      new RegExp(`^objects: ${keys.length} kept, none unreferenced$`, 'm'),
    );
  });
});
