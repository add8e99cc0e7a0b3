import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import {
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { Catalog } from '@lpacs/lake';
import { IngestSession } from '../IngestSession';
import { expandInputs } from '../sources/expandInputs';

// This file runs from packages/ingest/dist/__tests__.
const REPO = join(__dirname, '..', '..', '..', '..');
const CT = join(
  REPO,
  ...['datasets', 'cache', 'ct-test', 'P0001', 'ST01', 'SE01'],
  'CT000001.dcm',
);
const work = mkdtempSync(join(tmpdir(), 'lpacs-fallback-ingest-'));
after(() => rmSync(work, { recursive: true, force: true }));

describe('an element whose de-identification action fails, through ingest', () => {
  it('ingests the file without the element, and the report and the instance row record it', async () => {
    const input = join(work, 'in');
    mkdirSync(input);
    const file = join(input, 'long-uid.dcm');
    copyFileSync(CT, file);
    // Frame of Reference UID (U) sent as UN with 90,280 bytes of UIDs:
    // more than a UI value holds in Explicit VR (16-bit length), so the
    // remapped value cannot be written. Planted by pydicom.
    execFileSync('/usr/bin/python3', [
      '-c',
      `import sys, pydicom
ds = pydicom.dcmread(sys.argv[1])
v = '\\\\'.join('1.2.826.0.1.3680043.9.7783.%d.%d' % (i, i) for i in range(2500)).encode()
ds.add_new(0x00200052, 'UN', v + b'\\0' * (len(v) % 2))
ds.save_as(sys.argv[1])`,
      file,
    ]);
    const lake = join(work, 'lake');
    const session = await IngestSession.open({ lake, workers: 1 });
    let report;
    try {
      report = await session.run(expandInputs([input]));
    } finally {
      await session.close();
    }
    assert.equal(report.ingested, 1);
    // The report names the profile and the edition of the table: the
    // provenance packages/dicom/standard/README.md gives the source data.
    const readme = readFileSync(
      join(REPO, 'packages', 'dicom', 'standard', 'README.md'),
      'utf8',
    );
    const commit = /commit ([0-9a-f]{7,})/.exec(readme)![1]!;
    assert.equal(
      report.deidentification.profile,
      'PS3.15 E.1-1 Basic Application Confidentiality Profile',
    );
    assert.ok(
      report.deidentification.edition.includes(`commit ${commit}`),
      report.deidentification.edition,
    );
    // and the options in force: the lake's, as lake.json records them.
    assert.deepEqual(
      report.deidentification.options,
      JSON.parse(readFileSync(join(lake, 'lake.json'), 'utf8'))
        .deidentification,
    );
    assert.equal(report.quarantined, 0);
    assert.equal(report.deidentification.fallbacks, 1);
    assert.equal(report.deidentification.actions.fallback, 1);
    assert.deepEqual(report.fallbackElements, [
      { source: file, message: 'could not apply U to (0020,0052): removed' },
    ]);
    const catalog = await Catalog.open(lake, { threads: 1 });
    let row;
    try {
      [row] = await catalog.query(
        'SELECT object_key, deid_actions FROM instances',
      );
    } finally {
      await catalog.close();
    }
    assert.equal(
      (JSON.parse(String(row!.deid_actions)) as Record<string, number>)
        .fallback,
      1,
    );
    // dcmdump reads the stored object, and it has no (0020,0052).
    const dump = execFileSync(
      'dcmdump',
      ['-q', join(lake, String(row!.object_key))],
      { encoding: 'latin1' },
    );
    assert.match(dump, /\(0008,0018\) UI \[2\.25\./);
    assert.doesNotMatch(dump, /\(0020,0052\)/);
  });
});
