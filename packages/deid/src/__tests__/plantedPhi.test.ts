import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parseDicom } from '@lpacs/dicom';
import { Deidentifier, SiteKeys } from '../index';
import { ACCEPT_UNMARKED_SC } from './acceptUnmarkedSc';

const PLANT = join(
  __dirname,
  '..',
  '..',
  '..',
  '..',
  'datasets',
  'cache',
  'plant-phi',
);

interface Marker {
  file: string;
  where: string;
  needle: string;
  mustVanish: boolean;
  encoding?: 'utf8' | 'latin1';
}

const { markers } = JSON.parse(
  readFileSync(join(PLANT, 'markers.json'), 'utf8'),
) as { markers: Marker[] };
// The planted files are secondary captures without BurnedInAnnotation.
const deid = new Deidentifier(
  new SiteKeys(Buffer.alloc(32, 3)),
  ACCEPT_UNMARKED_SC,
);

/** The needle's bytes as the file holds them, upper-cased for a case-blind search. */
function bytesOf(m: Marker): string {
  return Buffer.from(m.needle, m.encoding ?? 'latin1')
    .toString('latin1')
    .toUpperCase();
}

describe('PHI planted in every attribute of Table E.1-1 (datasets/plant-phi.mjs, written by dump2dcm)', () => {
  const files = [...new Set(markers.map((m) => m.file))];
  for (const file of files) {
    it(`removes every marker from ${file}.dcm`, () => {
      const input = readFileSync(join(PLANT, `${file}.dcm`));
      const output = deid
        .deidentify(parseDicom(input))
        .bytes.toString('latin1')
        .toUpperCase();
      const mine = markers.filter((m) => m.file === file);
      const planted = input.toString('latin1').toUpperCase();
      for (const m of mine)
        assert.ok(
          planted.includes(bytesOf(m)),
          `${m.where}: ${m.needle} was not planted`,
        );
      const leaked = mine.filter(
        (m) => m.mustVanish && output.includes(bytesOf(m)),
      );
      assert.deepEqual(
        leaked.map((m) => `${m.where}: ${m.needle}`),
        [],
      );
    });
  }

  it('plants enough to mean something: hundreds of attributes, three levels deep', () => {
    assert.ok(
      markers.filter((m) => m.file === 'top' && m.mustVanish).length > 450,
    );
    assert.ok(
      markers.filter((m) => m.file === 'nested' && m.mustVanish).length > 450,
    );
  });
});
