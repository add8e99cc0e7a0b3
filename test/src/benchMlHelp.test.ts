import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { REPO } from './helpers';

// `node bench/ml.mjs --help` was a raw ERR_PARSE_ARGS_UNKNOWN_OPTION stack
// trace, so the bench's options could only be read in its source.
const SCRIPT = join(REPO, 'bench', 'ml.mjs');
const run = (args: string[]) =>
  spawnSync('node', [SCRIPT, ...args], { encoding: 'utf8', timeout: 60_000 });

describe('bench/ml.mjs', () => {
  it('prints a usage naming every option its parseArgs declares with --help or -h', () => {
    const long = run(['--help']);
    assert.equal(long.status, 0, long.stderr);
    assert.equal(long.stderr, '');
    assert.match(long.stdout, /^usage: node bench\/ml\.mjs/);
    // The options block of its parseArgs call, read from the source.
    const source = readFileSync(SCRIPT, 'utf8');
    const block = source.slice(source.indexOf('options: {'));
    const declared = [
      ...block
        .slice(0, block.indexOf('\n  },'))
        .matchAll(/^\s+(\w+): \{ type/gm),
    ].map((m) => m[1]!);
    assert.ok(declared.includes('model') && declared.includes('help'));
    for (const o of declared)
      assert.match(long.stdout, new RegExp(`--${o}\\b`), `--${o}`);
    const short = run(['-h']);
    assert.equal(short.status, 0);
    assert.equal(short.stdout, long.stdout);
  });

  it('names an unknown option and exits 2, with no stack trace', () => {
    const r = run(['--bogus']);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /^bench\/ml\.mjs: Unknown option '--bogus'/);
    assert.doesNotMatch(r.stderr, /\n\s+at /);
  });
});
