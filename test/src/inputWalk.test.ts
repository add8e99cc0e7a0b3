import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdirSync,
  readdirSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  CLI,
  CT,
  filesUnder,
  independentCounts,
  parquetRows,
  runCli,
  tempDir,
} from './helpers';
import type { CliRun } from './helpers';

const work = tempDir('walk');
after(() => work.remove());
/** The CT corpus as a user's folder holds it: patients' folders, no truth.json. */
const folder = join(work.path, 'folder');
const ctFiles = filesUnder(CT).filter((f) => f.endsWith('.dcm'));
const expected = independentCounts(ctFiles);

interface Report {
  filesSeen: number;
  ingested: number;
  skipped: number;
  quarantined: number;
  quarantine: Array<{ source: string; code: string; message: string }>;
  notRead: Array<{ source: string; message: string }>;
}

/** `lpacs ingest ARGS --json` run from `cwd`, as a user in that folder. */
function ingestIn(cwd: string, args: string[]): Promise<CliRun> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, 'ingest', ...args, '--json'], {
      cwd,
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

function report(run: CliRun): Report {
  assert.equal(run.code, 0, run.stderr);
  return JSON.parse(run.stdout) as Report;
}

async function instances(lake: string): Promise<number> {
  const [row] = await parquetRows(
    `SELECT count(*) AS n FROM read_parquet('${lake}/tables/instances/*/*.parquet')`,
  );
  return Number(row?.n);
}

before(() => {
  cpSync(CT, folder, { recursive: true, filter: (f) => !/truth/.test(f) });
});

describe('a lake inside the folder ingested', () => {
  it('`lpacs ingest .` twice beside ./lake ingests the CT files only', async () => {
    const lake = join(folder, 'lake'); // the default --lake
    for (const rerun of [false, true]) {
      const r = report(await ingestIn(folder, ['.']));
      assert.equal(r.filesSeen, ctFiles.length);
      assert.equal(r.ingested, rerun ? 0 : expected.instances);
      assert.equal(r.skipped, rerun ? expected.instances : 0);
      assert.equal(r.quarantined, 0);
      assert.deepEqual(r.notRead, [
        { source: 'lake', message: 'it is the lake this run writes' },
      ]);
    }
    assert.equal(await instances(lake), expected.instances);
    assert.deepEqual(readdirSync(join(lake, 'quarantine')), []);
  });

  it('does not read another lake among the inputs either', async () => {
    const other = join(work.path, 'other-lake');
    const r = report(await ingestIn(work.path, [folder, '--lake', other]));
    assert.equal(r.ingested, expected.instances);
    assert.equal(r.quarantined, 0);
    assert.deepEqual(r.notRead, [
      { source: join(folder, 'lake'), message: 'it is an lpacs lake' },
    ]);
  });

  it('refuses a --lake folder that holds other files, and writes nothing there', async () => {
    const patient = join(folder, 'P0001');
    const before = readdirSync(patient);
    const run = await runCli(['ingest', folder, '--lake', patient]);
    assert.equal(run.code, 1);
    assert.equal(
      run.stderr,
      `lpacs: NOT_A_LAKE: ${patient} is not an lpacs lake and holds ${before.length} other entries; a lake is created only in a new or empty folder (give --lake one)\n`,
    );
    assert.deepEqual(readdirSync(patient), before);
    const init = await runCli(['init', '--lake', patient]);
    assert.equal(init.code, 1);
    assert.match(init.stderr, /NOT_A_LAKE/);
    assert.ok(!existsSync(join(patient, 'tables')));
  });
});

describe('an input inside a lake, below its root', () => {
  /** A lake made by ingesting P0001, and one of its objects. */
  let object = '';
  before(async () => {
    report(
      await ingestIn(work.path, [
        join(folder, 'P0001'),
        '--lake',
        join(work.path, 'src-lake'),
      ]),
    );
    const shard = readdirSync(join(work.path, 'src-lake', 'objects'))[0]!;
    const name = readdirSync(join(work.path, 'src-lake', 'objects', shard))[0]!;
    object = join('src-lake', 'objects', shard, name);
  });

  it("reads none of another lake's objects, and makes no lake", async () => {
    for (const input of ['src-lake/objects', object]) {
      const run = await ingestIn(work.path, [input, '--lake', 'mylake']);
      assert.equal(run.code, 1);
      assert.equal(run.stdout, '');
      assert.equal(
        run.stderr,
        `lpacs: nothing read: ${input} is inside the lpacs lake src-lake (an ingest never reads a lake)\n`,
      );
      assert.ok(!existsSync(join(work.path, 'mylake')));
    }
  });

  it('says once why an input inside a lake is left out, and reads the rest', async () => {
    const p2 = filesUnder(join(folder, 'P0002'));
    const r = report(
      await ingestIn(work.path, [
        'src-lake/objects',
        join(folder, 'P0002'),
        '--lake',
        'lake-mixed',
      ]),
    );
    assert.equal(r.filesSeen, p2.length);
    assert.equal(r.ingested, independentCounts(p2).instances);
    assert.deepEqual(r.notRead, [
      {
        source: 'src-lake/objects',
        message: 'it is inside the lpacs lake src-lake',
      },
    ]);
  });

  it("gives one error for the written lake's own objects, and no report", async () => {
    const run = await runCli([
      'ingest',
      join(work.path, 'src-lake', 'objects'),
      '--lake',
      join(work.path, 'src-lake'),
    ]);
    assert.equal(run.code, 1);
    assert.equal(run.stdout, '');
    assert.equal(
      run.stderr,
      `lpacs: nothing read: ${join(work.path, 'src-lake', 'objects')} is inside the lake this run writes (an ingest never reads a lake)\n`,
    );
  });
});

describe('inputs once passed over in silence', () => {
  it('counts an empty .zip and quarantines it as EMPTY_ARCHIVE', async () => {
    const dir = join(work.path, 'with-empty-zip');
    cpSync(join(folder, 'P0001'), join(dir, 'P0001'), { recursive: true });
    // An archive of no entries is its end record alone (APPNOTE 4.3.16).
    writeFileSync(
      join(dir, 'empty.zip'),
      Buffer.concat([Buffer.from('PK\x05\x06'), Buffer.alloc(18)]),
    );
    const p1 = filesUnder(join(dir, 'P0001')).length;
    const r = report(
      await ingestIn(dir, [dir, '--lake', join(work.path, 'lake-zip')]),
    );
    assert.equal(r.filesSeen, p1 + 1);
    assert.equal(r.ingested, p1);
    assert.deepEqual(r.quarantine, [
      {
        source: join(dir, 'empty.zip'),
        code: 'EMPTY_ARCHIVE',
        message: 'the archive holds no files',
      },
    ]);
  });

  it('counts a broken link in a folder and quarantines it as BROKEN_LINK', async () => {
    const dir = join(work.path, 'with-broken-link');
    cpSync(join(folder, 'P0001'), join(dir, 'P0001'), { recursive: true });
    symlinkSync('/nonexistent', join(dir, 'broken'));
    const p1 = filesUnder(join(dir, 'P0001')).length;
    const lake = join(work.path, 'lake-broken');
    const r = report(await ingestIn(dir, [dir, '--lake', lake]));
    assert.equal(r.filesSeen, p1 + 1);
    assert.equal(r.ingested, p1);
    assert.equal(r.quarantined, 1);
    assert.deepEqual(r.quarantine, [
      {
        source: join(dir, 'broken'),
        code: 'BROKEN_LINK',
        message: 'a symbolic link to nothing that exists (ENOENT)',
      },
    ]);
    // Kept as other unreadable inputs are: its reason, no file.
    const [entry] = readdirSync(join(lake, 'quarantine'));
    assert.deepEqual(readdirSync(join(lake, 'quarantine', entry!)), [
      'reason.json',
    ]);
  });

  it('follows a link to a patient folder, and a link loop only once', async () => {
    const dir = join(work.path, 'with-links');
    mkdirSync(dir);
    symlinkSync(join(folder, 'P0002'), join(dir, 'P2'));
    symlinkSync(dir, join(dir, 'again'));
    const p2 = filesUnder(join(folder, 'P0002'));
    const r = report(
      await ingestIn(dir, [dir, '--lake', join(work.path, 'lake-links')]),
    );
    assert.equal(r.filesSeen, p2.length);
    assert.equal(r.ingested, independentCounts(p2).instances);
    assert.deepEqual(r.notRead, [
      {
        source: join(dir, 'again'),
        message: 'a link to a folder this run reads already',
      },
    ]);
  });
});
