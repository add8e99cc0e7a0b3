import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFileSync, linkSync, mkdirSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { SAMPLE, runCli, tempDir } from './helpers';

// A link inside a tar archive is not followed. It was passed over
// without a word (filesSeen 1, notRead []); it must be named among the
// inputs not read, with why, as a link on disk is.

const work = tempDir('tar-links');
after(() => work.remove());

describe('lpacs ingest of a tar holding links', () => {
  it('names each link entry in notRead and reads the file', async () => {
    const dir = join(work.path, 'files');
    mkdirSync(dir);
    copyFileSync(join(SAMPLE, 'explicit_little.dcm'), join(dir, 'a.dcm'));
    symlinkSync('a.dcm', join(dir, 'sym.dcm'));
    linkSync(join(dir, 'a.dcm'), join(dir, 'hard.dcm'));
    mkdirSync(join(work.path, 'arc'));
    const tar = join(work.path, 'arc', 't.tar');
    // GNU tar stores the symlink as type 2 and the second name of the
    // hard-linked file as type 1; its own listing says which is which.
    execFileSync('tar', [
      '-cf',
      tar,
      '-C',
      dir,
      'a.dcm',
      'hard.dcm',
      'sym.dcm',
    ]);
    const listing = execFileSync('tar', ['-tvf', tar], { encoding: 'utf8' });
    assert.match(listing, /^l.* sym\.dcm -> a\.dcm$/m);
    assert.match(listing, /^h.* hard\.dcm link to a\.dcm$/m);
    assert.match(listing, /^-.* a\.dcm$/m);

    const lake = join(work.path, 'lake');
    const run = await runCli(['ingest', tar, '--lake', lake, '--json']);
    assert.equal(run.code, 0, run.stderr);
    const report = JSON.parse(run.stdout) as {
      filesSeen: number;
      ingested: number;
      notRead: Array<{ source: string; message: string }>;
    };
    assert.equal(report.filesSeen, 1);
    assert.equal(report.ingested, 1);
    const notRead = [...report.notRead].sort((x, y) =>
      x.source.localeCompare(y.source),
    );
    assert.deepEqual(
      notRead.map((n) => n.source),
      [`${tar}!hard.dcm`, `${tar}!sym.dcm`],
    );
    assert.match(
      notRead[0]!.message,
      /^ARCHIVE_LINK: a hard link; links in an archive are not followed/,
    );
    assert.match(
      notRead[1]!.message,
      /^ARCHIVE_LINK: a symbolic link; links in an archive are not followed/,
    );

    // The text report names them too.
    const text = await runCli(['ingest', tar, '--lake', lake]);
    assert.match(
      text.stdout,
      /not read .*t\.tar!sym\.dcm: ARCHIVE_LINK: a symbolic link/,
    );
  });
});
