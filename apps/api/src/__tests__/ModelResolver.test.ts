import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import {
  cpSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
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
let adminContext: ModelContext;
let bobContext: ModelContext;
let stewardContext: ModelContext;

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
  as: ModelContext = context,
): Promise<{
  data?: T;
  errors?: Array<{
    message: string;
    extensions?: { code?: string; mlCode?: string; problems?: string[] };
  }>;
}> {
  const r = await graphql({
    schema,
    source: query,
    variableValues: variables,
    contextValue: as,
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
  const admin = { userId: 'u0', name: 'ada', role: Role.Admin, tokenId: 't0' };
  adminContext = {
    ...context,
    gate: new Gate(admin, new AuditLog(lake), silentLogger),
  } as unknown as ModelContext;
  const as = (name: string, role: Role) =>
    ({
      ...context,
      gate: new Gate(
        { userId: name, name, role, tokenId: `t-${name}` },
        new AuditLog(lake),
        silentLogger,
      ),
    }) as unknown as ModelContext;
  bobContext = as('bob', Role.Researcher);
  stewardContext = as('sam', Role.Steward);
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
      'no image of series 2.25.1 in the lake',
    );
    const noMatch = await gql(
      'mutation { runModel(input: { model: "ct-brightness", filter: { modality: ["MR"] } }) { id } }',
    );
    assert.equal(noMatch.errors![0]!.extensions!.code, 'BAD_USER_INPUT');
    assert.equal(
      noMatch.errors![0]!.message,
      'no image in the lake with the cohort filter',
    );
    assert.equal(await count(), before);
    const missing = await gql(
      '{ job(id: "20260101T000000Z-00000000") { id } }',
    );
    assert.deepEqual(missing.data, { job: null });
  });

  it("keeps a job's owner; only the owner, a steward or an admin cancels it (trial: researcher bob cancelled rita's job)", async () => {
    const [series] = await catalog.query(
      'SELECT "SeriesInstanceUID" AS uid FROM instances ORDER BY 1 LIMIT 1',
    );
    // Jobs a model already ran end at once: cancelling them still tells
    // who may. Each runs over one series.
    const start = async () => {
      const r = await gql<{ runModel: { id: string; owner: string } }>(
        'mutation ($s: [String!]) { runModel(input: { model: "ct-brightness", seriesInstanceUIDs: $s }) { id owner } }',
        { s: [series!.uid] },
      );
      assert.deepEqual(r.errors, undefined);
      return r.data!.runModel;
    };
    const job = await start();
    assert.equal(job.owner, 'rita');
    // bob sees it, and whose it is.
    const listed = await gql<{ jobs: Array<{ id: string; owner: string }> }>(
      '{ jobs { id owner } }',
      undefined,
      bobContext,
    );
    assert.equal(listed.data!.jobs.find((j) => j.id === job.id)?.owner, 'rita');
    const CANCEL =
      'mutation ($id: String!) { cancelJob(id: $id) { id owner phase } }';
    const bob = await graphql({
      schema,
      source: CANCEL,
      variableValues: { id: job.id },
      contextValue: bobContext,
    });
    assert.equal(bob.data, null);
    assert.equal(
      (bob.errors![0]!.originalError as { code?: string }).code,
      'FORBIDDEN',
    );
    assert.equal(
      bob.errors![0]!.message,
      `job ${job.id} was started by rita: only the user who started a job, a steward or an admin may cancel it`,
    );
    for (const who of [context, stewardContext, adminContext]) {
      const r = await gql<{ cancelJob: { id: string; owner: string } }>(
        CANCEL,
        { id: job.id },
        who,
      );
      assert.deepEqual(r.errors, undefined);
      assert.deepEqual(
        { id: r.data!.cancelJob.id, owner: r.data!.cancelJob.owner },
        { id: job.id, owner: 'rita' },
      );
    }
  });
});

describe('addModel over GraphQL', () => {
  const ADD =
    'mutation ($dir: String!) { addModel(dir: $dir) { alreadyStored model { name version task sha256 labels } } }';
  /** sha256sum's digest of a file. */
  const sha256sum = (path: string) =>
    spawnSync('sha256sum', [path], { encoding: 'utf8' }).stdout.split(' ')[0];

  it('stores a model folder for an admin, under the SHA-256 sha256sum gives, once', async () => {
    const dir = join(work, 'models', 'ct-threshold');
    type A = {
      addModel: {
        alreadyStored: boolean;
        model: { name: string; sha256: string; task: string; labels: string[] };
      };
    };
    const first = await gql<A>(ADD, { dir }, adminContext);
    assert.deepEqual(first.errors, undefined);
    const sha = sha256sum(join(dir, 'model.onnx'));
    assert.match(sha!, /^[0-9a-f]{64}$/);
    assert.deepEqual(first.data!.addModel, {
      alreadyStored: false,
      model: {
        name: 'ct-threshold',
        version: '1.0.0',
        task: 'segmentation',
        sha256: sha,
        labels: ['dense'],
      },
    });
    assert.deepEqual(
      readFileSync(join(lake, 'models', sha!, 'model.onnx')),
      readFileSync(join(dir, 'model.onnx')),
    );
    const again = await gql<A>(ADD, { dir }, adminContext);
    assert.equal(again.data!.addModel.alreadyStored, true);
    const listed = await gql<{
      models: Array<{ name: string; sha256: string }>;
    }>('{ models { name sha256 } }');
    assert.deepEqual(
      listed.data!.models.find((m) => m.name === 'ct-threshold'),
      { name: 'ct-threshold', sha256: sha },
    );
    // models lists ct-brightness under sha256sum's digest too.
    assert.equal(
      listed.data!.models.find((m) => m.name === 'ct-brightness')!.sha256,
      sha256sum(join(work, 'models', 'ct-brightness', 'model.onnx')),
    );
  });

  it('refuses a researcher, a relative path and each kind of bad folder, naming the mistake', async () => {
    const models = join(work, 'models');
    // The access error as the gate throws it (the server's formatError
    // turns its code into extensions.code).
    const denied = await graphql({
      schema,
      source: ADD,
      variableValues: { dir: join(models, 'ct-brightness') },
      contextValue: context,
    });
    assert.equal(
      (denied.errors![0]!.originalError as { code?: string }).code,
      'FORBIDDEN',
    );
    assert.equal(denied.data, null);
    const relative = await gql(ADD, { dir: 'models/x' }, adminContext);
    assert.deepEqual(relative.errors![0]!.extensions, {
      code: 'BAD_USER_INPUT',
      field: 'dir',
    });
    // Two manifest mistakes, both named.
    const bad = join(work, 'bad-manifest');
    cpSync(join(models, 'ct-brightness'), bad, { recursive: true });
    const manifest = JSON.parse(
      readFileSync(join(bad, 'manifest.json'), 'utf8'),
    ) as Record<string, unknown>;
    writeFileSync(
      join(bad, 'manifest.json'),
      JSON.stringify({ ...manifest, version: '', task: 'detection' }),
    );
    const invalid = await gql(ADD, { dir: bad }, adminContext);
    assert.deepEqual(invalid.errors![0]!.extensions, {
      code: 'BAD_USER_INPUT',
      mlCode: 'MANIFEST_INVALID',
      // The types found, not the values: the file may be any file.
      problems: [
        'version: must be a non-empty string, got an empty string',
        'task: must be one of classification, regression, segmentation, got a string of 9 characters',
      ],
    });
    // Three labels for a graph with two scores.
    writeFileSync(
      join(bad, 'manifest.json'),
      JSON.stringify({
        ...manifest,
        version: '9',
        outputs: [{ name: 'scores', labels: ['a', 'b', 'c'] }],
      }),
    );
    const mismatch = await gql(ADD, { dir: bad }, adminContext);
    assert.equal(mismatch.errors![0]!.extensions!.mlCode, 'MODEL_MISMATCH');
    // A cut model.onnx.
    writeFileSync(join(bad, 'manifest.json'), JSON.stringify(manifest));
    const onnx = join(bad, 'model.onnx');
    writeFileSync(onnx, readFileSync(onnx).subarray(0, 100));
    const damaged = await gql(ADD, { dir: bad }, adminContext);
    assert.equal(damaged.errors![0]!.extensions!.mlCode, 'MODEL_INVALID');
    // Another graph under ct-brightness 1.0.0, which the lake holds.
    python([
      '-c',
      'import onnx, sys; m = onnx.load(sys.argv[1]); m.doc_string = "other"; onnx.save(m, sys.argv[2])',
      join(models, 'ct-brightness', 'model.onnx'),
      onnx,
    ]);
    const conflict = await gql(ADD, { dir: bad }, adminContext);
    assert.equal(conflict.errors![0]!.extensions!.mlCode, 'MODEL_CONFLICT');
    assert.match(
      conflict.errors![0]!.message,
      /^ct-brightness 1\.0\.0 is already stored with model\.onnx [0-9a-f]{12}/,
    );
  });
  it("quotes nothing of the file at dir/manifest.json: a link to /etc/passwd, a copy of it, a data set's truth file", async () => {
    const models = join(work, 'models');
    const dir = join(work, 'planted');
    cpSync(join(models, 'ct-brightness'), dir, { recursive: true });
    const manifest = join(dir, 'manifest.json');
    const passwd = readFileSync('/etc/passwd', 'utf8');
    /** Every string of the API's answer, messages and extensions. */
    const answer = async () =>
      JSON.stringify((await gql(ADD, { dir }, adminContext)).errors);
    rmSync(manifest);
    symlinkSync('/etc/passwd', manifest);
    const linked = await answer();
    assert.match(linked, /manifest\.json is a symbolic link/);
    assert.ok(!linked.includes(passwd.slice(0, 10)), linked);
    rmSync(manifest);
    writeFileSync(manifest, passwd);
    const copied = await answer();
    assert.match(
      copied,
      /manifest\.json is not valid JSON \(line 1, column 1\)/,
    );
    assert.ok(!copied.includes(passwd.slice(0, 10)), copied);
    // A truth file's keys and values, planted.
    const planted = [
      'patients',
      'datasets/generate-ct.mjs',
      'PLANTED^NAME',
      'seriesPerStudy',
    ];
    writeFileSync(
      manifest,
      JSON.stringify({
        patients: 3,
        generator: 'datasets/generate-ct.mjs',
        name: 'PLANTED^NAME',
        version: { seriesPerStudy: 2 },
        task: ['PLANTED^NAME'],
      }),
    );
    const truth = await answer();
    for (const s of planted) assert.ok(!truth.includes(s), `${s} in ${truth}`);
    // Still named clearly: the fields and what was expected.
    assert.match(truth, /manifest: has 2 fields that are not manifest fields/);
    assert.match(
      truth,
      /name: must be 1-64 of .*, got a string of 12 characters/,
    );
    assert.match(truth, /task: must be one of .*, got a list of 1 item/);
  });
});
