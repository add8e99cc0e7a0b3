import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { Role } from '@lpacs/access';
import {
  CLI,
  CT,
  REPO,
  gqlResult,
  parquetRows,
  runCli,
  tempDir,
  tokenFor,
} from './helpers';

// A prediction job stopped on purpose (SIGTERM to `lpacs serve`, SIGINT to
// `lpacs predict`) is interrupted, not cancelled: its committed progress
// kept, resumed by the next server or `lpacs predict --resume`, each input
// predicted once. A user's cancel stays final across a restart.
// (New-user trial: a SIGTERM left the job "cancelled", error null, never
// resumed, and the log said the shutdown step did not finish in time.)
const run = promisify(execFile);
const work = tempDir('models-interrupt');
const corpus = join(work.path, 'ct');
const models = join(work.path, 'models');
/** Two lakes of the same 400 slices, one per way of stopping. */
const serveLake = join(work.path, 'lake-serve');
const cliLake = join(work.path, 'lake-cli');
/** The 48-image CT corpus, for the cancel. */
const smallLake = join(work.path, 'lake-small');
const children = new Set<ChildProcessWithoutNullStreams>();
let researcher = '';

interface Proc {
  child: ChildProcessWithoutNullStreams;
  output: () => string;
  exit: Promise<{ code: number | null; signal: string | null }>;
}

function spawnCli(args: string[]): Proc {
  const child = spawn(process.execPath, [CLI, ...args], {
    env: { ...process.env, LPACS_LOG_LEVEL: 'info' },
  });
  children.add(child);
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const exit = new Promise<{ code: number | null; signal: string | null }>(
    (resolve) =>
      child.once('close', (code, signal) => {
        children.delete(child);
        resolve({ code, signal });
      }),
  );
  return { child, output: () => out, exit };
}

/** `lpacs serve` on a free port of 127.0.0.1, once it says where. */
async function serve(lake: string): Promise<Proc & { url: string }> {
  const p = spawnCli(['serve', '--lake', lake, '--port', '0']);
  const url = await new Promise<string>((resolve, reject) => {
    const seen = () => {
      const m = /at (http:\/\/127\.0\.0\.1:\d+\/graphql)/.exec(p.output());
      if (m) resolve(m[1]!);
    };
    p.child.stdout.on('data', seen);
    p.child.stderr.on('data', seen);
    void p.exit.then(() =>
      reject(new Error(`serve exited early: ${p.output()}`)),
    );
  });
  return { ...p, url };
}

interface JobFile {
  phase: string;
  error?: string;
  finishedAt?: string;
  progress: {
    total: number;
    done: number;
    predicted: number;
    skipped: number;
    failed: number;
  };
}

function jobFile(lake: string, id: string): JobFile {
  return JSON.parse(
    readFileSync(join(lake, 'state', 'jobs', `${id}.json`), 'utf8'),
  ) as JobFile;
}

/** Waits until the job has committed a chunk and has more to do. */
async function midway(lake: string, id: string): Promise<void> {
  for (let i = 0; i < 20_000; i++) {
    let seen: JobFile | undefined;
    try {
      seen = jobFile(lake, id);
    } catch {
      seen = undefined;
    }
    if (seen && seen.progress.done > 0) {
      assert.ok(
        seen.progress.done < seen.progress.total,
        `the job is still running (done ${seen.progress.done})`,
      );
      return;
    }
    await sleep(5);
  }
  throw new Error(`job ${id} committed nothing`);
}

/** The job's rows: how many, and how many instances they name. */
async function rowsOf(
  lake: string,
  id: string,
): Promise<{ rows: number; instances: number; twice: number }> {
  const [r] = await parquetRows(
    `SELECT count(*)::INTEGER AS n, count(DISTINCT "SOPInstanceUID")::INTEGER AS uids,
       (SELECT count(*)::INTEGER FROM (SELECT 1 FROM read_parquet('${lake}/tables/predictions/**/*.parquet', union_by_name = true, hive_partitioning = false) WHERE run_id = '${id}' GROUP BY "SOPInstanceUID", label HAVING count(*) > 1)) AS twice
     FROM read_parquet('${lake}/tables/predictions/**/*.parquet', union_by_name = true, hive_partitioning = false)
     WHERE run_id = '${id}'`,
  );
  return {
    rows: r!.n as number,
    instances: r!.uids as number,
    twice: r!.twice as number,
  };
}

const JOB =
  'query ($id: String!) { job(id: $id) { phase error finishedAt progress { total done predicted skipped failed } } }';

/** Polls a job over GraphQL until it is no longer queued or running. */
async function finished(url: string, id: string): Promise<JobFile> {
  for (let i = 0; i < 1200; i++) {
    const r = await gqlResult<{ job: JobFile }>(url, researcher, JOB, { id });
    const job = r.data?.job;
    if (job && !['queued', 'running', 'interrupted'].includes(job.phase))
      return job;
    await sleep(100);
  }
  throw new Error(`job ${id} did not finish`);
}

before(async () => {
  // 400 small CT slices: ct-slow-brightness commits a first chunk of 64,
  // then larger ones, some milliseconds an image.
  await run(process.execPath, [
    join(REPO, 'datasets', 'generate-ct.mjs'),
    ...['--out', corpus, '--size', '64'],
  ]);
  await run('/usr/bin/python3', [
    join(REPO, 'datasets', 'make-fault-models.py'),
    ...['--threshold', '0.5', '--out', models],
  ]);
  for (const [lake, input] of [
    [serveLake, corpus],
    [cliLake, corpus],
    [smallLake, CT],
  ] as const) {
    const ingested = await runCli(['ingest', input, '--lake', lake]);
    assert.equal(ingested.code, 0, ingested.stderr);
    const added = await runCli([
      ...['models', 'add', join(models, 'ct-slow-brightness')],
      ...['--lake', lake],
    ]);
    assert.equal(added.code, 0, added.stderr);
  }
  researcher = await tokenFor(serveLake, Role.Researcher);
});
after(() => {
  for (const child of children) child.kill('SIGKILL');
  work.remove();
});

describe('a prediction job its process stops on purpose', () => {
  it('is interrupted by a SIGTERM of lpacs serve within the grace period, and the next serve finishes it, each instance once', async () => {
    let s = await serve(serveLake);
    const started = await gqlResult<{ runModel: { id: string } }>(
      s.url,
      researcher,
      'mutation { runModel(input: { model: "ct-slow-brightness", filter: { modality: ["CT"] } }) { id } }',
    );
    assert.equal(started.errors, undefined, JSON.stringify(started.errors));
    const id = started.data!.runModel.id;
    await midway(serveLake, id);
    const sent = Date.now();
    s.child.kill('SIGTERM');
    const exited = await s.exit;
    const seconds = (Date.now() - sent) / 1000;
    assert.deepEqual(exited, { code: 0, signal: null }, s.output());
    assert.doesNotMatch(s.output(), /did not finish in time/);
    // Requests get up to 5 s, each other step 2 s: the job stopped well
    // within them (the batches under way, then its commit).
    assert.ok(seconds < 5, `stopped in ${seconds} s`);
    assert.match(s.output(), /"msg":"ml.jobs interrupted/);
    assert.doesNotMatch(s.output(), /"phase":"cancelled"/);

    const stopped = jobFile(serveLake, id);
    assert.equal(stopped.phase, 'interrupted');
    assert.equal(stopped.error, undefined);
    assert.equal(stopped.finishedAt, undefined);
    const d = stopped.progress.done;
    assert.ok(d > 0 && d < 400, `interrupted mid-job: done ${d} of 400`);
    assert.deepEqual(stopped.progress, {
      total: 400,
      done: d,
      predicted: d,
      skipped: 0,
      failed: 0,
    });
    // What it committed is exactly what its progress says: two labels an
    // instance, none twice.
    assert.deepEqual(await rowsOf(serveLake, id), {
      rows: 2 * d,
      instances: d,
      twice: 0,
    });

    s = await serve(serveLake);
    try {
      const job = await finished(s.url, id);
      assert.equal(job.phase, 'done', job.error ?? '');
      assert.deepEqual(job.progress, {
        total: 400,
        done: 400,
        predicted: 400,
        skipped: 0,
        failed: 0,
      });
      assert.match(s.output(), /"msg":"resumed prediction jobs"/);
      assert.ok(s.output().includes(id), 'the log names the resumed job');
      assert.deepEqual(await rowsOf(serveLake, id), {
        rows: 800,
        instances: 400,
        twice: 0,
      });
    } finally {
      s.child.kill('SIGTERM');
      await s.exit;
    }
  });

  it('is interrupted by Ctrl-C of lpacs predict, and --resume finishes it, each instance once', async () => {
    const p = spawnCli([
      ...['predict', '--model', 'ct-slow-brightness', '--modality', 'CT'],
      ...['--lake', cliLake],
    ]);
    let id = '';
    for (let i = 0; i < 2000 && !id; i++) {
      id = /"job":"([0-9A-Za-z-]+)"/.exec(p.output())?.[1] ?? '';
      if (!id) await sleep(5);
    }
    assert.ok(id, p.output());
    await midway(cliLake, id);
    p.child.kill('SIGINT');
    const exited = await p.exit;
    // 128 + SIGINT's 2, as a shell reports a command Ctrl-C stopped.
    assert.deepEqual(exited, { code: 130, signal: null }, p.output());
    const stopped = jobFile(cliLake, id);
    assert.equal(stopped.phase, 'interrupted');
    const d = stopped.progress.done;
    assert.ok(d > 0 && d < 400, `interrupted mid-job: done ${d} of 400`);
    assert.match(p.output(), /^phase {7}interrupted$/m);
    assert.ok(
      p
        .output()
        .includes(
          `stopped at ${d}/400; go on with lpacs predict --resume ${id}`,
        ),
      p.output(),
    );
    assert.deepEqual(await rowsOf(cliLake, id), {
      rows: 2 * d,
      instances: d,
      twice: 0,
    });

    const resumed = await runCli([
      ...['predict', '--resume', id, '--lake', cliLake, '--json'],
    ]);
    assert.equal(resumed.code, 0, resumed.stderr);
    const job = JSON.parse(resumed.stdout) as JobFile;
    assert.equal(job.phase, 'done');
    assert.deepEqual(job.progress, {
      total: 400,
      done: 400,
      predicted: 400,
      skipped: 0,
      failed: 0,
    });
    assert.deepEqual(await rowsOf(cliLake, id), {
      rows: 800,
      instances: 400,
      twice: 0,
    });
  });

  it('stays cancelled after a restart when a user cancelled it', async () => {
    const token = await tokenFor(smallLake, Role.Researcher);
    let s = await serve(smallLake);
    let id = '';
    let cancelled: JobFile;
    try {
      const started = await gqlResult<{ runModel: { id: string } }>(
        s.url,
        token,
        'mutation { runModel(input: { model: "ct-slow-brightness", filter: { modality: ["CT"] } }) { id } }',
      );
      assert.equal(started.errors, undefined, JSON.stringify(started.errors));
      id = started.data!.runModel.id;
      const c = await gqlResult<{ cancelJob: { phase: string } }>(
        s.url,
        token,
        'mutation ($id: String!) { cancelJob(id: $id) { phase } }',
        { id },
      );
      assert.equal(c.errors, undefined, JSON.stringify(c.errors));
      cancelled = jobFile(smallLake, id);
      assert.equal(cancelled.phase, 'cancelled');
      assert.ok(cancelled.progress.done < 48, 'cancelled before its end');
    } finally {
      s.child.kill('SIGTERM');
      await s.exit;
    }
    s = await serve(smallLake);
    try {
      await sleep(500);
      assert.doesNotMatch(s.output(), /resumed prediction jobs/);
      assert.deepEqual(jobFile(smallLake, id), cancelled);
    } finally {
      s.child.kill('SIGTERM');
      await s.exit;
    }
    // lpacs predict --resume of it prints it and runs nothing.
    const again = await runCli([
      ...['predict', '--resume', id, '--lake', smallLake, '--json'],
    ]);
    assert.equal(again.code, 0, again.stderr);
    assert.deepEqual(JSON.parse(again.stdout), cancelled);
  });
});
