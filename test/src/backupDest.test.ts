import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CLI, CT, filesUnder, tempDir } from './helpers';
import type { CliRun } from './helpers';

const work = tempDir('backup-dest');
const lake = join(work.path, 'lake');
after(() => work.remove());

/**
 * `lpacs` in its own process, killed after `ms`: a command that spins
 * (Node's recursive mkdir on /proc) ends as a timeout, not a hung test.
 */
function runWithin(
  args: string[],
  ms = 20_000,
): Promise<CliRun & { timedOut: boolean }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args]);
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, ms);
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, timedOut });
    });
  });
}

before(async () => {
  const slices = filesUnder(CT).filter((f) => f.endsWith('.dcm'));
  const input = join(work.path, 'input');
  mkdirSync(input);
  for (const [i, f] of slices.slice(0, 3).entries())
    writeFileSync(join(input, `${i}.dcm`), readFileSync(f));
  const r = await runWithin(['ingest', input, '--lake', lake], 120_000);
  assert.equal(r.code, 0, r.stderr);
});

describe('backup and restore destinations', () => {
  it('refuses a backup into /proc at once, naming the folder in the way', async () => {
    assert.ok(existsSync('/proc/self'), 'a /proc to try');
    const dest = `/proc/lpacs-no-such-${process.pid}`;
    const r = await runWithin(['backup', dest, '--lake', lake]);
    assert.equal(r.timedOut, false, 'lpacs backup spun instead of failing');
    assert.equal(r.code, 1);
    assert.ok(r.stderr.includes(dest), r.stderr);
    assert.ok(r.stderr.includes('in /proc'), r.stderr);
  });

  it('refuses a restore into /proc at once', async () => {
    const backup = join(work.path, 'good');
    const b = await runWithin(['backup', backup, '--lake', lake]);
    assert.equal(b.code, 0, b.stderr);
    const into = `/proc/lpacs-no-such-${process.pid}`;
    const r = await runWithin(['restore', backup, '--lake', into]);
    assert.equal(r.timedOut, false, 'lpacs restore spun instead of failing');
    assert.equal(r.code, 1);
    assert.ok(r.stderr.includes(into), r.stderr);
  });

  it('refuses a folder of unrelated files and writes nothing into it', async () => {
    const folder = join(work.path, 'papers');
    mkdirSync(folder);
    writeFileSync(join(folder, 'notes.txt'), 'mine\n');
    const r = await runWithin(['backup', folder, '--lake', lake]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /not an lpacs backup/);
    assert.deepEqual(readdirSync(folder), ['notes.txt']);
  });

  it('refuses a file as the destination', async () => {
    const file = join(work.path, 'a-file');
    writeFileSync(file, 'x');
    const r = await runWithin(['backup', file, '--lake', lake]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /is not a directory/);
  });

  it('backs up into a new nested folder, an empty one and its own earlier backup', async () => {
    const nested = join(work.path, 'new', 'deeper', 'backup');
    const empty = join(work.path, 'empty');
    mkdirSync(empty);
    for (const dest of [nested, empty, nested]) {
      const r = await runWithin(['backup', dest, '--lake', lake, '--json']);
      assert.equal(r.code, 0, r.stderr);
      const snapshot = (JSON.parse(r.stdout) as { snapshot: string }).snapshot;
      assert.ok(existsSync(join(dest, 'snapshots', `${snapshot}.json`)));
    }
    const manifests = readdirSync(join(nested, 'snapshots')).filter((n) =>
      n.endsWith('.json'),
    );
    assert.equal(manifests.length, 2);
  });
});
