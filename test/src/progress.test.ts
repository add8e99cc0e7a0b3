import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import {
  mkdirSync,
  readFileSync,
  readdirSync,
  realpathSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { CLI, CT, filesUnder, runCli, tempDir } from './helpers';

const work = tempDir('progress');
const lake = join(work.path, 'lake');
after(() => work.remove());

/** A shell word. */
function quoted(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/**
 * `lpacs` on a pseudo-terminal (util-linux `script`), as a user at a
 * terminal runs it: what the terminal showed, stdout and stderr together.
 */
async function onTerminal(args: string[]): Promise<string> {
  const command = [process.execPath, CLI, ...args].map(quoted).join(' ');
  const { stdout } = await promisify(execFile)(
    'script',
    ['-qec', command, '/dev/null'],
    { maxBuffer: 1 << 24 },
  );
  return stdout;
}

/** The batch files of the lake's tables, as a backup lists them. */
function tableFiles(): number {
  const tables = join(lake, 'tables');
  return readdirSync(tables)
    .filter((t) => !t.startsWith('.'))
    .flatMap((t) => filesUnder(realpathSync(join(tables, t))))
    .filter((f) => !f.endsWith('.lock') && !/\/\.tmp-/.test(f)).length;
}

before(async () => {
  const input = join(work.path, 'input');
  mkdirSync(input);
  for (const [i, f] of filesUnder(CT)
    .filter((f) => f.endsWith('.dcm'))
    .slice(0, 3)
    .entries())
    writeFileSync(join(input, `${i}.dcm`), readFileSync(f));
  const r = await runCli(['ingest', input, '--lake', lake]);
  assert.equal(r.code, 0, r.stderr);
});

describe('progress of backup, restore and compact', () => {
  it('shows backup progress on a terminal, counting the files of each step', async () => {
    const shown = await onTerminal([
      'backup',
      join(work.path, 'b1'),
      '--lake',
      lake,
    ]);
    const m = /\r {2}backup tables (\d+)\/(\d+) files \d+%/.exec(shown);
    assert.ok(m, JSON.stringify(shown));
    assert.equal(Number(m[2]), tableFiles());
    // The line is cleared before the report.
    assert.match(shown, /\r\x1b\[K.*snapshot \d+T\d+Z in /s);
  });

  it('shows restore progress on a terminal, of the snapshot files', async () => {
    const backup = join(work.path, 'b1');
    const [manifest] = readdirSync(join(backup, 'snapshots')).filter((n) =>
      n.endsWith('.json'),
    );
    const files = (
      JSON.parse(
        readFileSync(join(backup, 'snapshots', manifest!), 'utf8'),
      ) as { files: unknown[] }
    ).files.length;
    const shown = await onTerminal([
      ...['restore', backup, '--lake', join(work.path, 'restored')],
    ]);
    const m = /\r {2}restore (\d+)\/(\d+) files/.exec(shown);
    assert.ok(m, JSON.stringify(shown));
    assert.equal(Number(m[2]), files);
    assert.match(shown, /restored snapshot/);
  });

  it('shows the step compact is at on a terminal', async () => {
    const shown = await onTerminal(['compact', '--lake', lake]);
    assert.match(shown, /\r {2}compact: merging each table's batches {2}\d+ s/);
    assert.match(shown, /instances: /);
  });

  it('shows nothing extra without a terminal, or with --json on one', async () => {
    for (const args of [
      ['backup', join(work.path, 'b2'), '--lake', lake],
      ['restore', join(work.path, 'b2'), '--lake', join(work.path, 'r2')],
      ['compact', '--lake', lake],
    ]) {
      const r = await runCli(args);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stderr, '', args[0]);
      assert.doesNotMatch(r.stdout, /\r/);
    }
    for (const args of [
      ['backup', join(work.path, 'b3'), '--lake', lake, '--json'],
      [
        'restore',
        join(work.path, 'b3'),
        '--lake',
        join(work.path, 'r3'),
        '--json',
      ],
      ['compact', '--lake', lake, '--json'],
    ]) {
      const shown = await onTerminal(args);
      assert.doesNotMatch(shown, /\r {2}(backup|restore|compact)/, args[0]);
      assert.ok(JSON.parse(shown.replace(/\r\n/g, '\n')), args[0]);
    }
  });
});
