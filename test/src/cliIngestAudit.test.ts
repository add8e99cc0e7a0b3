import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  writeFileSync,
} from 'node:fs';
import { createServer } from 'node:http';
import type { ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import {
  CT,
  SAMPLE,
  filesUnder,
  parquetRows,
  runCli,
  tempDir,
} from './helpers';

// A CLI ingest and a pull wrote no audit entry, while STOW-RS and DIMSE
// ingests do. Each now leaves one `ingest` entry under the OS user, with
// counts and batch ids and no file name, written when the run ends.

const work = tempDir('cli-audit');
after(() => work.remove());
const USER = 'trial-operator';
const env = { USER };

interface Entry {
  seq: number;
  actor: string;
  action: string;
  outcome: string;
  target?: string;
  detail?: Record<string, string | number>;
}

async function entries(lake: string): Promise<Entry[]> {
  const run = await runCli(['audit', '--lake', lake, '--json']);
  assert.equal(run.code, 0, run.stderr);
  return (JSON.parse(run.stdout) as Entry[]).sort((a, b) => a.seq - b.seq);
}

/** Batch ids of a table, as its folders name them. */
function batchDirs(lake: string): string[] {
  return readdirSync(join(lake, 'tables', 'instances'))
    .filter((n) => n.startsWith('batch='))
    .map((n) => n.slice(6))
    .sort();
}

async function instanceCount(lake: string): Promise<number> {
  const [row] = await parquetRows(
    `SELECT count(*) AS n FROM read_parquet('${lake}/tables/instances/*/*.parquet')`,
  );
  return Number(row!.n);
}

const slices = filesUnder(CT).filter((f) => f.endsWith('.dcm'));

describe('lpacs ingest', () => {
  const lake = join(work.path, 'lake');
  const incoming = join(work.path, 'incoming');

  it('writes one ingest entry with the counts of the run and no file name', async () => {
    mkdirSync(incoming);
    const some = slices.slice(0, 6);
    for (const [i, f] of some.entries())
      copyFileSync(f, join(incoming, `slice-${i}.dcm`));
    writeFileSync(join(incoming, 'notes.txt'), 'a note, not an image\n');
    const run = await runCli(['ingest', incoming, '--lake', lake], env);
    assert.equal(run.code, 0, run.stderr);
    const log = await entries(lake);
    assert.equal(log.length, 1);
    const [e] = log;
    assert.equal(e!.actor, `cli:${USER}`);
    assert.equal(e!.action, 'ingest');
    assert.equal(e!.outcome, 'failed');
    assert.deepEqual(e!.detail, {
      via: 'cli',
      files: some.length + 1,
      ingested: await instanceCount(lake),
      skipped: 0,
      quarantined: 1,
      conflicts: 0,
      batches: batchDirs(lake).join(','),
      error: 'FILES_REFUSED',
    });
    const raw = readFileSync(join(lake, 'audit', 'audit.ndjson'), 'utf8');
    assert.ok(!raw.includes('notes.txt') && !raw.includes('slice-'));
  });

  it('is ok when every file was stored or held already, and verify passes', async () => {
    const again = join(work.path, 'again');
    mkdirSync(again);
    copyFileSync(join(incoming, 'slice-0.dcm'), join(again, 'a.dcm'));
    const run = await runCli(['ingest', again, '--lake', lake], env);
    assert.equal(run.code, 0, run.stderr);
    const last = (await entries(lake)).at(-1)!;
    assert.equal(last.outcome, 'ok');
    assert.deepEqual(last.detail, {
      via: 'cli',
      files: 1,
      ingested: 0,
      skipped: 1,
      quarantined: 0,
      conflicts: 0,
      batches: '',
    });
    const verify = await runCli(['audit', 'verify', '--lake', lake]);
    assert.equal(verify.code, 0, verify.stdout + verify.stderr);
  });

  it('read-only commands write no entry; a run that cannot begin writes none', async () => {
    const before = (await entries(lake)).length;
    for (const args of [
      ['status'],
      ['quarantine', 'list'],
      ['sql', 'SELECT count(*) FROM instances'],
      ['audit'],
    ]) {
      const run = await runCli([...args, '--lake', lake], env);
      assert.equal(run.code, 0, `${args.join(' ')}: ${run.stderr}`);
    }
    const missing = await runCli(
      ['ingest', join(work.path, 'nowhere'), '--lake', lake],
      env,
    );
    assert.equal(missing.code, 1);
    assert.equal((await entries(lake)).length, before);
  });
});

describe('lpacs quarantine retry', () => {
  it('writes an ingest entry via retry, with what became of the retried files', async () => {
    const lake = join(work.path, 'retried');
    // A secondary capture that does not say BurnedInAnnotation NO: refused
    // by a lake made with the default options.
    const sc = join(SAMPLE, 'deflated.dcm');
    const first = await runCli(['ingest', sc, '--lake', lake], env);
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stdout, /ingested\s+0\b[\s\S]*quarantined\s+1\b/);
    const before = existsSync(join(lake, 'tables', 'instances'))
      ? batchDirs(lake)
      : [];
    const init = await runCli(
      ['init', '--lake', lake, '--accept-unmarked', 'secondary-capture'],
      env,
    );
    assert.equal(init.code, 0, init.stderr);
    const retry = await runCli(['quarantine', 'retry', '--lake', lake], env);
    assert.equal(retry.code, 0, retry.stderr);
    const log = await entries(lake);
    assert.equal(log.length, 2, JSON.stringify(log));
    const last = log.at(-1)!;
    assert.equal(last.actor, `cli:${USER}`);
    assert.equal(last.action, 'ingest');
    assert.equal(last.outcome, 'ok');
    assert.deepEqual(last.detail, {
      via: 'retry',
      files: 1,
      ingested: await instanceCount(lake),
      skipped: 0,
      quarantined: 0,
      conflicts: 0,
      batches: batchDirs(lake)
        .filter((b) => !before.includes(b))
        .join(','),
    });
    assert.equal(last.detail!.ingested, 1);
    const verify = await runCli(['audit', 'verify', '--lake', lake]);
    assert.equal(verify.code, 0, verify.stdout + verify.stderr);
  });
});

describe('lpacs pull', () => {
  const A = '1.2.826.0.1.3680043.2.1125.999.1';
  const B = '1.2.826.0.1.3680043.2.1125.999.2';
  const patient = 'MRN-0042';
  const sent = slices.slice(0, 3);
  /** Studies QIDO-RS finds; B's series list answers 500. */
  let studies = [A];
  const json = (res: ServerResponse, body: unknown) => {
    res.writeHead(200, { 'content-type': 'application/dicom+json' });
    res.end(JSON.stringify(body));
  };
  const series = (uid: string) => ({
    '0020000E': { vr: 'UI', Value: [uid] },
    '00080060': { vr: 'CS', Value: ['CT'] },
  });
  const server = createServer((req, res) => {
    const path = new URL(req.url!, 'http://x').pathname;
    if (path === '/dicom-web/studies')
      return json(
        res,
        studies.map((s) => ({ '0020000D': { vr: 'UI', Value: [s] } })),
      );
    if (path === `/dicom-web/studies/${A}/series`)
      return json(res, [series('1.1'), series('1.2')]);
    if (path.endsWith('/series/1.1')) {
      const boundary = 'b0undary';
      const body = Buffer.concat([
        ...sent.flatMap((f) => [
          Buffer.from(
            `--${boundary}\r\nContent-Type: application/dicom\r\n\r\n`,
          ),
          readFileSync(f),
          Buffer.from('\r\n'),
        ]),
        Buffer.from(`--${boundary}--\r\n`),
      ]);
      res.writeHead(200, {
        'content-type': `multipart/related; type="application/dicom"; boundary=${boundary}`,
      });
      return res.end(body);
    }
    // Series 1.2 is not retrieved (quarantined as RETRIEVE_FAILED); B's
    // series list fails the pull.
    res.writeHead(path.endsWith('/series/1.2') ? 404 : 500).end();
  });
  let base = '';

  it('writes an ingest entry via pull, its patient ID only as a keyed digest', async () => {
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/dicom-web`;
    const lake = join(work.path, 'pulled');
    const run = await runCli(
      ['pull', base, '--patient', patient, '--modality', 'ct', '--lake', lake],
      env,
    );
    assert.equal(run.code, 0, run.stderr);
    const [e, more] = await entries(lake);
    assert.equal(more, undefined);
    const key = readFileSync(join(lake, 'keys', 'site.key'), 'utf8').trim();
    const keyed = `hmac:${createHmac('sha256', Buffer.from(key, 'hex'))
      .update(`audit target\0${patient}`)
      .digest('hex')
      .slice(0, 16)}`;
    assert.equal(e!.actor, `cli:${USER}`);
    assert.equal(e!.action, 'ingest');
    assert.equal(e!.outcome, 'failed');
    assert.deepEqual(e!.detail, {
      via: 'pull',
      from: new URL(base).origin,
      patient: keyed,
      modality: 'CT',
      files: sent.length + 1,
      ingested: await instanceCount(lake),
      skipped: 0,
      quarantined: 1,
      conflicts: 0,
      batches: batchDirs(lake).join(','),
      error: 'FILES_REFUSED',
    });
    const raw = readFileSync(join(lake, 'audit', 'audit.ndjson'), 'utf8');
    assert.ok(!raw.includes(patient));
  });

  it('writes it when the pull fails midway, with what was committed before', async () => {
    studies = [A, B];
    const lake = join(work.path, 'pulled-broken');
    try {
      const run = await runCli(['pull', base, '--lake', lake], env);
      assert.equal(run.code, 1, run.stdout);
      const log = await entries(lake);
      assert.equal(log.length, 1);
      const committed = await instanceCount(lake);
      assert.equal(committed, sent.length);
      assert.equal(log[0]!.outcome, 'failed');
      assert.deepEqual(log[0]!.detail, {
        via: 'pull',
        from: new URL(base).origin,
        files: sent.length + 1,
        ingested: committed,
        skipped: 0,
        quarantined: 1,
        conflicts: 0,
        batches: batchDirs(lake).join(','),
        error: 'INGEST_FAILED',
      });
      const verify = await runCli(['audit', 'verify', '--lake', lake]);
      assert.equal(verify.code, 0, verify.stdout + verify.stderr);
    } finally {
      await new Promise((r) => server.close(r));
    }
  });
});
