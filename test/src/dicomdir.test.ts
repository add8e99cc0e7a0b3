import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import {
  copyFileSync,
  cpSync,
  mkdirSync,
  readdirSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
  readFileSync,
} from 'node:fs';
import { join, relative, sep } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  CT,
  SAMPLE,
  filesUnder,
  independentCounts,
  runCli,
  tempDir,
} from './helpers';

interface Report {
  filesSeen: number;
  ingested: number;
  skipped: number;
  quarantine: Array<{ source: string; code: string; message: string }>;
}

const work = tempDir('dicomdir');
after(() => work.remove());
/** A disc as dcmmkdir writes it: DICOMDIR and 8-character upper-case IDs. */
const media = join(work.path, 'media');
/** Referenced File IDs (0004,1500) of the DICOMDIR, as dcmdump reads them. */
let referenced: string[];

function copyMedia(name: string): string {
  const to = join(work.path, name);
  cpSync(media, to, { recursive: true });
  return to;
}

async function ingest(lake: string, inputs: string[]): Promise<Report> {
  const run = await runCli([
    'ingest',
    ...inputs,
    '--lake',
    join(work.path, 'lakes', lake),
    '--json',
  ]);
  assert.equal(run.code, 0, run.stderr);
  return JSON.parse(run.stdout) as Report;
}

async function status(lake: string): Promise<Record<string, unknown>> {
  const run = await runCli([
    'status',
    '--lake',
    join(work.path, 'lakes', lake),
    '--json',
  ]);
  assert.equal(run.code, 0, run.stderr);
  // What the lake holds; the audit log's head is not about that.
  const {
    lake: _path,
    bytes: _bytes,
    auditHead: _head,
    ...counts
  } = JSON.parse(run.stdout) as Record<string, unknown>;
  return counts;
}

/** Renames every file and folder below `dir` to lower case. */
function lowerCase(dir: string): void {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) lowerCase(path);
    renameSync(path, join(dir, name.toLowerCase()));
  }
}

describe('lpacs ingest of DICOMDIR-indexed media', () => {
  before(() => {
    for (const file of filesUnder(CT).filter((f) => f.endsWith('.dcm'))) {
      const id = relative(CT, file)
        .replace(/\.dcm$/, '')
        .split(sep);
      assert.ok(
        id.every((c) => /^[A-Z0-9_]{1,8}$/.test(c)),
        id.join('/'),
      );
      mkdirSync(join(media, ...id.slice(0, -1)), { recursive: true });
      copyFileSync(file, join(media, ...id));
    }
    execFileSync('dcmmkdir', ['--recurse'], { cwd: media, stdio: 'ignore' });
    referenced = execFileSync(
      'dcmdump',
      ['-q', '+P', '0004,1500', join(media, 'DICOMDIR')],
      { encoding: 'latin1' },
    )
      .split('\n')
      .map((line) => /\(0004,1500\) CS \[([^\]]*)\]/.exec(line)?.[1])
      .filter((id): id is string => id !== undefined);
    assert.ok(referenced.length > 0);
  });

  it('ingests every file the DICOMDIR references, and does not quarantine the DICOMDIR', async () => {
    const report = await ingest('folder', [media]);
    assert.deepEqual(report.quarantine, []);
    assert.equal(report.ingested, referenced.length);
    assert.equal(report.filesSeen, referenced.length);
    const files = referenced.map((id) => join(media, ...id.split('\\')));
    assert.deepEqual(await status('folder'), {
      ...independentCounts(files),
      batches: 1,
      quarantined: [],
    });
  });

  it('gives the same lake from the DICOMDIR file as from its folder', async () => {
    const report = await ingest('file', [join(media, 'DICOMDIR')]);
    assert.deepEqual(report.quarantine, []);
    assert.equal(report.ingested, referenced.length);
    assert.deepEqual(await status('file'), await status('folder'));
    // Into the folder's lake, every instance is one it already holds.
    const again = await ingest('folder', [join(media, 'DICOMDIR')]);
    assert.deepEqual([again.ingested, again.skipped], [0, referenced.length]);
  });

  it('quarantines a referenced file missing from the media with MISSING_FILE and ingests the rest', async () => {
    const copy = copyMedia('missing');
    const gone = referenced[1]!;
    rmSync(join(copy, ...gone.split('\\')));
    const report = await ingest('missing', [copy]);
    assert.deepEqual(
      report.quarantine.map((q) => [q.source, q.code]),
      [[join(copy, ...gone.split('\\')), 'MISSING_FILE']],
    );
    assert.ok(report.quarantine[0]!.message.includes(gone));
    assert.equal(report.ingested, referenced.length - 1);
  });

  it('resolves file IDs against lower-case names on disk', async () => {
    const copy = copyMedia('lower');
    lowerCase(copy);
    const report = await ingest('lower', [copy]);
    assert.deepEqual(report.quarantine, []);
    assert.equal(report.ingested, referenced.length);
    const byFile = await ingest('lower-file', [join(copy, 'dicomdir')]);
    assert.equal(byFile.ingested, referenced.length);
  });

  it('ingests a file the DICOMDIR does not reference once, and reads nothing twice', async () => {
    const copy = copyMedia('extra');
    mkdirSync(join(copy, 'EXTRA'));
    copyFileSync(join(SAMPLE, 'rle.dcm'), join(copy, 'EXTRA', 'IM1'));
    const report = await ingest('extra', [copy, join(copy, 'DICOMDIR')]);
    assert.deepEqual(report.quarantine, []);
    assert.equal(report.filesSeen, referenced.length + 1);
    assert.equal(report.ingested, referenced.length + 1);
  });

  it('quarantines a DICOMDIR that cannot be parsed, with its reason, and walks the folder', async () => {
    const copy = copyMedia('damaged');
    const dicomdir = join(copy, 'DICOMDIR');
    const bytes = readFileSync(dicomdir);
    writeFileSync(dicomdir, bytes.subarray(0, bytes.length - 100));
    const report = await ingest('damaged', [copy]);
    assert.deepEqual(
      report.quarantine.map((q) => [q.source, q.code]),
      [[dicomdir, 'BAD_DICOMDIR']],
    );
    assert.match(report.quarantine[0]!.message, /file ends inside/);
    assert.equal(report.ingested, referenced.length);
  });
  it('reads media inside a .zip and a .tar.gz: the DICOMDIR is an index, a file it names that the archive lacks is MISSING_FILE', async () => {
    const copy = copyMedia('archived');
    const gone = referenced[2]!;
    rmSync(join(copy, ...gone.split('\\')));
    const zip = join(work.path, 'media.zip');
    const tgz = join(work.path, 'media.tar.gz');
    execFileSync('zip', ['-q', '-r', zip, '.'], { cwd: copy });
    execFileSync('tar', ['-czf', tgz, '.'], { cwd: copy });
    for (const [name, archive] of [
      ['zip', zip],
      ['tgz', tgz],
    ] as const) {
      const report = await ingest(name, [archive]);
      // The DICOMDIR is neither ingested nor quarantined; the one file it
      // references that is not in the archive is reported by its file ID.
      assert.deepEqual(
        report.quarantine.map((q) => q.code),
        ['MISSING_FILE'],
        name,
      );
      assert.equal(
        report.quarantine[0]!.source.toUpperCase(),
        `${archive}!${gone.split('\\').join('/')}`.toUpperCase(),
      );
      assert.equal(report.ingested, referenced.length - 1, name);
      const present = referenced
        .filter((id) => id !== gone)
        .map((id) => join(media, ...id.split('\\')));
      const { quarantined, batches: _b, ...counts } = await status(name);
      assert.deepEqual(counts, independentCounts(present));
      assert.equal((quarantined as unknown[]).length, 1);
    }
  });

  it("reads pydicom's DICOMDIR-nooffset (an item length left stale) as the index it is, named DICOMDIR or not", async () => {
    // Debian python3-pydicom's test media; dcmdump reads this DICOMDIR
    // whole, and its records name every file of the three patient folders.
    const tests =
      '/usr/lib/python3/dist-packages/pydicom/data/test_files/dicomdirtests';
    const copy = join(work.path, 'nooffset');
    for (const patient of ['77654033', '98892001', '98892003'])
      cpSync(join(tests, patient), join(copy, patient), { recursive: true });
    copyFileSync(join(tests, 'DICOMDIR-nooffset'), join(copy, 'DICOMDIR'));
    const ids = execFileSync(
      'dcmdump',
      ['-q', '+P', '0004,1500', join(copy, 'DICOMDIR')],
      { encoding: 'latin1' },
    )
      .split('\n')
      .flatMap((line) => /\[([^\]]*)\]/.exec(line)?.[1] ?? []);
    const files = filesUnder(copy).filter((f) => !f.endsWith('DICOMDIR'));
    assert.equal(ids.length, files.length);
    const report = await ingest('nooffset', [copy]);
    assert.deepEqual(report.quarantine, []);
    assert.equal(report.ingested, ids.length);
    // Under another name it is still a media index, not a damaged instance.
    const alone = join(work.path, 'DICOMDIR-nooffset');
    copyFileSync(join(tests, 'DICOMDIR-nooffset'), alone);
    const named = await ingest('nooffset-alone', [alone]);
    assert.deepEqual(
      named.quarantine.map((q) => [q.source, q.code]),
      [[alone, 'DICOMDIR']],
    );
  });
});
