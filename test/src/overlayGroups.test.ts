import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CT, filesUnder, runCli, tempDir } from './helpers';

// Re-trial (privacy): overlay and curve elements in the even groups
// 6020-60FE and 5020-50FE, which the standard does not define (PS3.5 7.6
// allows 6000-601E and 5000-501E), were stored by ingest: the dictionary
// read (6020,0022) as OverlayDescription, the de-identifier's overlay rule
// stopped at 601E. Here pydicom (Debian python3-pydicom) plants them in a
// real corpus CT, at the top level and inside a sequence item; lpacs
// ingests it into fresh lakes; grep and dcmdump (dcmtk) read the lakes.

const PYTHON = '/usr/bin/python3';
const MARK = 'ZQOVLG';
const work = tempDir('overlay-groups');
const incoming = join(work.path, 'incoming');

/** [tag, VR, where]: each value is MARK, its index and a name. */
const PLANTS: Array<[number, string, 'top' | 'item']> = [
  [0x60200022, 'LO', 'top'],
  [0x60fe0022, 'LO', 'top'],
  [0x60fe1500, 'LO', 'top'],
  [0x50200022, 'LO', 'top'],
  [0x50fe0022, 'LO', 'top'],
  [0x50fe2500, 'LO', 'top'],
  [0x60200022, 'LO', 'item'],
  [0x50fe0022, 'LO', 'item'],
];

/** Every dcmdump line of an overlay or curve group (50xx, 60xx), any depth. */
function graphicsLines(file: string): string[] {
  return execFileSync('dcmdump', ['-q', file], { encoding: 'latin1' })
    .split('\n')
    .filter((l) => /^\s*\((50|60)[0-9a-f]{2},/.test(l));
}

before(() => {
  mkdirSync(incoming);
  const source = join(CT, 'P0001', 'ST01', 'SE01', 'CT000001.dcm');
  const script = [
    'import sys',
    'import pydicom',
    'from pydicom.dataset import Dataset',
    'from pydicom.sequence import Sequence',
    'ds = pydicom.dcmread(sys.argv[1])',
    'item = Dataset()',
    "item.ReferencedSOPClassUID = '1.2.840.10008.5.1.4.1.1.2'",
    "item.ReferencedSOPInstanceUID = '1.2.3.4'",
    ...PLANTS.map(
      ([tag, vr, where], i) =>
        `${where === 'top' ? 'ds' : 'item'}.add_new(0x${tag.toString(16)}, '${vr}', '${MARK}${i} ROE^JANE')`,
    ),
    'ds.ReferencedImageSequence = Sequence([item])',
    'ds.save_as(sys.argv[2])',
  ].join('\n');
  execFileSync(PYTHON, ['-c', script, source, join(incoming, 'ct.dcm')]);
});
after(() => work.remove());

describe('overlay and curve groups outside 00-1E at ingest', () => {
  it('are in the planted file as dcmdump reads it', () => {
    const lines = graphicsLines(join(incoming, 'ct.dcm'));
    assert.equal(lines.length, PLANTS.length, lines.join('\n'));
    for (const [i] of PLANTS.entries())
      assert.ok(
        lines.some((l) => l.includes(`[${MARK}${i} ROE^JANE]`)),
        `${i}`,
      );
  });

  for (const [name, options] of [
    ['the default options', []],
    ['Clean Graphics', ['--clean', 'graphics']],
  ] as const) {
    it(`leave nothing of the planted groups in a lake made with ${name}`, async () => {
      const lake = join(work.path, name.replace(/\W+/g, '-'));
      assert.equal(
        (await runCli(['init', '--lake', lake, ...options])).code,
        0,
      );
      const run = await runCli(['ingest', incoming, '--lake', lake, '--json']);
      assert.equal(run.code, 0, run.stderr);
      assert.equal(JSON.parse(run.stdout).ingested, 1);
      const objects = filesUnder(join(lake, 'objects'));
      assert.equal(objects.length, 1);
      assert.deepEqual(graphicsLines(objects[0]!), []);
      // ReferencedImageSequence is kept (its UIDs remapped): the item
      // the two plants were in is there, without them.
      const dump = execFileSync('dcmdump', ['-q', objects[0]!], {
        encoding: 'latin1',
      });
      assert.match(dump, /\(0008,1140\) SQ/);
      for (const f of filesUnder(lake))
        assert.ok(!readFileSync(f).toString('latin1').includes(MARK), f);
    });
  }
});
