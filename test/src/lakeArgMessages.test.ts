import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, it } from 'node:test';
import { CT, filesUnder, runCli, tempDir } from './helpers';

// New-user trial: `--lake` naming a regular file was "not writable
// (ENOTDIR)", and a backup given to ingest was "an lpacs lake".

const work = tempDir('lake-args');
after(() => work.remove());
const incoming = join(work.path, 'incoming');
mkdirSync(incoming);
for (const f of filesUnder(CT)
  .filter((x) => x.endsWith('.dcm'))
  .slice(0, 2))
  copyFileSync(f, join(incoming, f.split('/').pop()!));

it('says a --lake that is a file is not a directory', async () => {
  const file = join(work.path, 'notes.txt');
  writeFileSync(file, 'not a lake\n');
  const run = await runCli(['ingest', incoming, '--lake', file]);
  assert.equal(run.code, 1);
  assert.equal(
    run.stderr,
    `lpacs: LAKE_UNWRITABLE: lake directory ${file} is not a directory but a file: give --lake a folder, new or empty\n`,
  );
  const below = join(file, 'lake');
  const under = await runCli(['ingest', incoming, '--lake', below]);
  assert.equal(under.code, 1);
  assert.equal(
    under.stderr,
    `lpacs: LAKE_UNWRITABLE: lake directory ${below} cannot be made: ${file} is a file, not a directory\n`,
  );
});

it('says a backup given to ingest is a backup, and how to restore it', async () => {
  const lake = join(work.path, 'lake');
  assert.equal((await runCli(['ingest', incoming, '--lake', lake])).code, 0);
  const holder = join(work.path, 'holder');
  const backup = join(holder, 'backup');
  const made = await runCli(['backup', backup, '--lake', lake]);
  assert.equal(made.code, 0, made.stderr);
  const other = join(work.path, 'other');
  const run = await runCli(['ingest', backup, '--lake', other]);
  assert.equal(run.code, 1);
  assert.equal(
    run.stderr,
    `lpacs: nothing read: ${backup} is an lpacs backup: lpacs restore ${backup} --lake NEWDIR makes a lake of it (an ingest never reads a lake or a backup)\n`,
  );
  const inside = await runCli([
    ...['ingest', join(backup, 'objects'), '--lake', other],
  ]);
  assert.match(
    inside.stderr,
    /is inside the lpacs backup .*backup: lpacs restore .*backup --lake NEWDIR/,
  );
  const walked = await runCli(['ingest', holder, '--lake', other, '--json']);
  const report = JSON.parse(walked.stdout) as {
    notRead: Array<{ source: string; message: string }>;
  };
  assert.deepEqual(report.notRead, [
    {
      source: backup,
      message: `it is an lpacs backup: lpacs restore ${backup} --lake NEWDIR makes a lake of it`,
    },
  ]);
});
