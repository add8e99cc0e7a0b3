#!/usr/bin/env node
// What Clean Descriptors changes in text it keeps: de-identifies every
// file of DIR under the research default and counts, per keyword, the
// values of text elements (LO SH ST LT UT UC CS UR, any depth) that the
// table keeps or cleans and keeps (descriptors) whose value differs from
// the input, and prints each distinct change. On a corpus whose
// descriptors and kept text hold no name or ID (datasets/generate-ct.mjs)
// every change is clinical or technical text lost. Usage:
//   node bench/deid-text-changes.mjs DIR [DEID_DIST]
// DEID_DIST: another build of packages/deid (dist), to compare versions.
import { randomBytes } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';

const require = createRequire(import.meta.url);
const [dir, dist = join(import.meta.dirname, '../packages/deid/dist')] =
  process.argv.slice(2);
if (!dir)
  throw new Error('usage: node bench/deid-text-changes.mjs DIR [DEID_DIST]');
const {
  parseDicom,
  findElement,
  readStrings,
  keywordOf,
} = require('../packages/dicom/dist');
const deid = require(resolve(dist));
const { keptCleaned } = require(resolve(dist, 'Deidentifier'));
const TEXT = new Set(['LO', 'SH', 'ST', 'LT', 'UT', 'UC', 'CS', 'UR']);
const table = new deid.ActionTable(deid.RESEARCH_DEFAULT);
const deidentifier = new deid.Deidentifier(new deid.SiteKeys(randomBytes(32)));

function list(d) {
  return readdirSync(d, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? list(join(d, e.name)) : [join(d, e.name)],
  );
}

const charsetsOf = (ds) =>
  readStrings(ds.buffer, findElement(ds.elements, 0x00080005));
const seen = new Map(); // keyword -> [values, changed]
const changes = new Map(); // "keyword: in -> out" -> count

function compare(bufIn, inEls, csIn, bufOut, outEls, csOut) {
  for (const el of inEls) {
    if (el.tag % 0x20000 >= 0x10000) continue; // private
    const out = findElement(outEls, el.tag);
    if (!out) continue;
    if (el.items) {
      el.items.forEach((item, i) => {
        const o = out.items?.[i];
        if (o) compare(bufIn, item.elements, csIn, bufOut, o.elements, csOut);
      });
      continue;
    }
    if (!TEXT.has(el.vr) || el.length === 0) continue;
    const action = table.actionFor(el.tag);
    if (!(action === 'keep' || action === 'K' || keptCleaned(el.tag))) continue;
    const a = readStrings(bufIn, el, csIn).join('\\').trim();
    const b = readStrings(bufOut, out, csOut).join('\\').trim();
    const keyword = keywordOf(el.tag) ?? el.tag.toString(16);
    const s = seen.get(keyword) ?? [0, 0];
    s[0]++;
    if (a !== b) {
      s[1]++;
      const k = `${keyword}: "${a}" -> "${b}"`;
      changes.set(k, (changes.get(k) ?? 0) + 1);
    }
    seen.set(keyword, s);
  }
}

let files = 0;
for (const f of list(dir).filter((f) => f.endsWith('.dcm'))) {
  const input = parseDicom(readFileSync(f));
  const output = parseDicom(deidentifier.deidentify(input).bytes);
  compare(
    input.body.buffer,
    input.body.elements,
    charsetsOf(input.body),
    output.body.buffer,
    output.body.elements,
    charsetsOf(output.body),
  );
  files++;
}
let total = 0;
let changed = 0;
for (const [, [n, c]] of seen) {
  total += n;
  changed += c;
}
console.log(
  `${files} files, ${total} kept text values, ${changed} changed` +
    ` (${seen.size} keywords)`,
);
for (const [k, n] of [...changes].sort((x, y) => y[1] - x[1]))
  console.log(`  ${String(n).padStart(5)}  ${k}`);
