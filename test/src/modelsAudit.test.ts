import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Role } from '@lpacs/access';
import { startServer } from '@lpacs/api';
import type { RunningServer } from '@lpacs/api';
import {
  CT,
  filesUnder,
  gqlResult,
  makeModels,
  parquetRows,
  runCli,
  tempDir,
  tokenFor,
} from './helpers';

// Trial (ops): runModel and cancelJob were audited as `model.run ok` with
// no target and no detail, a cancel not told from a run; `lpacs models
// add`, `predict` and `predict --cancel` left no entry; researcher bob
// cancelled rita's job; reports and objects without pixels were inputs of
// every job; a stacking model's failure said `undefined` for its
// instance and `failed 4` beside one entry; an object erased during a job
// showed its server path under INFERENCE_FAILED.

const work = tempDir('models-audit');
const lake = join(work.path, 'lake');
const input = join(work.path, 'input');
const models = join(work.path, 'models');
const USER = 'model-operator';
const env = { USER };
let server: RunningServer;
const tokens: Record<string, string> = {};

interface Entry {
  seq: number;
  actor: string;
  action: string;
  outcome: string;
  target?: string;
  detail?: Record<string, string | number | boolean>;
}

/** The audit log as written, oldest first. */
function audit(): Entry[] {
  return readFileSync(join(lake, 'audit', 'audit.ndjson'), 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Entry);
}

/** The entries `work` appends. */
async function entriesOf(work: () => Promise<unknown>): Promise<Entry[]> {
  const before = audit().length;
  await work();
  return audit().slice(before);
}

function gql<T>(who: string, query: string, variables?: object) {
  return gqlResult<T>(server.url, tokens[who]!, query, variables);
}

/** sha256sum's digest of a model's model.onnx. */
function sha256sum(model: string): string {
  return spawnSync('sha256sum', [join(models, model, 'model.onnx')], {
    encoding: 'utf8',
  }).stdout.split(' ')[0]!;
}

/** Waits for a job to end; its final state. */
async function finished(id: string): Promise<{ phase: string }> {
  for (let i = 0; i < 600; i++) {
    const r = await gql<{ job: { phase: string } }>(
      'rita',
      'query ($id: String!) { job(id: $id) { phase } }',
      { id },
    );
    const phase = r.data?.job.phase ?? '';
    if (['done', 'failed', 'cancelled'].includes(phase)) return r.data!.job;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`job ${id} did not end`);
}

/** The lake's series and how many of their instances have Rows. */
async function lakeSeries(): Promise<
  Array<{ uid: string; modality: string; images: number; all: number }>
> {
  const rows = await parquetRows(
    `SELECT "SeriesInstanceUID" AS uid, any_value("Modality") AS modality,
       count("Rows") AS images, count(*) AS "all"
     FROM read_parquet('${lake}/tables/instances/*/*.parquet')
     GROUP BY 1 ORDER BY 1`,
  );
  return rows.map((r) => ({
    uid: String(r.uid),
    modality: String(r.modality),
    images: Number(r.images),
    all: Number(r.all),
  }));
}

before(async () => {
  cpSync(join(CT, 'P0001'), join(input, 'P0001'), { recursive: true });
  // A structured report and a CT object without Rows or Pixel Data, in
  // a study of the corpus: neither is an image.
  const made = spawnSync(
    '/usr/bin/python3',
    [
      '-c',
      `
import sys, glob, pydicom
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, generate_uid
out = sys.argv[1]
src = pydicom.dcmread(sorted(glob.glob(out + '/P0001/ST01/SE01/*.dcm'))[0])
def base(cls):
    meta = FileMetaDataset(); meta.MediaStorageSOPClassUID = cls
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = Dataset(); ds.file_meta = meta; ds.preamble = b'\\0' * 128
    ds.is_little_endian = True; ds.is_implicit_VR = False
    for k in ['PatientName', 'PatientID', 'PatientSex', 'StudyInstanceUID', 'StudyDate', 'StudyTime']:
        if k in src: setattr(ds, k, getattr(src, k))
    ds.SOPClassUID = cls; ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    return ds
sr = base('1.2.840.10008.5.1.4.1.1.88.11'); sr.Modality = 'SR'
sr.SeriesInstanceUID = generate_uid(); sr.SeriesNumber = 90; sr.InstanceNumber = 1
sr.ValueType = 'CONTAINER'; sr.ContinuityOfContent = 'SEPARATE'
sr.save_as(out + '/report.dcm', write_like_original=False)
ct = base('1.2.840.10008.5.1.4.1.1.2'); ct.Modality = 'CT'
ct.SeriesInstanceUID = src.SeriesInstanceUID; ct.InstanceNumber = 50
ct.save_as(out + '/nopixels.dcm', write_like_original=False)
`,
      input,
    ],
    { encoding: 'utf8' },
  );
  assert.equal(made.status, 0, made.stderr);
  const ingested = await runCli(['ingest', input, '--lake', lake], env);
  assert.equal(ingested.code, 0, ingested.stderr);
  await makeModels(models);
  for (const name of ['ct-brightness', 'ct-volume-trend']) {
    const added = await runCli(
      ['models', 'add', join(models, name), '--lake', lake],
      env,
    );
    assert.equal(added.code, 0, added.stderr);
  }
  for (const [name, role] of [
    ['rita', Role.Researcher],
    ['bob', Role.Researcher],
    ['sam', Role.Steward],
    ['cole', Role.Collaborator],
  ] as const)
    tokens[name] = await tokenFor(lake, role, name);
  server = await startServer({ lake, port: 0 });
});
after(async () => {
  await server?.close();
  work.remove();
});

describe('model runs in the audit log, their owners, inputs and failures', () => {
  it('lpacs models add leaves one model.add entry per model stored, under the OS user', () => {
    const added = audit().filter((e) => e.action === 'model.add');
    assert.deepEqual(
      added.map((e) => [e.actor, e.outcome, e.target, e.detail]),
      ['ct-brightness', 'ct-volume-trend'].map((name) => [
        `cli:${USER}`,
        'ok',
        sha256sum(name),
        { name, version: '1.0.0' },
      ]),
    );
  });

  it('runModel leaves one model.run entry naming the job, the model and the selection; images only are inputs', async () => {
    // CT images of the input, read by pydicom: the CT object without
    // Rows is not one, nor is the report.
    const counted = spawnSync(
      '/usr/bin/python3',
      [
        '-c',
        `import sys, pydicom
print(sum(1 for f in sys.argv[1:] if (lambda d: d.get('Modality') == 'CT' and 'Rows' in d)(pydicom.dcmread(f, stop_before_pixels=True))))`,
        ...filesUnder(input),
      ],
      { encoding: 'utf8' },
    );
    assert.equal(counted.status, 0, counted.stderr);
    const ctImages = Number(counted.stdout.trim());
    assert.equal(ctImages, 16);
    let id = '';
    const entries = await entriesOf(async () => {
      const r = await gql<{ runModel: { id: string; owner: string } }>(
        'rita',
        'mutation { runModel(input: { model: "ct-brightness", filter: { modality: ["CT"] } }) { id owner progress { total } } }',
      );
      assert.equal(r.errors, undefined, JSON.stringify(r.errors));
      id = r.data!.runModel.id;
      assert.equal(r.data!.runModel.owner, 'rita');
    });
    assert.deepEqual(
      entries.map((e) => [e.actor, e.action, e.outcome, e.target, e.detail]),
      [
        [
          'rita',
          'model.run',
          'ok',
          id,
          {
            model: 'ct-brightness',
            version: '1.0.0',
            sha256: sha256sum('ct-brightness'),
            filter: true,
            inputs: ctImages,
          },
        ],
      ],
    );
    assert.equal((await finished(id)).phase, 'done');
    // Listed series: counted, never named.
    const series = (await lakeSeries()).filter((s) => s.modality === 'CT');
    const two = series.slice(0, 2);
    const listed = await entriesOf(async () => {
      const r = await gql<{ runModel: { id: string } }>(
        'bob',
        'mutation ($s: [String!]) { runModel(input: { model: "ct-brightness", seriesInstanceUIDs: $s }) { id } }',
        { s: two.map((s) => s.uid) },
      );
      assert.equal(r.errors, undefined, JSON.stringify(r.errors));
      id = r.data!.runModel.id;
    });
    assert.deepEqual(listed[0]!.detail, {
      model: 'ct-brightness',
      version: '1.0.0',
      sha256: sha256sum('ct-brightness'),
      series: 2,
      inputs: two[0]!.images + two[1]!.images,
    });
    assert.equal(listed.length, 1);
    await finished(id);
    // A series of a report only has no image to run on.
    const report = (await lakeSeries()).find((s) => s.modality === 'SR')!;
    assert.deepEqual([report.images, report.all], [0, 1]);
    let refused: Awaited<ReturnType<typeof gql>> | undefined;
    const refusal = await entriesOf(async () => {
      refused = await gql(
        'rita',
        'mutation ($s: [String!]) { runModel(input: { model: "ct-brightness", seriesInstanceUIDs: $s }) { id } }',
        { s: [report.uid] },
      );
    });
    // Refused, and said so: the model and selection, no job.
    assert.deepEqual(
      refusal.map((e) => [e.actor, e.action, e.outcome, e.target, e.detail]),
      [
        [
          'rita',
          'model.run',
          'failed',
          undefined,
          {
            model: 'ct-brightness',
            version: '1.0.0',
            sha256: sha256sum('ct-brightness'),
            series: 1,
            error: 'BAD_USER_INPUT',
          },
        ],
      ],
    );
    const answer = refused!;
    assert.equal(answer.errors?.[0]?.extensions?.code, 'BAD_USER_INPUT');
    assert.equal(
      answer.errors?.[0]?.message,
      `no image of series ${report.uid} in the lake`,
    );
  });

  it("cancelJob is its own model.cancel entry; only the job's owner, a steward or an admin may", async () => {
    // ct-brightness predicted these already: the job ends at once, and a
    // cancel then leaves it done.
    const started = await gql<{ runModel: { id: string } }>(
      'rita',
      'mutation { runModel(input: { model: "ct-brightness", filter: { modality: ["CT"] } }) { id } }',
    );
    assert.equal(started.errors, undefined, JSON.stringify(started.errors));
    const id = started.data!.runModel.id;
    await finished(id);
    const CANCEL =
      'mutation ($id: String!) { cancelJob(id: $id) { id owner phase } }';
    const identity = {
      model: 'ct-brightness',
      version: '1.0.0',
      sha256: sha256sum('ct-brightness'),
      filter: true,
      inputs: 16,
    };
    // bob, a researcher, sees rita's job but may not cancel it.
    const jobs = await gql<{ jobs: Array<{ id: string; owner: string }> }>(
      'bob',
      '{ jobs { id owner } }',
    );
    assert.equal(jobs.data!.jobs.find((j) => j.id === id)?.owner, 'rita');
    let answer: Awaited<ReturnType<typeof gql>> | undefined;
    const bobs = await entriesOf(async () => {
      answer = await gql('bob', CANCEL, { id });
    });
    assert.equal(answer!.data, null);
    assert.equal(answer!.errors?.[0]?.extensions?.code, 'FORBIDDEN');
    assert.equal(
      answer!.errors?.[0]?.message,
      `job ${id} was started by rita: only the user who started a job, a steward or an admin may cancel it`,
    );
    assert.deepEqual(
      bobs.map((e) => [e.actor, e.action, e.outcome, e.target, e.detail]),
      [
        [
          'bob',
          'model.cancel',
          'failed',
          id,
          {
            ...identity,
            owner: 'rita',
            why: 'not your job',
            error: 'FORBIDDEN',
          },
        ],
      ],
    );
    // A collaborator may not cancel at all: denied, naming the job.
    const coles = await entriesOf(() => gql('cole', CANCEL, { id }));
    assert.deepEqual(
      coles.map((e) => [e.actor, e.action, e.outcome, e.target]),
      [['cole', 'model.cancel', 'denied', id]],
    );
    // The owner and a steward may; the entry says what state it left.
    for (const who of ['rita', 'sam']) {
      const entries = await entriesOf(async () => {
        const r = await gql<{ cancelJob: { owner: string; phase: string } }>(
          who,
          CANCEL,
          { id },
        );
        assert.equal(r.errors, undefined, JSON.stringify(r.errors));
        assert.deepEqual(r.data!.cancelJob, {
          id,
          owner: 'rita',
          phase: 'done',
        });
      });
      assert.deepEqual(
        entries.map((e) => [e.actor, e.action, e.outcome, e.target, e.detail]),
        [
          [
            who,
            'model.cancel',
            'ok',
            id,
            { ...identity, owner: 'rita', phase: 'done', done: 16 },
          ],
        ],
      );
    }
    // Every run or cancel that happened names its job.
    assert.deepEqual(
      audit().filter(
        (e) => e.action.startsWith('model.') && e.outcome === 'ok' && !e.target,
      ),
      [],
    );
  });

  it('lpacs predict and predict --cancel are audited under the OS user, who owns the job', async () => {
    const series = (await lakeSeries()).filter((s) => s.modality === 'CT');
    const s = series[series.length - 1]!;
    let out = '';
    const run = await entriesOf(async () => {
      const r = await runCli(
        [
          ...['predict', '--model', 'ct-brightness', '--series', s.uid],
          ...['--lake', lake],
        ],
        env,
      );
      assert.equal(r.code, 0, r.stderr);
      out = r.stdout;
    });
    const id = /^job +(\S+)$/m.exec(out)![1]!;
    assert.match(out, new RegExp(`^owner +cli:${USER}$`, 'm'));
    assert.deepEqual(
      run.map((e) => [e.actor, e.action, e.outcome, e.target, e.detail]),
      [
        [
          `cli:${USER}`,
          'model.run',
          'ok',
          id,
          {
            model: 'ct-brightness',
            version: '1.0.0',
            sha256: sha256sum('ct-brightness'),
            series: 1,
            inputs: s.images,
          },
        ],
      ],
    );
    // The API shows its owner; a researcher may not cancel it.
    const listed = await gql<{ job: { owner: string } }>(
      'rita',
      'query ($id: String!) { job(id: $id) { owner } }',
      { id },
    );
    assert.equal(listed.data!.job.owner, `cli:${USER}`);
    const rita = await gql(
      'rita',
      'mutation ($id: String!) { cancelJob(id: $id) { id } }',
      { id },
    );
    assert.equal(rita.errors?.[0]?.extensions?.code, 'FORBIDDEN');
    const cancel = await entriesOf(async () => {
      const r = await runCli(['predict', '--cancel', id, '--lake', lake], env);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, `job ${id} done\n`);
    });
    assert.deepEqual(
      cancel.map((e) => [e.actor, e.action, e.target, e.detail]),
      [
        [
          `cli:${USER}`,
          'model.cancel',
          id,
          {
            model: 'ct-brightness',
            version: '1.0.0',
            sha256: sha256sum('ct-brightness'),
            series: 1,
            inputs: s.images,
            owner: `cli:${USER}`,
            phase: 'done',
            done: s.images,
          },
        ],
      ],
    );
  });

  it("names a stacking model's failed series with its instance count, and an erased object OBJECT_MISSING without its path", async () => {
    const series = (await lakeSeries()).filter((s) => s.modality === 'CT');
    const s = series[0]!;
    // One image's object erased behind the index's back, as an erasure
    // during a job does.
    const [gone] = await parquetRows(
      `SELECT "SOPInstanceUID" AS sop, object_key
       FROM read_parquet('${lake}/tables/instances/*/*.parquet')
       WHERE "SeriesInstanceUID" = '${s.uid}' AND "Rows" IS NOT NULL
       ORDER BY 1 LIMIT 1`,
    );
    rmSync(join(lake, String(gone!.object_key)));
    const MISSING =
      'its object is no longer in the lake (erased or removed after the job selected it)';
    const r = await runCli(
      [
        ...['predict', '--model', 'ct-volume-trend', '--series', s.uid],
        ...['--lake', lake],
      ],
      env,
    );
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`^failed +${s.images}$`, 'm'));
    assert.ok(
      r.stdout.includes(
        `\n  series ${s.uid} (${s.images} instances; at ${String(gone!.sop)})  OBJECT_MISSING  ${MISSING}\n`,
      ),
      r.stdout,
    );
    assert.ok(!r.stdout.includes(work.path), r.stdout);
    const id = /^job +(\S+)$/m.exec(r.stdout)![1]!;
    type J = {
      job: {
        progress: { failed: number };
        failures: Array<Record<string, unknown>>;
      };
    };
    const FAILURES =
      'query ($id: String!) { job(id: $id) { progress { failed } failures { sopInstanceUID seriesInstanceUID instances code message } } }';
    const stacked = await gql<J>('rita', FAILURES, { id });
    assert.deepEqual(stacked.data!.job, {
      progress: { failed: s.images },
      failures: [
        {
          sopInstanceUID: String(gone!.sop),
          seriesInstanceUID: s.uid,
          instances: s.images,
          code: 'OBJECT_MISSING',
          message: MISSING,
        },
      ],
    });
    // A model of images over the same series, started over GraphQL: the
    // instance is named, once.
    const added = await runCli(
      ['models', 'add', join(models, 'ct-threshold'), '--lake', lake],
      env,
    );
    assert.equal(added.code, 0, added.stderr);
    const started = await gql<{ runModel: { id: string } }>(
      'rita',
      'mutation ($s: [String!]) { runModel(input: { model: "ct-threshold", seriesInstanceUIDs: $s }) { id } }',
      { s: [s.uid] },
    );
    assert.equal(started.errors, undefined, JSON.stringify(started.errors));
    assert.equal((await finished(started.data!.runModel.id)).phase, 'done');
    const byImage = await gql<J>('rita', FAILURES, {
      id: started.data!.runModel.id,
    });
    assert.deepEqual(byImage.data!.job, {
      progress: { failed: 1 },
      failures: [
        {
          sopInstanceUID: String(gone!.sop),
          seriesInstanceUID: null,
          instances: 1,
          code: 'OBJECT_MISSING',
          message: MISSING,
        },
      ],
    });
  });
});
