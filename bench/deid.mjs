// De-identification speed, engine against engine, single-threaded each:
// lpacs's parser + Deidentifier writing every object to a temp folder,
// against gdcmanon (GDCM's PS3.15 basic profile) on the same corpus in the
// same run, page cache warm.
//
// npm run bench:deid -- DIR [--runs 3]
import { spawnSync } from 'node:child_process';
import {
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { makeCertificate } from './certificate.mjs';

const require = createRequire(import.meta.url);
const { parseDicom } = require('../packages/dicom/dist/index.js');
const { Deidentifier, SiteKeys } = require('../packages/deid/dist/index.js');

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { runs: { type: 'string', default: '3' } },
});
const dir = positionals[0];
if (!dir) {
  console.error('usage: npm run bench:deid -- DIR [--runs N]');
  process.exit(2);
}
const runs = Number(values.runs);

function files(d) {
  return readdirSync(d).flatMap((n) => {
    const p = join(d, n);
    return statSync(p).isDirectory() ? files(p) : p.endsWith('.dcm') ? [p] : [];
  });
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const corpus = files(dir);
for (const f of corpus) readFileSync(f); // warm the page cache for both
const root = mkdtempSync(join(tmpdir(), 'lpacs-bench-deid-'));
const deid = new Deidentifier(new SiteKeys(Buffer.alloc(32, 1)));

function lpacsRun() {
  const out = mkdtempSync(join(root, 'lpacs-'));
  const t0 = performance.now();
  let i = 0;
  for (const f of corpus) {
    writeFileSync(
      join(out, `${i++}.dcm`),
      deid.deidentify(parseDicom(readFileSync(f))).bytes,
    );
  }
  const s = (performance.now() - t0) / 1000;
  rmSync(out, { recursive: true, force: true });
  return s;
}

function gdcmRun(cert) {
  const out = mkdtempSync(join(root, 'gdcm-'));
  const t0 = performance.now();
  const r = spawnSync('gdcmanon', [
    '--continue',
    '-r',
    '-e',
    '-i',
    dir,
    '-o',
    out,
    '-c',
    cert,
  ]);
  const s = (performance.now() - t0) / 1000;
  rmSync(out, { recursive: true, force: true });
  if (r.status !== 0)
    throw new Error(`gdcmanon failed: ${r.stderr.toString().slice(0, 200)}`);
  return s;
}

try {
  const hasGdcm = spawnSync('sh', ['-c', 'command -v gdcmanon']).status === 0;
  let cert;
  if (hasGdcm) {
    cert = makeCertificate(root);
  }
  const lp = [];
  const gd = [];
  for (let k = 0; k < runs; k++) {
    lp.push(lpacsRun());
    if (hasGdcm) gd.push(gdcmRun(cert));
  }
  const lpRate = corpus.length / median(lp);
  console.log(
    `corpus ${dir}: ${corpus.length} DICOM files; median of ${runs} run(s), one thread each, cache warm`,
  );
  console.log(
    `lpacs deidentify   ${median(lp).toFixed(2)} s  ${lpRate.toFixed(0)} files/s`,
  );
  if (hasGdcm) {
    const gdRate = corpus.length / median(gd);
    console.log(
      `gdcmanon -e        ${median(gd).toFixed(2)} s  ${gdRate.toFixed(0)} files/s`,
    );
    console.log(
      `files/s ratio lpacs/gdcmanon: ${(lpRate / gdRate).toFixed(2)}`,
    );
  } else
    console.log('gdcmanon not installed (libgdcm-tools): no peer measured');
} finally {
  rmSync(root, { recursive: true, force: true });
}
