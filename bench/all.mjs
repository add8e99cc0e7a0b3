// `npm run bench`: the benchmarks whose targets the issues set, one after
// another, each printing its ratio against a peer measured in the same
// run (README "Performance", docs/benchmarks.md). Puts the generated CT
// corpus in place first (2000 files of 403 KB, as the README's figures),
// and the Debian peers (gdcmanon, Orthanc, dcmtk) with
// datasets/install-tools.sh.
//
// Usage: node bench/all.mjs [--quick] [--only ingest,orthanc,...]
//   --quick: one run each instead of three.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    only: { type: 'string' },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
const corpus = join(root, 'datasets', 'cache', 'bench-ct');
const runs = values.quick ? '1' : '3';

/** name, what it measures against, its command. */
const BENCHES = [
  [
    'ingest',
    'gdcmanon and cp -r (#2, #4)',
    [
      'bench/ingest.mjs',
      corpus,
      '--runs',
      runs,
      '--tools',
      'lpacs,gdcmanon,gdcmanon+sync,cp',
    ],
  ],
  [
    'orthanc',
    "Orthanc's REST ingest (#4)",
    ['bench/orthanc.mjs', corpus, '--runs', runs],
  ],
  [
    'dimse',
    'C-STORE through lpacs serve: files/s, batches',
    ['bench/dimse.mjs', join(corpus, 'P0001'), '--runs', runs],
  ],
  [
    'deid',
    'gdcmanon, de-identification alone (#3)',
    ['bench/deid.mjs', corpus, '--runs', runs],
  ],
  ['api', 'cohort queries against DuckDB directly (#5)', ['bench/api.mjs']],
  ['ml', 'a model job against the bare inference loop (#6)', ['bench/ml.mjs']],
];

if (values.help) {
  process.stdout.write(
    `usage: node bench/all.mjs [--quick] [--only ${BENCHES.map((b) => b[0]).join(',')}]\n` +
      BENCHES.map(([n, what]) => `  ${n.padEnd(8)} ${what}\n`).join(''),
  );
  process.exit(0);
}
const only = values.only?.split(',');
const unknown = only?.filter((n) => !BENCHES.some((b) => b[0] === n));
if (unknown?.length) {
  process.stderr.write(`bench: no benchmark named ${unknown.join(', ')}\n`);
  process.exit(2);
}

function run(command, args) {
  const r = spawnSync(command, args, { cwd: root, stdio: 'inherit' });
  return r.status ?? 1;
}

if (run('bash', ['datasets/install-tools.sh']) !== 0) process.exit(1);
if (!existsSync(join(corpus, 'P0010'))) {
  const made = run(process.execPath, [
    'datasets/generate-ct.mjs',
    ...['--out', corpus, '--patients', '10', '--studies', '2'],
    ...['--series', '4', '--slices', '25'],
  ]);
  if (made !== 0) process.exit(1);
}
const failed = [];
for (const [name, what, args] of BENCHES) {
  if (only && !only.includes(name)) continue;
  process.stdout.write(`\n== bench ${name}: ${what}\n`);
  if (run(process.execPath, args) !== 0) failed.push(name);
}
if (failed.length) {
  process.stderr.write(`bench: failed: ${failed.join(', ')}\n`);
  process.exit(1);
}
