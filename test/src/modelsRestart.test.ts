import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { Role } from '@lpacs/access';
import {
  CLI,
  REPO,
  gqlResult,
  makeModels,
  parquetRows,
  runCli,
  tempDir,
  tokenFor,
} from './helpers';

// `lpacs serve` as a process: a model added over GraphQL, a job it runs
// killed with SIGKILL mid-way and finished by the next serve, and the
// onnxruntime settings it takes from $LPACS_ORT_*.
const run = promisify(execFile);
const work = tempDir('models-restart');
const lake = join(work.path, 'lake');
const corpus = join(work.path, 'ct');
const models = join(work.path, 'models');
const serves = new Set<ChildProcessWithoutNullStreams>();
let admin = '';
let researcher = '';
/** The job the server was killed under. */
let resumedJob = '';

interface Serve {
  child: ChildProcessWithoutNullStreams;
  url: string;
  output: () => string;
}

/** `lpacs serve` on a free port of 127.0.0.1, once it says where. */
async function serve(env: Record<string, string> = {}): Promise<Serve> {
  const child = spawn(
    process.execPath,
    [CLI, 'serve', '--lake', lake, '--port', '0'],
    { env: { ...process.env, LPACS_LOG_LEVEL: 'info', ...env } },
  );
  serves.add(child);
  child.once('exit', () => serves.delete(child));
  let out = '';
  const url = await new Promise<string>((resolve, reject) => {
    const seen = (d: Buffer) => {
      out += d.toString();
      const m = /at (http:\/\/127\.0\.0\.1:\d+\/graphql)/.exec(out);
      if (m) resolve(m[1]!);
    };
    child.stdout.on('data', seen);
    child.stderr.on('data', seen);
    child.once('exit', (code) =>
      reject(new Error(`serve exited ${code}: ${out}`)),
    );
  });
  return { child, url, output: () => out };
}

async function stop(s: Serve): Promise<void> {
  if (s.child.exitCode !== null || s.child.signalCode !== null) return;
  const exited = new Promise((r) => s.child.once('exit', r));
  s.child.kill('SIGTERM');
  await exited;
}

/** sha256sum's digest of a file. */
async function sha256sum(path: string): Promise<string> {
  return (await run('sha256sum', [path])).stdout.split(' ')[0]!;
}

interface JobView {
  phase: string;
  error: string | null;
  createdAt: string;
  finishedAt: string | null;
  progress: {
    total: number;
    done: number;
    predicted: number;
    skipped: number;
    failed: number;
  };
}
const JOB =
  'query ($id: String!) { job(id: $id) { phase error createdAt finishedAt progress { total done predicted skipped failed } } }';

/** Polls a job over GraphQL until it is no longer queued or running. */
async function finished(url: string, id: string): Promise<JobView> {
  for (let i = 0; i < 1200; i++) {
    const r = await gqlResult<{ job: JobView }>(url, researcher, JOB, { id });
    const job = r.data?.job;
    if (job && job.phase !== 'queued' && job.phase !== 'running') return job;
    await sleep(100);
  }
  throw new Error(`job ${id} did not finish`);
}

const PREDICTIONS = () =>
  `read_parquet('${lake}/tables/predictions/**/*.parquet', union_by_name = true, hive_partitioning = false)`;

before(async () => {
  // 400 small CT slices (16 series of 25), so a job of the tiny model
  // commits several chunks: 64 inputs first, then larger ones.
  await run(process.execPath, [
    join(REPO, 'datasets', 'generate-ct.mjs'),
    '--out',
    corpus,
    '--size',
    '64',
  ]);
  const ingested = await runCli(['ingest', corpus, '--lake', lake, '--json']);
  assert.equal(ingested.code, 0, ingested.stderr);
  await makeModels(models);
  admin = await tokenFor(lake, Role.Admin);
  researcher = await tokenFor(lake, Role.Researcher);
});
after(async () => {
  for (const child of serves) child.kill('SIGKILL');
  work.remove();
});

describe('models through lpacs serve', () => {
  it('adds a model over GraphQL, naming each manifest mistake', async () => {
    const s = await serve();
    try {
      const ADD =
        'mutation ($dir: String!) { addModel(dir: $dir) { alreadyStored model { name version sha256 } } }';
      const bad = join(work.path, 'bad');
      cpSync(join(models, 'ct-brightness'), bad, { recursive: true });
      const manifest = JSON.parse(
        readFileSync(join(bad, 'manifest.json'), 'utf8'),
      ) as { preprocessing: Record<string, unknown> };
      manifest.preprocessing.layout = 'CHW';
      manifest.preprocessing.windw = manifest.preprocessing.window;
      writeFileSync(join(bad, 'manifest.json'), JSON.stringify(manifest));
      const refused = await gqlResult(s.url, admin, ADD, { dir: bad });
      assert.deepEqual(refused.errors?.[0]?.extensions, {
        code: 'BAD_USER_INPUT',
        mlCode: 'MANIFEST_INVALID',
        // Over the API a manifest's text is never quoted (a manifest.json
        // may be a link to any file): a field by count and a suggestion,
        // a value by type and size.
        problems: [
          'preprocessing: has 1 field that is not a manifest field (preprocessing takes frames, rescale, window, resize, normalize, layout, stack); did you mean window?',
          'preprocessing.layout: must be "NCHW" or "NHWC", got a string of 3 characters',
        ],
      });
      const dir = join(models, 'ct-brightness');
      const added = await gqlResult<{
        addModel: { alreadyStored: boolean; model: { sha256: string } };
      }>(s.url, admin, ADD, { dir });
      assert.equal(added.errors, undefined, JSON.stringify(added.errors));
      assert.deepEqual(added.data!.addModel, {
        alreadyStored: false,
        model: {
          name: 'ct-brightness',
          version: '1.0.0',
          sha256: await sha256sum(join(dir, 'model.onnx')),
        },
      });
      const denied = await gqlResult(s.url, researcher, ADD, { dir });
      assert.equal(denied.errors?.[0]?.extensions?.code, 'FORBIDDEN');
      // The command line lists what GraphQL added.
      const listed = await runCli(['models', 'list', '--lake', lake]);
      assert.equal(listed.code, 0, listed.stderr);
      const sha = await sha256sum(join(dir, 'model.onnx'));
      assert.match(
        listed.stdout,
        new RegExp(
          `^ct-brightness +1\\.0\\.0 +classification +${sha.slice(0, 12)}  \\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\dZ  \\[bright, dark\\]\\n$`,
        ),
      );
    } finally {
      await stop(s);
    }
  });

  it('finishes a job after SIGKILL of the server, predicting each instance once, as numpy does', async () => {
    let s = await serve();
    const started = await gqlResult<{ runModel: { id: string } }>(
      s.url,
      researcher,
      'mutation { runModel(input: { model: "ct-brightness", filter: { modality: ["CT"] } }) { id } }',
    );
    assert.equal(started.errors, undefined, JSON.stringify(started.errors));
    const id = started.data!.runModel.id;
    resumedJob = id;
    // Kill the server once the job has committed a chunk and has more to
    // do, as its own state file (replaced atomically) says.
    const stateFile = join(lake, 'state', 'jobs', `${id}.json`);
    let seen: JobView | undefined;
    for (let i = 0; i < 20_000; i++) {
      try {
        seen = JSON.parse(readFileSync(stateFile, 'utf8')) as JobView;
      } catch {
        seen = undefined;
      }
      if (seen && seen.progress.done > 0) break;
      await sleep(2);
    }
    const killed = new Promise((r) => s.child.once('exit', r));
    s.child.kill('SIGKILL');
    await killed;
    const atKill = JSON.parse(readFileSync(stateFile, 'utf8')) as JobView;
    assert.equal(atKill.phase, 'running', 'killed while running');
    assert.equal(atKill.progress.total, 400);
    assert.ok(
      atKill.progress.done > 0 && atKill.progress.done < 400,
      `killed mid-job: done ${atKill.progress.done} of 400`,
    );
    const [committed] = await parquetRows(
      `SELECT count(*)::INTEGER AS n FROM ${PREDICTIONS()}`,
    );
    assert.ok(Number(committed!.n) < 800, 'rows were still to come');

    // The next server resumes it by itself.
    s = await serve();
    try {
      const job = await finished(s.url, id);
      assert.equal(job.phase, 'done', job.error ?? '');
      assert.equal(job.progress.total, 400);
      assert.equal(job.progress.done, 400);
      assert.equal(job.progress.failed, 0);
      assert.equal(job.progress.predicted + job.progress.skipped, 400);
      assert.match(s.output(), /"msg":"resumed prediction jobs"/);
      assert.ok(s.output().includes(id), 'the log names the resumed job');

      // Every row of every committed batch, read from the Parquet files
      // themselves: one per instance and label, none twice.
      const rows = await parquetRows(
        `SELECT * FROM ${PREDICTIONS()} ORDER BY "SOPInstanceUID", label`,
      );
      assert.equal(rows.length, 800);
      const keys = new Set(rows.map((r) => `${r.SOPInstanceUID}|${r.label}`));
      assert.equal(keys.size, 800);
      assert.deepEqual(
        [...new Set(rows.map((r) => r.run_id))],
        [id],
        'every row is the job`s',
      );
      // The instances the rows name are the lake's 400, in their series
      // and studies, and the scores are numpy's on the stored objects.
      const instances = await parquetRows(
        `SELECT "SOPInstanceUID" AS sop, "SeriesInstanceUID" AS se, "StudyInstanceUID" AS st, object_key AS k FROM read_parquet('${lake}/tables/instances/**/*.parquet') ORDER BY sop`,
      );
      assert.equal(instances.length, 400);
      const { stdout } = await run(
        '/usr/bin/python3',
        [
          join(REPO, 'packages', 'ml', 'scripts', 'reference.py'),
          ...instances.map((i) => join(lake, String(i.k))),
        ],
        { maxBuffer: 1 << 28 },
      );
      const refs = JSON.parse(stdout) as Array<{ scores: [number, number] }>;
      instances.forEach((inst, i) => {
        for (const [k, label] of ['bright', 'dark'].entries()) {
          const row = rows.find(
            (r) => r.SOPInstanceUID === inst.sop && r.label === label,
          )!;
          assert.equal(row.SeriesInstanceUID, inst.se);
          assert.equal(row.StudyInstanceUID, inst.st);
          assert.ok(
            Math.abs(Number(row.score) - refs[i]!.scores[k]!) < 1e-5,
            `${String(inst.sop)} ${label}: ${String(row.score)} vs numpy ${refs[i]!.scores[k]}`,
          );
        }
      });
    } finally {
      await stop(s);
    }
  });

  it('writes the predictions table with the columns issue #6 names', async () => {
    const columns = await parquetRows(
      `SELECT column_name AS name, column_type AS type FROM (DESCRIBE SELECT * FROM ${PREDICTIONS()})`,
    );
    assert.deepEqual(
      columns.map((c) => `${String(c.name)} ${String(c.type)}`),
      [
        'model_name VARCHAR',
        'model_version VARCHAR',
        'model_sha256 VARCHAR',
        'run_id VARCHAR',
        'SOPInstanceUID VARCHAR',
        'frame_index INTEGER',
        'SeriesInstanceUID VARCHAR',
        'StudyInstanceUID VARCHAR',
        'label VARCHAR',
        'score DOUBLE',
        'value DOUBLE',
        'mask_key VARCHAR',
        'created_at TIMESTAMP',
      ],
    );
    const sha = await sha256sum(join(models, 'ct-brightness', 'model.onnx'));
    const [r] = await parquetRows(
      `SELECT count(*)::INTEGER AS n,
              count(*) FILTER (WHERE model_name = 'ct-brightness'
                AND model_version = '1.0.0' AND model_sha256 = '${sha}'
                AND frame_index = 0 AND score BETWEEN 0 AND 1
                AND value IS NULL AND mask_key IS NULL)::INTEGER AS good,
              min(created_at)::VARCHAR AS first, max(created_at)::VARCHAR AS last
       FROM ${PREDICTIONS()}`,
    );
    assert.equal(r!.n, 800);
    assert.equal(r!.good, 800);
    // created_at falls within the job's life, as its state file has it.
    const job = JSON.parse(
      readFileSync(join(lake, 'state', 'jobs', `${resumedJob}.json`), 'utf8'),
    ) as JobView;
    const utc = (s: string) => Date.parse(s.replace(' ', 'T') + 'Z');
    assert.ok(utc(String(r!.first)) >= Date.parse(job.createdAt) - 1);
    assert.ok(utc(String(r!.last)) <= Date.parse(job.finishedAt!) + 1);
  });

  it('runs its jobs with the execution providers $LPACS_ORT_PROVIDERS names', async () => {
    const uids = await parquetRows(
      `SELECT DISTINCT "SeriesInstanceUID" AS uid FROM read_parquet('${lake}/tables/instances/**/*.parquet') ORDER BY 1 LIMIT 1`,
    );
    await runCli([
      'models',
      'add',
      join(models, 'ct-threshold'),
      '--lake',
      lake,
    ]);
    const RUN = `mutation { runModel(input: { model: "ct-threshold", seriesInstanceUIDs: ["${String(uids[0]!.uid)}"] }) { id } }`;
    // A provider onnxruntime does not have: the job fails naming it, so
    // the setting reached onnxruntime.
    let s = await serve({ LPACS_ORT_PROVIDERS: 'nosuch' });
    try {
      const r = await gqlResult<{ runModel: { id: string } }>(
        s.url,
        researcher,
        RUN,
      );
      const job = await finished(s.url, r.data!.runModel.id);
      assert.equal(job.phase, 'failed');
      assert.match(job.error!, /\[nosuch\] backend not found/);
    } finally {
      await stop(s);
    }
    // The CPU provider named explicitly: the job runs.
    s = await serve({ LPACS_ORT_PROVIDERS: 'cpu', LPACS_ORT_THREADS: '1' });
    try {
      const r = await gqlResult<{ runModel: { id: string } }>(
        s.url,
        researcher,
        RUN,
      );
      const job = await finished(s.url, r.data!.runModel.id);
      assert.equal(job.phase, 'done', job.error ?? '');
      assert.equal(job.progress.predicted, 25);
    } finally {
      await stop(s);
    }
    // lpacs predict takes the same setting.
    const cli = await runCli(
      [
        'predict',
        '--model',
        'ct-threshold',
        '--modality',
        'CT',
        '--lake',
        lake,
      ],
      { LPACS_ORT_PROVIDERS: 'nosuch' },
    );
    assert.equal(cli.code, 1);
    assert.match(cli.stdout, /phase +failed: .*\[nosuch\] backend not found/);
    // A setting that is not a number stops serve before it listens.
    const refused = await runCli(['serve', '--lake', lake, '--port', '0'], {
      LPACS_ORT_THREADS: 'two',
    });
    assert.equal(refused.code, 1);
    assert.equal(
      refused.stderr,
      'lpacs: BAD_SETTING: $LPACS_ORT_THREADS must be a whole number of 1 or more, got "two"\n',
    );
  });

  it('cancels a running job over GraphQL, keeping only what it committed', async () => {
    const s = await serve();
    try {
      const started = await gqlResult<{ runModel: { id: string } }>(
        s.url,
        researcher,
        'mutation { runModel(input: { model: "ct-threshold", filter: { modality: ["CT"] } }) { id } }',
      );
      assert.equal(started.errors, undefined, JSON.stringify(started.errors));
      const id = started.data!.runModel.id;
      const cancelled = await gqlResult<{ cancelJob: { phase: string } }>(
        s.url,
        researcher,
        'mutation ($id: String!) { cancelJob(id: $id) { phase } }',
        { id },
      );
      assert.equal(cancelled.errors, undefined);
      const job = await finished(s.url, id);
      assert.equal(job.phase, 'cancelled');
      assert.ok(job.progress.done < 400, `stopped early: ${job.progress.done}`);
      // The rows of the job in the table are those of the inputs its
      // state counts as predicted (one label each), none of the rest.
      const [rows] = await parquetRows(
        `SELECT count(*)::INTEGER AS n FROM ${PREDICTIONS()} WHERE run_id = '${id}'`,
      );
      assert.equal(rows!.n, job.progress.predicted);
    } finally {
      await stop(s);
    }
  });
});
