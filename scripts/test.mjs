// The one test command (`npm test`, also what .ci/run calls): installs the
// Debian tools the tests compare against, puts the sample data in place,
// builds, lints, then runs every compiled test with node's test runner.
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..');

function step(title, command, args, env = {}) {
  process.stdout.write(`\n== ${title}\n`);
  const r = spawnSync(command, args, {
    cwd: root,
    stdio: 'inherit',
    env: { ...process.env, ...env },
  });
  if (r.status !== 0) {
    process.stderr.write(
      `test: "${title}" failed (exit ${r.status ?? r.signal})\n`,
    );
    process.exit(r.status || 1);
  }
}

function testFiles(dir, out = []) {
  let entries;
  try {
    entries = readdirSync(dir);
  } catch {
    return out;
  }
  for (const name of entries) {
    if (name === 'node_modules' || name === '.next') continue;
    const path = join(dir, name);
    if (statSync(path).isDirectory()) testFiles(path, out);
    else if (name.endsWith('.test.js') && path.includes(`${join('dist', '')}`))
      out.push(path);
  }
  return out;
}

step('tools (dcmtk, gdcm, pydicom, chromium)', 'bash', [
  'datasets/install-tools.sh',
]);
step('sample DICOM', 'node', ['datasets/fetch-sample.mjs']);
step('generated CT corpus', 'node', [
  'datasets/generate-ct.mjs',
  '--out',
  'datasets/cache/ct-test',
  '--patients',
  '3',
  '--studies',
  '2',
  '--series',
  '2',
  '--slices',
  '4',
  '--size',
  '64',
]);
step('PHI-planted corpus', 'node', [
  'datasets/plant-phi.mjs',
  '--out',
  'datasets/cache/plant-phi',
]);
step('test models (ONNX)', '/usr/bin/python3', [
  'datasets/make-model.py',
  '--out',
  'datasets/cache/models',
]);
step('build', 'npx', ['turbo', 'run', 'build'], {
  NEXT_TELEMETRY_DISABLED: '1',
});
step('lint', 'npx', ['eslint', '.']);
step('format', 'npx', ['prettier', '--check', '.']);
const only = process.argv.slice(2);
const files = [
  ...['packages', 'apps'].flatMap((d) =>
    readdirSync(join(root, d)).flatMap((p) =>
      testFiles(join(root, d, p, 'dist')),
    ),
  ),
  ...testFiles(join(root, 'test', 'dist')),
].filter((f) => !only.length || only.some((o) => f.includes(o)));
step(`tests (${files.length} files)`, 'node', [
  '--test',
  '--test-concurrency=1',
  // A test file whose process lingers after its tests (seen once in CI
  // after the API tests, not reproduced) must not hold the run.
  '--test-force-exit',
  '--test-timeout=300000',
  '--test-reporter=spec',
  ...files,
]);
