import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { IngestReport } from '@lpacs/ingest';
import { dcmdump, filesUnder, runCli, tempDir } from './helpers';
import { lakeContents, leaksIn, needlesOf } from './phiSearch';

const work = tempDir('pdf');
const input = join(work.path, 'in');
const lake = join(work.path, 'lake');
let report: IngestReport;

/** A one-page-less PDF whose bytes carry a marker in a comment. */
const PDF =
  '%PDF-1.4\n1 0 obj <</Type/Catalog/Pages 2 0 R>> endobj\n' +
  '2 0 obj <</Type/Pages/Kids[]/Count 0>> endobj\n' +
  '% MKPDFBODYSECRET\ntrailer <</Root 1 0 R>>\n%%EOF\n';

before(async () => {
  mkdirSync(input, { recursive: true });
  const pdf = join(work.path, 'doc.pdf');
  writeFileSync(pdf, PDF);
  // dcmtk's pdf2dcm states BurnedInAnnotation YES; a copy says NO.
  for (const name of ['yes', 'no'])
    execFileSync('pdf2dcm', [
      '-q',
      '--patient-name',
      'MKPDFPATIENT^Ann',
      '--patient-id',
      `MKPDFID${name}`,
      pdf,
      join(input, `${name}.dcm`),
    ]);
  execFileSync('dcmodify', [
    '-nb',
    '-m',
    '(0028,0301)=NO',
    join(input, 'no.dcm'),
  ]);
  const run = await runCli(['ingest', input, '--lake', lake, '--json']);
  assert.equal(run.code, 0, run.stderr);
  report = JSON.parse(run.stdout) as IngestReport;
});
after(() => work.remove());

describe('encapsulated PDF through lpacs ingest', () => {
  it('quarantines the PDF whose BurnedInAnnotation is YES and ingests the one that says NO', () => {
    assert.deepEqual(dcmdump(join(input, 'yes.dcm'), ['0028,0301']), {
      '0028,0301': 'YES',
    });
    assert.equal(report.ingested, 1);
    assert.deepEqual(
      report.quarantine.map((q) => [q.source.split('/').pop(), q.code]),
      [['yes.dcm', 'BURNED_IN_ANNOTATION']],
    );
  });

  it('keeps no byte of either PDF in objects, Parquet rows or the report', async () => {
    const needles = needlesOf([
      { what: 'PDF header', text: '%PDF-1.4' },
      { what: 'PDF body', text: 'MKPDFBODYSECRET' },
      { what: 'PDF catalog', text: '<</Type/Catalog' },
      { what: 'patient', text: 'MKPDFPATIENT' },
    ]);
    // The quarantined original (owner-only, kept for review) does hold
    // them, which shows the search finds what it looks for.
    const quarantined = filesUnder(join(lake, 'quarantine')).map((f) =>
      readFileSync(f),
    );
    assert.ok(
      quarantined.some((b) => leaksIn(b, needles).includes('PDF body')),
    );
    const contents = await lakeContents(lake);
    assert.ok(contents.some((c) => c.file.endsWith('.dcm')));
    for (const { file, bytes } of contents)
      assert.deepEqual(leaksIn(bytes, needles), [], file);
    assert.deepEqual(leaksIn(Buffer.from(JSON.stringify(report)), needles), []);
  });
});
