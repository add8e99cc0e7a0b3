import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { graphql } from 'graphql';
import type { GraphQLSchema } from 'graphql';
import { ingest } from '@lpacs/ingest';
import { Catalog } from '@lpacs/lake';
import { silentLogger } from '@lpacs/lake';
import { PredictionJobs } from '@lpacs/ml';
import { decodeFrame } from '@lpacs/pixels';
import { AuditLog, Role } from '@lpacs/access';
import { Gate } from '../access/Gate';
import { lpacsSchema } from '../buildSchema';
import { CohortQueries } from '../cohort/CohortQueries';
import type { ModelContext } from '../resolvers/ModelResolver';

const repo = join(__dirname, '..', '..', '..', '..');
const work = mkdtempSync(join(tmpdir(), 'lpacs-api-models-'));
const lake = join(work, 'lake');
let schema: GraphQLSchema;
let catalog: Catalog;
let jobs: PredictionJobs;
let context: ModelContext;

function python(args: string[]): string {
  const r = spawnSync('/usr/bin/python3', args, {
    cwd: repo,
    encoding: 'utf8',
    maxBuffer: 1 << 28,
  });
  if (r.status !== 0) throw new Error(r.stderr);
  return r.stdout;
}

async function gql<T>(
  query: string,
  variables?: Record<string, unknown>,
): Promise<{
  data?: T;
  errors?: Array<{ message: string; extensions?: { code?: string } }>;
}> {
  const r = await graphql({
    schema,
    source: query,
    variableValues: variables,
    contextValue: context,
  });
  return JSON.parse(JSON.stringify(r));
}

before(async () => {
  await ingest([join(repo, 'datasets/cache/ct-test/P0001')], {
    lake,
    workers: 1,
  });
  python(['datasets/make-model.py', '--out', join(work, 'models')]);
  jobs = new PredictionJobs({
    lakeRoot: lake,
    decodeFrame,
    session: { intraOpNumThreads: 1 },
  });
  await jobs.registry.add(join(work, 'models', 'ct-brightness'));
  catalog = await Catalog.open(lake, { threads: 1 });
  // Only what model operations use; the rest of ApiContext is not needed.
  // The caller is a researcher, who may query and run models.
  const researcher = {
    userId: 'u1',
    name: 'rita',
    role: Role.Researcher,
    tokenId: 't1',
  };
  context = {
    cohorts: new CohortQueries(catalog),
    logger: silentLogger,
    predictions: jobs,
    gate: new Gate(researcher, new AuditLog(lake), silentLogger),
  } as unknown as ModelContext;
  schema = await lpacsSchema();
});

after(async () => {
  await jobs.close();
  await catalog.close();
  rmSync(work, { recursive: true, force: true });
});

describe('models over GraphQL', () => {
  it('lists the stored models', async () => {
    const r = await gql<{ models: Array<{ name: string; labels: string[] }> }>(
      '{ models { name task labels inputShape sha256 } }',
    );
    assert.deepEqual(r.errors, undefined);
    assert.equal(r.data!.models.length, 1);
    assert.deepEqual(r.data!.models[0]!.labels, ['bright', 'dark']);
    const one = await gql<{ model: null }>('{ model(name: "nope") { name } }');
    assert.equal(one.data!.model, null);
  });

  it('runs a model over a cohort filter; predictions match numpy', async () => {
    const started = await gql<{ runModel: { id: string; phase: string } }>(
      `mutation { runModel(input: { model: "ct-brightness", filter: { modality: ["CT"] } }) { id phase progress { total } } }`,
    );
    assert.deepEqual(started.errors, undefined);
    const id = started.data!.runModel.id;
    type J = {
      job: {
        phase: string;
        progress: { done: number; total: number; fraction: number };
      };
    };
    let job: J['job'] | undefined;
    for (let i = 0; i < 200; i++) {
      job = (
        await gql<J>(
          `{ job(id: "${id}") { phase progress { done total fraction } } }`,
        )
      ).data!.job;
      if (job.phase !== 'queued' && job.phase !== 'running') break;
      await sleep(50);
    }
    assert.equal(job!.phase, 'done');
    assert.deepEqual(job!.progress, { done: 16, total: 16, fraction: 1 });
    const [series] = await catalog.query(
      'SELECT "SeriesInstanceUID" AS uid FROM instances ORDER BY 1 LIMIT 1',
    );
    const p = await gql<{
      predictions: Array<{
        sopInstanceUID: string;
        label: string;
        score: number;
        runId: string;
      }>;
    }>(
      `query($s: String!) { predictions(seriesInstanceUID: $s, model: "ct-brightness") { sopInstanceUID label score runId } }`,
      { s: series!.uid },
    );
    assert.equal(p.data!.predictions.length, 8);
    const objects = await catalog.query(
      'SELECT "SOPInstanceUID" AS uid, object_key FROM instances WHERE "SeriesInstanceUID" = ? ORDER BY 1',
      [series!.uid as string],
    );
    // numpy on the stored (de-identified) objects, read by pydicom.
    const refs = JSON.parse(
      python([
        'packages/ml/scripts/reference.py',
        ...objects.map((o) => join(lake, String(o.object_key))),
      ]),
    ) as Array<{ scores: [number, number] }>;
    objects.forEach((o, i) => {
      for (const [k, label] of ['bright', 'dark'].entries()) {
        const got = p.data!.predictions.find(
          (x) => x.sopInstanceUID === o.uid && x.label === label,
        )!;
        assert.ok(Math.abs(got.score - refs[i]!.scores[k]!) < 1e-5);
        assert.equal(got.runId, id);
      }
    });
    const jobsList = await gql<{ jobs: Array<{ id: string }> }>(
      '{ jobs { id } }',
    );
    assert.deepEqual(
      jobsList.data!.jobs.map((j) => j.id),
      [id],
    );
    const cancelled = await gql<{ cancelJob: { phase: string } }>(
      `mutation { cancelJob(id: "${id}") { phase } }`,
    );
    assert.equal(cancelled.data!.cancelJob.phase, 'done');
  });

  it('answers client errors with their codes', async () => {
    const unknown = await gql(
      'mutation { runModel(input: { model: "nope", seriesInstanceUIDs: ["1.2"] }) { id } }',
    );
    assert.equal(unknown.errors![0]!.extensions!.code, 'NOT_FOUND');
    const empty = await gql(
      'mutation { runModel(input: { model: "ct-brightness" }) { id } }',
    );
    assert.equal(empty.errors![0]!.extensions!.code, 'BAD_USER_INPUT');
    // A series the lake lacks, or a filter matching nothing, would make an
    // empty job marked done: refused, naming the UID, and no job made.
    const count = async () =>
      (await gql<{ jobs: unknown[] }>('{ jobs { id } }')).data!.jobs.length;
    const before = await count();
    const noSeries = await gql(
      'mutation { runModel(input: { model: "ct-brightness", seriesInstanceUIDs: ["2.25.1"] }) { id } }',
    );
    assert.equal(noSeries.errors![0]!.extensions!.code, 'BAD_USER_INPUT');
    assert.equal(
      noSeries.errors![0]!.message,
      'no instance of series 2.25.1 in the lake',
    );
    const noMatch = await gql(
      'mutation { runModel(input: { model: "ct-brightness", filter: { modality: ["MR"] } }) { id } }',
    );
    assert.equal(noMatch.errors![0]!.extensions!.code, 'BAD_USER_INPUT');
    assert.equal(
      noMatch.errors![0]!.message,
      'no instance in the lake with the cohort filter',
    );
    assert.equal(await count(), before);
    const missing = await gql(
      '{ job(id: "20260101T000000Z-00000000") { id } }',
    );
    assert.deepEqual(missing.data, { job: null });
  });
});
