import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { REPO, tempDir } from './helpers';

// `--help` was an unknown option to generate-ct.mjs and a raw stack trace
// from plant-phi.mjs; unknown options likewise.
function run(script: string, args: string[]) {
  const r = spawnSync('node', [join(REPO, 'datasets', script), ...args], {
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/**
 * The options a script's parseArgs call declares, read from its source
 * (each script declares `help` last).
 */
function declaredOptions(script: string): string[] {
  const source = readFileSync(join(REPO, 'datasets', script), 'utf8');
  const call = source.slice(source.indexOf('parseArgs({'));
  const block = call.slice(0, call.indexOf('help:') + 'help:'.length);
  return [...block.matchAll(/(\w+): (?:\{ type|int\()|(help):$/g)].map(
    (m) => (m[1] ?? m[2])!,
  );
}

for (const script of ['generate-ct.mjs', 'plant-phi.mjs']) {
  const name = script.replace('.mjs', '');
  describe(script, () => {
    it('prints a usage naming every option it takes with --help, and writes nothing', () => {
      const work = tempDir(`${name}-help`);
      const out = join(work.path, 'out');
      try {
        const r = run(script, ['--help', '--out', out]);
        assert.equal(r.code, 0, r.stderr);
        assert.equal(r.stderr, '');
        assert.match(r.stdout, new RegExp(`^usage: node datasets/${script}`));
        const options = declaredOptions(script);
        assert.ok(options.includes('out') && options.includes('help'));
        for (const o of options)
          assert.match(r.stdout, new RegExp(`--${o}\\b`), `--${o}`);
        assert.equal(existsSync(out), false);
      } finally {
        work.remove();
      }
    });

    it('takes -h as --help (it said Unknown option)', () => {
      const work = tempDir(`${name}-h`);
      const out = join(work.path, 'out');
      try {
        const long = run(script, ['--help']);
        const short = run(script, ['-h', '--out', out]);
        assert.equal(short.code, 0, short.stderr);
        assert.equal(short.stderr, '');
        assert.equal(short.stdout, long.stdout);
        assert.equal(existsSync(out), false);
      } finally {
        work.remove();
      }
    });

    it('names an unknown option, a missing value and a missing --out in one line, exit 2', () => {
      for (const [args, message] of [
        [['--bogus'], `${name}: Unknown option '--bogus' (see --help)`],
        [
          ['--out'],
          `${name}: Option '--out <value>' argument missing (see --help)`,
        ],
        [[], `${name}: --out DIR is required (see --help)`],
      ] as const) {
        const r = run(script, [...args]);
        assert.equal(r.code, 2, args.join(' '));
        assert.equal(r.stdout, '');
        assert.equal(r.stderr, `${message}\n`);
      }
    });
  });
}
