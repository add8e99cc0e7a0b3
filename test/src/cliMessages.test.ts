import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import {
  cpSync,
  existsSync,
  readFileSync,
  readdirSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { AuditLog } from '@lpacs/access';
import {
  CLI,
  CT,
  filesUnder,
  independentCounts,
  makeModels,
  parquetRows,
  runCli,
  selfSignedCert,
  tempDir,
} from './helpers';

// New-user cases (trial 5): each message names the option, the file or
// the value at fault, and says what to do; none is a Node stack.
const work = tempDir('messages');
after(() => work.remove());
const lake = join(work.path, 'lake');
const missing = join(work.path, 'no-such-file');
const ctFiles = filesUnder(CT).filter((f) => f.endsWith('.dcm'));

before(async () => {
  const run = await runCli(['ingest', CT, '--lake', lake]);
  assert.equal(run.code, 0, run.stderr);
});

/**
 * Runs lpacs with stdout into a pipe this side closes after the first
 * chunk, as `| head -1` does.
 */
function closedAfterFirstChunk(
  args: string[],
): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args]);
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.stdout.once('data', () => child.stdout.destroy());
    child.on('close', (code) => resolve({ code, stderr }));
  });
}

describe('output into a pipe that closes early (lpacs audit | head -1)', () => {
  it('exits quietly with status 0, no EPIPE stack', async () => {
    const piped = join(work.path, 'piped');
    const init = await runCli(['init', '--lake', piped]);
    assert.equal(init.code, 0, init.stderr);
    const log = new AuditLog(piped);
    for (let i = 0; i < 2500; i++)
      await log.append({
        actor: 'cli:test',
        action: 'token.issue',
        target: `t${i}`,
        outcome: 'ok',
      });
    const args = ['audit', '--limit', '5000', '--lake', piped];
    // More than twice a pipe's 64 KiB buffer: the reader is gone before
    // the writer is done, whatever the timing.
    const whole = await runCli(args);
    assert.equal(whole.code, 0, whole.stderr);
    assert.ok(whole.stdout.length > 2 * 65536, `${whole.stdout.length}`);
    const cut = await closedAfterFirstChunk(args);
    assert.equal(cut.stderr, '');
    assert.equal(cut.code, 0);
  });
});

describe('options that name a bad value', () => {
  it('--port out of range names the flag and the value', async () => {
    const r = await runCli(['serve', '--lake', lake, '--port', '99999']);
    assert.equal(r.code, 1);
    assert.equal(
      r.stderr,
      'lpacs: --port must be 1-65535 (or 0 for any free port), got "99999"\n',
    );
  });

  it('a certificate and key that are not a pair, or swapped, name the file at fault (trial: only OpenSSL codes)', async () => {
    const a = selfSignedCert(work.path);
    const b = selfSignedCert(work.path, 'DNS:other.example');
    const serve = (cert: string, key: string) =>
      runCli(['serve', '--lake', lake, '--tls-cert', cert, '--tls-key', key]);
    for (const [cert, key, message] of [
      [
        a.cert,
        b.key,
        `--tls-key ${b.key} is not the private key of the certificate in --tls-cert ${a.cert} (ERR_OSSL_X509_KEY_VALUES_MISMATCH)`,
      ],
      [
        a.key,
        a.cert,
        `--tls-cert ${a.key} is not a PEM certificate (ERR_OSSL_PEM_NO_START_LINE): it holds a private key; are --tls-cert and --tls-key swapped?`,
      ],
    ] as const) {
      const r = await serve(cert, key);
      assert.equal(r.code, 1);
      assert.equal(r.stderr, `lpacs: ${message}\n`);
    }
  });

  it('a file option that cannot be read names the option and the file, once', async () => {
    const serve = await runCli([
      'serve',
      '--lake',
      lake,
      '--tls-cert',
      missing,
      '--tls-key',
      missing,
    ]);
    assert.equal(serve.code, 1);
    assert.equal(
      serve.stderr,
      `lpacs: --tls-cert: cannot read ${missing} (ENOENT)\n`,
    );
    const init = await runCli([
      'init',
      '--lake',
      join(work.path, 'blanked'),
      '--blanking',
      missing,
    ]);
    assert.equal(init.code, 1);
    assert.equal(
      init.stderr,
      `lpacs: --blanking: cannot read ${missing} (ENOENT)\n`,
    );
  });

  it('tokens create --days 0 names --days and issues nothing', async () => {
    const add = await runCli([
      'users',
      'add',
      'ann',
      '--role',
      'researcher',
      '--lake',
      lake,
    ]);
    assert.equal(add.code, 0, add.stderr);
    const r = await runCli([
      'tokens',
      'create',
      'ann',
      '--days',
      '0',
      '--lake',
      lake,
    ]);
    assert.equal(r.code, 2);
    assert.equal(
      r.stderr,
      'lpacs tokens: --days must be a whole number between 1 and 3650, got "0"\n',
    );
    // Half a day was issued as a token of 0.5 days (found after trial 5).
    const half = await runCli([
      'tokens',
      'create',
      'ann',
      '--days',
      '0.5',
      '--lake',
      lake,
    ]);
    assert.equal(half.code, 2);
    assert.match(half.stderr, /--days must be a whole number .*got "0\.5"/);
    const list = await runCli(['tokens', 'list', 'ann', '--lake', lake]);
    assert.equal(list.stdout, '');
  });

  it('sync --to without a scheme says what is missing', async () => {
    const r = await runCli([
      'sync',
      '--cohort',
      'co_0',
      '--to',
      '127.0.0.1:4107',
      '--token',
      'x',
      '--lake',
      lake,
    ]);
    assert.equal(r.code, 2);
    assert.equal(
      r.stderr.split('\n')[0],
      'lpacs sync: --to needs a URL with http:// or https://, got 127.0.0.1:4107',
    );
  });

  it('says "1 entry", not "1 entries"', async () => {
    const one = join(work.path, 'one-entry');
    await runCli(['init', '--lake', one]);
    await runCli([
      'users',
      'add',
      'bob',
      '--role',
      'researcher',
      '--lake',
      one,
    ]);
    const lines = readFileSync(join(one, 'audit', 'audit.ndjson'), 'utf8')
      .split('\n')
      .filter(Boolean);
    assert.equal(lines.length, 1);
    const r = await runCli(['audit', 'verify', '--lake', one]);
    assert.match(r.stdout, /^audit log intact: 1 entry, head [0-9a-f]{64}\n$/);
  });
});

describe('compact on a lake already compacted', () => {
  it('says each table is one file already, with its real row count', async () => {
    const counts = independentCounts(ctFiles);
    const r = await runCli(['compact', '--lake', lake]);
    assert.equal(r.code, 0, r.stderr);
    for (const table of [
      'patients',
      'studies',
      'series',
      'instances',
    ] as const) {
      const n = counts[table];
      assert.ok(
        r.stdout.includes(
          `${table}: already one file (${n} rows), nothing to do\n`,
        ),
        `${table} ${n}: ${r.stdout}`,
      );
    }
  });
});

describe('retention --before a future date', () => {
  it('warns on the dry run and refuses --apply, erasing nothing', async () => {
    const args = [
      'retention',
      '--before',
      '2999-01-01',
      '--reason',
      'test',
      '--lake',
      lake,
    ];
    const dry = await runCli(args);
    assert.equal(dry.code, 0, dry.stderr);
    assert.equal(
      dry.stderr,
      'warning: --before 2999-01-01 is in the future: this selects everything ingested so far; --apply refuses it\n',
    );
    assert.match(
      dry.stdout,
      new RegExp(`^would erase ${ctFiles.length} instances`),
    );
    const applied = await runCli([...args, '--apply']);
    assert.equal(applied.code, 2);
    assert.match(
      applied.stderr,
      /^lpacs retention: --before 2999-01-01 is in the future: it would erase everything ingested so far; refused\./,
    );
    const [row] = await parquetRows(
      `SELECT count(*) AS n FROM read_parquet('${lake}/tables/instances/*/*.parquet')`,
    );
    assert.equal(Number(row!.n), ctFiles.length);
  });
});

describe('keys rotate to the key in use', () => {
  it('refuses and leaves the data keys as they were', async () => {
    const enc = join(work.path, 'encrypted');
    const kek = join(work.path, 'lake.kek');
    const same = join(work.path, 'same.kek');
    const hex = randomBytes(32).toString('hex');
    writeFileSync(kek, `${hex}\n`);
    // The same key, written another way (base64): equal bytes, other file.
    writeFileSync(same, Buffer.from(hex, 'hex').toString('base64'));
    const init = await runCli([
      'init',
      '--lake',
      enc,
      '--encrypt',
      '--kek-file',
      kek,
    ]);
    assert.equal(init.code, 0, init.stderr);
    const keysFile = join(enc, 'keys', 'data-keys.json');
    const before = readFileSync(keysFile);
    const r = await runCli([
      'keys',
      'rotate',
      '--lake',
      enc,
      '--kek-file',
      kek,
      '--new-kek-file',
      same,
    ]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^lpacs keys: the new KEK is the current one \(/);
    assert.deepEqual(readFileSync(keysFile), before);
  });
});

describe('models and predictions (new-user cases)', () => {
  const models = join(work.path, 'models');
  before(async () => {
    await makeModels(models);
  });

  it('adding the same model again says it is registered already', async () => {
    const dir = join(models, 'ct-brightness');
    const sha = createHash('sha256')
      .update(readFileSync(join(dir, 'model.onnx')))
      .digest('hex');
    const first = await runCli(['models', 'add', dir, '--lake', lake]);
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stdout, /^added ct-brightness 1\.0\.0/);
    const again = await runCli(['models', 'add', dir, '--lake', lake]);
    assert.equal(again.code, 0, again.stderr);
    assert.match(
      again.stdout,
      new RegExp(
        `^already registered as ct-brightness 1\\.0\\.0 \\(sha256 ${sha}, added [0-9T:.-]+Z\\); nothing changed\\n$`,
      ),
    );
  });

  it('a damaged model.onnx is MODEL_INVALID, naming the file', async () => {
    const bad = join(work.path, 'damaged-model');
    cpSync(join(models, 'ct-threshold'), bad, { recursive: true });
    const onnx = join(bad, 'model.onnx');
    writeFileSync(onnx, readFileSync(onnx).subarray(0, 100));
    const r = await runCli(['models', 'add', bad, '--lake', lake]);
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      new RegExp(
        `^lpacs: MODEL_INVALID: ${onnx.replace(/[.]/g, '\\.')} is not a valid ONNX model \\(onnxruntime: [^)]+\\)\\n$`,
      ),
    );
  });

  it('a bad manifest is refused quoting its values, on the command line only', async () => {
    const bad = join(work.path, 'bad-manifest');
    cpSync(join(models, 'ct-threshold'), bad, { recursive: true });
    const file = join(bad, 'manifest.json');
    const manifest = JSON.parse(readFileSync(file, 'utf8')) as object;
    writeFileSync(file, JSON.stringify({ ...manifest, task: 'detection' }));
    const r = await runCli(['models', 'add', bad, '--lake', lake]);
    assert.equal(r.code, 1);
    // The operator's own command: the value is quoted (GraphQL addModel
    // says "got a string of 9 characters", apps/api's ModelResolver test).
    assert.equal(
      r.stderr,
      'lpacs: MANIFEST_INVALID: invalid manifest: task: must be one of classification, regression, segmentation, got "detection"\n',
    );
  });

  it('predict over nothing (a modality or series the lake lacks) is refused, and no job is made', async () => {
    const jobs = () =>
      existsSync(join(lake, 'state', 'jobs'))
        ? readdirSync(join(lake, 'state', 'jobs'))
        : [];
    const before = jobs();
    const byModality = await runCli([
      'predict',
      '--model',
      'ct-brightness',
      '--modality',
      'XX',
      '--lake',
      lake,
    ]);
    assert.equal(byModality.code, 1);
    assert.equal(
      byModality.stderr,
      'lpacs: BAD_SELECTION: no image in the lake with modality XX\n',
    );
    const bySeries = await runCli([
      'predict',
      '--model',
      'ct-brightness',
      '--series',
      '2.25.1',
      '--lake',
      lake,
    ]);
    assert.equal(bySeries.code, 1);
    assert.equal(
      bySeries.stderr,
      'lpacs: BAD_SELECTION: no image of series 2.25.1 in the lake\n',
    );
    assert.deepEqual(jobs(), before);
  });
});

describe('pull with a user and password from an lpacs server', () => {
  let serve: ChildProcessWithoutNullStreams | undefined;
  after(() => serve?.kill());

  it('says lpacs DICOMweb takes a bearer token (--token), not --user', async () => {
    serve = spawn(process.execPath, [
      CLI,
      'serve',
      '--lake',
      lake,
      '--port',
      '0',
    ]);
    const base = await new Promise<string>((resolve, reject) => {
      let out = '';
      serve!.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        const m = /at (http:\/\/127\.0\.0\.1:\d+)\/graphql/.exec(out);
        if (m) resolve(m[1]!);
      });
      serve!.once('exit', (code) => reject(new Error(`serve exited ${code}`)));
    });
    const r = await runCli([
      'pull',
      `${base}/dicomweb`,
      '--user',
      'admin:not-a-token',
      '--lake',
      join(work.path, 'pulled'),
    ]);
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      /answered HTTP 401: the server asks for a bearer token \(WWW-Authenticate: Bearer\), not the user name and password \(--user\) sent; give a token with --token instead/,
    );
    assert.doesNotMatch(r.stderr, /the token is not valid/);
  });
});
