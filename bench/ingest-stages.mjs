#!/usr/bin/env node
// Where one ingest worker's CPU goes per file, stage by stage, on one
// thread with every file already in memory (no I/O, no threads): parse,
// de-identify, SHA-256, parse the stored bytes again, the instances row,
// the attributes rows, and the structured clone of the message a worker
// sends. Usage: node bench/ingest-stages.mjs DIR [FILES] [ROUNDS]
// The last round is printed (the first ones warm V8 up), in microseconds.
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { serialize } from 'node:v8';

const require = createRequire(import.meta.url);
const { parseDicom } = require('../packages/dicom/dist');
const { Deidentifier, SiteKeys } = require('../packages/deid/dist');
const { indexRow } = require('../packages/ingest/dist/indexRow');
const { instanceAttributes } = require('../packages/ingest/dist/attributeRows');

function list(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? list(join(dir, e.name)) : [join(dir, e.name)],
  );
}

const [dir, count = '600', rounds = '3'] = process.argv.slice(2);
if (!dir)
  throw new Error('usage: node bench/ingest-stages.mjs DIR [FILES] [ROUNDS]');
const files = list(dir)
  .filter((f) => f.endsWith('.dcm'))
  .slice(0, Number(count))
  .map((f) => readFileSync(f));
const deid = new Deidentifier(new SiteKeys(randomBytes(32)));
const scratch = Buffer.alloc(1 << 21);
const stages = [
  'parse',
  'deidentify',
  'sha256',
  'parse stored',
  'instances row',
  'attributes rows',
  'message clone',
];
let spent;
for (let round = 0; round < Number(rounds); round++) {
  spent = new Map(stages.map((s) => [s, 0n]));
  for (const bytes of files) {
    let t = process.hrtime.bigint();
    const lap = (stage) => {
      const now = process.hrtime.bigint();
      spent.set(stage, spent.get(stage) + now - t);
      t = now;
    };
    const parsed = parseDicom(bytes);
    lap('parse');
    const out = deid.deidentify(parsed, scratch);
    lap('deidentify');
    const sha256 = createHash('sha256').update(out.bytes).digest('hex');
    lap('sha256');
    const stored = parseDicom(out.bytes);
    lap('parse stored');
    const row = indexRow(stored, {
      objectKey: `objects/${sha256.slice(0, 2)}/${sha256}.dcm`,
      sha256,
      sizeBytes: out.bytes.length,
      ageYears: out.ageYears,
      ingestedAt: new Date(0).toISOString(),
    });
    row.deid_actions = JSON.stringify(out.actions);
    lap('instances row');
    const attributes = instanceAttributes(stored);
    lap('attributes rows');
    serialize([{ id: 0, outcome: { kind: 'ingested', row, attributes } }]);
    lap('message clone');
  }
}
const per = (ns) => Number(ns) / 1000 / files.length;
let total = 0;
console.log(`${files.length} files from ${dir}, microseconds per file:`);
for (const [stage, ns] of spent) {
  total += per(ns);
  console.log(`  ${stage.padEnd(16)} ${per(ns).toFixed(1).padStart(7)}`);
}
console.log(`  ${'total'.padEnd(16)} ${total.toFixed(1).padStart(7)}`);
