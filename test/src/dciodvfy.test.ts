import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { after, describe, it } from 'node:test';
import { parseDicom } from '@lpacs/dicom';
import { Deidentifier, RESEARCH_DEFAULT, SiteKeys } from '@lpacs/deid';
import { CT, REPO, SAMPLE, filesUnder, tempDir } from './helpers';

const work = tempDir('dciodvfy');
after(() => work.remove());
// deflated.dcm and the planted files are secondary captures without
// BurnedInAnnotation, accepted here so their outputs are validated too.
const deid = new Deidentifier(new SiteKeys(Buffer.alloc(32, 5)), {
  ...RESEARCH_DEFAULT,
  acceptUnmarked: ['secondary-capture'],
});

/**
 * dciodvfy's errors with values blanked (UIDs, dates and names change by
 * design) but element and module names kept, so input and output compare.
 */
function errors(file: string): Set<string> {
  const r = spawnSync('dciodvfy', [file], { encoding: 'latin1' });
  const lines = `${r.stdout}${r.stderr}`
    .split('\n')
    .filter((l) => l.startsWith('Error'));
  return new Set(
    lines.map((l) =>
      l
        .replace(/(?<![=])<[^>]*>/g, '<v>')
        .replace(/"[^"]*"/g, '"v"')
        .replace(/\[\d+\] = <v>/g, '[n] = <v>'),
    ),
  );
}

/** The input dciodvfy can read: deflated files are inflated by dcmtk first. */
function readableInput(file: string): string {
  const errs = errors(file);
  if (![...errs].some((e) => e.includes('read failed'))) return file;
  const copy = join(work.path, `inflated-${basename(file)}`);
  execFileSync('dcmconv', ['+te', file, copy]);
  return copy;
}

const inputs = [
  ...filesUnder(SAMPLE).filter(
    (f) => !f.includes('volume/brain_0') || f.endsWith('brain_001.dcm'),
  ),
  ...filesUnder(CT).filter((f) => f.endsWith('CT000001.dcm')),
  ...filesUnder(join(REPO, 'datasets', 'cache', 'plant-phi')).filter((f) =>
    f.endsWith('.dcm'),
  ),
];

describe('de-identified objects validated by dciodvfy (dicom3tools)', () => {
  for (const input of inputs) {
    it(`adds no error to ${input.slice(REPO.length + 1)}`, () => {
      const out = join(work.path, `out-${basename(input)}`);
      writeFileSync(
        out,
        deid.deidentify(parseDicom(readFileSync(input))).bytes,
      );
      const before = errors(readableInput(input));
      const added = [...errors(out)].filter((e) => !before.has(e));
      assert.deepEqual(added, []);
    });
  }
});
