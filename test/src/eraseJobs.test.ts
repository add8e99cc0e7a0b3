import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  CT,
  REPO,
  addModel,
  erasePatient,
  filesUnder,
  makeModels,
  parquetRows,
  runCli,
  tempDir,
} from './helpers';

// An erasure removes every trace of the erased instances' lake
// identifiers (their keyed SOP, Series and Study Instance UIDs and
// object keys) from every file of the lake, prediction job files
// included: a finished job's inputs, failures and selected series, and
// an unfinished job's inputs, whose places it keeps (its progress is an
// index into them) so that, resumed, it counts them failed
// (INPUT_ERASED) and predicts the rest.

interface Input {
  SOPInstanceUID?: string;
  object_key?: string;
  erased?: boolean;
}

interface Job {
  id: string;
  phase: string;
  selection: { seriesInstanceUIDs?: string[] };
  progress: {
    total: number;
    done: number;
    predicted: number;
    skipped: number;
    failed: number;
  };
  failures: Array<{
    code: string;
    instances?: number;
    SOPInstanceUID?: string;
    SeriesInstanceUID?: string;
  }>;
}

/** A job run in its own process, killed once its first chunk is saved. */
const KILLED_JOB = `
const { PredictionJobs } = require(${JSON.stringify(join(REPO, 'packages', 'ml', 'dist', 'index.js'))});
const [lake, model] = process.argv.slice(2);
const jobs = new PredictionJobs({
  lakeRoot: lake,
  commitEvery: 8,
  onProgress: (job) => {
    if (job.progress.done === 0) return;
    process.stdout.write(JSON.stringify(job));
    process.kill(process.pid, 'SIGKILL');
  },
});
jobs.create(model, {}, { owner: 'cli:test' }).then((job) => jobs.run(job.id));
`;

describe('erasing a patient some prediction jobs ran on', () => {
  const work = tempDir('erase-jobs');
  const lake = join(work.path, 'lake');
  const jobsDir = join(lake, 'state', 'jobs');
  /** The erased patient's identifiers, read before the erasure. */
  let needles: string[] = [];
  let sops = new Set<string>();
  let killed: Job;
  let killedInputs: Input[] = [];
  let inJobs = 0;
  let erased = '';

  const sql = async (query: string) => {
    const r = await runCli(['sql', query, '--lake', lake, '--json']);
    assert.equal(r.code, 0, r.stderr);
    return JSON.parse(r.stdout) as Array<Record<string, string>>;
  };
  const job = (id: string) =>
    JSON.parse(readFileSync(join(jobsDir, `${id}.json`), 'utf8')) as Job;
  const inputs = (id: string) =>
    JSON.parse(
      readFileSync(join(jobsDir, `${id}.inputs.json`), 'utf8'),
    ) as Input[];
  const jobIds = () =>
    filesUnder(jobsDir)
      .map((f) => relative(jobsDir, f))
      .filter((f) => f.endsWith('.inputs.json'))
      .map((f) => f.slice(0, -'.inputs.json'.length));

  /** Every file of the lake, path and bytes (Parquet: rows), naming a needle. */
  async function traces(): Promise<string[]> {
    const found: string[] = [];
    for (const file of filesUnder(lake)) {
      const name = relative(lake, file);
      // Parquet pages are compressed: read their rows too.
      const texts = [name, readFileSync(file).toString('latin1')];
      if (file.endsWith('.parquet'))
        texts.push(
          JSON.stringify(
            await parquetRows(
              `SELECT * FROM read_parquet('${file.replaceAll("'", "''")}')`,
            ),
            (_, v: unknown) => (typeof v === 'bigint' ? String(v) : v),
          ),
        );
      for (const n of needles)
        if (texts.some((t) => t.includes(n))) found.push(`${name}: ${n}`);
    }
    return found;
  }

  before(async () => {
    const models = join(work.path, 'models');
    await makeModels(models);
    const ingest = await runCli(['ingest', CT, '--lake', lake]);
    assert.equal(ingest.code, 0, ingest.stderr);
    for (const m of ['ct-threshold', 'ct-volume-threshold', 'ct-brightness'])
      await addModel(lake, models, m);
    erased = (await sql('SELECT min("PatientID") AS p FROM instances'))[0]!.p!;
    const mine = await sql(
      `SELECT "SOPInstanceUID", "SeriesInstanceUID", "StudyInstanceUID", object_key FROM instances WHERE "PatientID" = '${erased}'`,
    );
    assert.equal(mine.length, 16);
    sops = new Set(mine.map((r) => r.SOPInstanceUID!));
    // Series and studies of no other patient.
    const only = async (column: string) =>
      (
        await sql(
          `SELECT "${column}" AS uid FROM instances GROUP BY 1 HAVING bool_and("PatientID" = '${erased}')`,
        )
      ).map((r) => r.uid!);
    const series = await only('SeriesInstanceUID');
    needles = [
      ...sops,
      ...series,
      ...(await only('StudyInstanceUID')),
      ...mine.map((r) => r.object_key!),
    ];
    assert.ok(series.length >= 1);

    // Finished jobs: over every image, and over one of the patient's series.
    const all = await runCli([
      'predict',
      '--model',
      'ct-threshold',
      '--lake',
      lake,
    ]);
    assert.equal(all.code, 0, all.stderr);
    const one = await runCli([
      ...['predict', '--model', 'ct-volume-threshold'],
      ...['--series', series[0]!, '--lake', lake],
    ]);
    assert.equal(one.code, 0, one.stderr);
    // An unfinished job, as a killed process leaves it.
    const script = join(work.path, 'killed-job.cjs');
    writeFileSync(script, KILLED_JOB);
    const child = spawn(process.execPath, [script, lake, 'ct-brightness']);
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const signal = await new Promise((r) =>
      child.once('close', (_code, s) => r(s)),
    );
    assert.equal(signal, 'SIGKILL');
    killed = job((JSON.parse(out) as Job).id);
    assert.equal(killed.phase, 'running');
    assert.equal(killed.progress.done, 8);
    assert.equal(killed.progress.failed, 0);
    killedInputs = inputs(killed.id);
    assert.equal(killedInputs.length, 48);
    // The patient's instances the cursor has yet to reach, and before it.
    const ahead = killedInputs
      .slice(killed.progress.done)
      .filter((i) => sops.has(i.SOPInstanceUID!)).length;
    assert.ok(ahead > 0, 'some of the patient is ahead of the cursor');

    for (const id of jobIds())
      inJobs += inputs(id).filter((i) => sops.has(i.SOPInstanceUID!)).length;
    const backup = await runCli([
      ...['backup', join(work.path, 'backups'), '--lake', lake],
    ]);
    assert.equal(backup.code, 0, backup.stderr);
    assert.ok((await traces()).length > 0, 'the needles are found before');
  });

  after(() => work.remove());

  it('takes the erased instances out of every job and says how many', async () => {
    const run = await erasePatient(lake, erased);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(jobIds().length, 3);
    assert.match(
      run.stdout,
      new RegExp(`, ${inJobs} inputs taken out of 3 prediction jobs\\)`),
    );
    const audit = await runCli([
      ...['audit', '--action', 'erase.patient', '--json', '--lake', lake],
    ]);
    const [entry] = JSON.parse(audit.stdout) as Array<{
      detail: Record<string, unknown>;
    }>;
    assert.equal(entry!.detail.jobs, 3);
    assert.equal(entry!.detail.jobInputs, inJobs);
  });

  it('leaves no file of the lake naming an erased UID or object key', async () => {
    assert.deepEqual(await traces(), []);
  });

  it('keeps the unfinished job places, and its counters', () => {
    const left = inputs(killed.id);
    assert.equal(left.length, killedInputs.length);
    left.forEach((i, n) =>
      assert.deepEqual(
        i,
        sops.has(killedInputs[n]!.SOPInstanceUID!)
          ? { erased: true }
          : killedInputs[n],
      ),
    );
    assert.deepEqual(job(killed.id).progress, killed.progress);
  });

  it('resumes it: the erased inputs ahead of it fail INPUT_ERASED, the rest are predicted', async () => {
    const ahead = killedInputs.slice(killed.progress.done);
    const gone = ahead.filter((i) => sops.has(i.SOPInstanceUID!)).length;
    const run = await runCli([
      'predict',
      '--resume',
      killed.id,
      '--lake',
      lake,
    ]);
    assert.equal(run.code, 0, run.stderr);
    const done = job(killed.id);
    assert.equal(done.phase, 'done');
    assert.deepEqual(done.progress, {
      total: 48,
      done: 48,
      predicted: killed.progress.predicted + ahead.length - gone,
      skipped: 0,
      failed: gone,
    });
    assert.ok(done.failures.every((f) => f.code === 'INPUT_ERASED'));
    assert.equal(
      done.failures.reduce((n, f) => n + (f.instances ?? 1), 0),
      gone,
    );
    assert.ok(
      done.failures.every(
        (f) => f.SOPInstanceUID === undefined && !f.SeriesInstanceUID,
      ),
    );
    assert.deepEqual(await traces(), []);
  });
});
