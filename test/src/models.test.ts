import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { Role } from '@lpacs/access';
import { startServer } from '@lpacs/api';
import type { RunningServer } from '@lpacs/api';
import {
  CT,
  REPO,
  addModel,
  dcmdump,
  filesUnder,
  gqlResult,
  makeModels,
  parquetRows,
  runCli,
  tempDir,
  tokenFor,
} from './helpers';

// A model run over a cohort from GraphQL, whose predictions then select a
// cohort: checked against numpy's scores on the same stored objects.
const run = promisify(execFile);
const work = tempDir('models');
const lake = join(work.path, 'lake');
let server: RunningServer;
let token = '';

function gql<T>(query: string, variables?: object) {
  return gqlResult<T>(server.url, token, query, variables);
}

before(async () => {
  const ingested = await runCli(['ingest', CT, '--lake', lake, '--json']);
  assert.equal(ingested.code, 0, ingested.stderr);
  const models = join(work.path, 'models');
  await makeModels(models);
  await addModel(lake, models, 'ct-brightness');
  token = await tokenFor(lake, Role.Researcher);
  server = await startServer({ lake, port: 0 });
});
after(async () => {
  await server?.close();
  work.remove();
});

describe('a model over a cohort, its predictions as criteria', () => {
  it('runs ct-brightness on the CT cohort and selects by score like numpy does', async () => {
    const started = await gql<{ runModel: { id: string } }>(
      'mutation { runModel(input: { model: "ct-brightness", filter: { modality: ["CT"] } }) { id } }',
    );
    assert.equal(started.errors, undefined, JSON.stringify(started.errors));
    const id = started.data!.runModel.id;
    let status = '';
    for (
      let i = 0;
      i < 600 && !['done', 'failed', 'cancelled'].includes(status);
      i++
    ) {
      await new Promise((r) => setTimeout(r, 100));
      const job = await gql<{ job: { phase: string } }>(
        'query ($id: String!) { job(id: $id) { phase } }',
        { id },
      );
      status = job.data?.job.phase ?? JSON.stringify(job.errors);
    }
    assert.equal(status, 'done');
    // numpy's scores on the de-identified objects the lake holds.
    const objects = filesUnder(join(lake, 'objects')).filter(
      (f) => dcmdump(f, ['0008,0060'])?.['0008,0060'] === 'CT',
    );
    const { stdout } = await run(
      '/usr/bin/python3',
      [join(REPO, 'packages', 'ml', 'scripts', 'reference.py'), ...objects],
      { maxBuffer: 1 << 28 },
    );
    const bright = (JSON.parse(stdout) as Array<{ scores: number[] }>)
      .map((r) => r.scores[0]!)
      .sort((a, b) => a - b);
    // A threshold halfway between two distinct scores near the median.
    const mid = Math.floor(bright.length / 2);
    let hi = mid;
    while (hi < bright.length - 1 && bright[hi]! - bright[mid - 1]! < 1e-4)
      hi++;
    const threshold = (bright[mid - 1]! + bright[hi]!) / 2;
    const expected = bright.filter((s) => s >= threshold).length;
    assert.ok(
      expected > 0 && expected < bright.length,
      'the threshold splits the cohort',
    );
    const cohort = await gql<{ cohort: { counts: { instances: number } } }>(
      'query ($f: CohortFilter) { cohort(filter: $f) { counts { instances } } }',
      {
        f: {
          prediction: [
            { model: 'ct-brightness', label: 'bright', minScore: threshold },
          ],
        },
      },
    );
    assert.equal(cohort.errors, undefined, JSON.stringify(cohort.errors));
    assert.equal(cohort.data!.cohort.counts.instances, expected);
  });

  it('refuses a model with no predictions in the lake, naming it and the models that have some (new-user case: a misspelt model counted 0)', async () => {
    const q =
      'query ($f: CohortFilter) { cohort(filter: $f) { counts { instances } } }';
    const misspelt = await gql(q, {
      f: {
        anyOf: [
          { modality: ['MR'] },
          { prediction: [{ model: 'ct-brightnes', label: 'bright' }] },
        ],
      },
    });
    assert.equal(misspelt.data, null);
    assert.equal(misspelt.errors?.[0]?.extensions?.code, 'BAD_USER_INPUT');
    assert.equal(
      misspelt.errors?.[0]?.message,
      'in anyOf[1]: no predictions from model "ct-brightnes" in this lake (models with predictions: ct-brightness); run it with runModel or lpacs predict first',
    );
    assert.equal(
      (misspelt.errors?.[0]?.extensions as { field?: string }).field,
      'anyOf[1].prediction',
    );
    const mislabelled = await gql(q, {
      f: { prediction: [{ model: 'ct-brightness', label: 'brigth' }] },
    });
    assert.equal(mislabelled.errors?.[0]?.extensions?.code, 'BAD_USER_INPUT');
    const labels = (
      await parquetRows(
        `SELECT DISTINCT label FROM read_parquet('${lake}/tables/predictions/*/*.parquet') WHERE model_name = 'ct-brightness' ORDER BY label`,
      )
    ).map((r) => String(r.label));
    assert.equal(
      mislabelled.errors?.[0]?.message,
      `model "ct-brightness" has no predictions labelled "brigth" (its labels: ${labels.join(', ')})`,
    );
    const listed = await gql<{
      models: Array<{ name: string; sha256: string }>;
    }>('{ models { name sha256 } }');
    const sha = listed.data!.models.find(
      (m) => m.name === 'ct-brightness',
    )!.sha256;
    const ok = await gql(q, {
      f: { prediction: [{ model: sha, label: 'bright' }] },
    });
    assert.equal(ok.errors, undefined, JSON.stringify(ok.errors));
  });

  it('refuses reversed bounds and a bound the label does not have, naming the field (new-user case: both counted 0)', async () => {
    const q =
      'query ($f: CohortFilter) { cohort(filter: $f) { counts { instances } } }';
    const field = (r: { errors?: Array<{ extensions?: object }> }) =>
      (r.errors?.[0]?.extensions as { field?: string; code?: string }) ?? {};
    const reversed = await gql(q, {
      f: {
        prediction: [
          {
            model: 'ct-brightness',
            label: 'bright',
            minScore: 0.9,
            maxScore: 0.1,
          },
        ],
      },
    });
    assert.equal(reversed.data, null);
    assert.deepEqual(field(reversed), {
      code: 'BAD_USER_INPUT',
      field: 'prediction.minScore',
    });
    assert.equal(
      reversed.errors?.[0]?.message,
      'prediction minScore (0.9) is greater than maxScore (0.1)',
    );
    // ct-brightness is a classification model: its rows have scores only.
    const kinds = await parquetRows(
      `SELECT count(score) AS scores, count(value) AS values FROM read_parquet('${lake}/tables/predictions/*/*.parquet') WHERE model_name = 'ct-brightness' AND label = 'bright'`,
    );
    assert.ok(Number(kinds[0]!.scores) > 0);
    assert.equal(Number(kinds[0]!.values), 0);
    for (const key of ['minValue', 'maxValue']) {
      const r = await gql(q, {
        f: {
          anyOf: [
            { modality: ['MR'] },
            {
              prediction: [
                { model: 'ct-brightness', label: 'bright', [key]: 0.5 },
              ],
            },
          ],
        },
      });
      assert.equal(r.data, null, key);
      assert.deepEqual(field(r), {
        code: 'BAD_USER_INPUT',
        field: `anyOf[1].prediction.${key}`,
      });
      assert.match(r.errors?.[0]?.message ?? '', /use minScore\/maxScore/);
    }
    // Equal bounds are a range of one point, and taken.
    const equal = await gql(q, {
      f: {
        prediction: [
          {
            model: 'ct-brightness',
            label: 'bright',
            minScore: 0.5,
            maxScore: 0.5,
          },
        ],
      },
    });
    assert.equal(equal.errors, undefined, JSON.stringify(equal.errors));
  });

  it('runModel, cohortSql and saveCohort check a filter as cohort does (re-trial: runModel said "no instance in the lake", cohortSql answered SQL)', async () => {
    const admin = await tokenFor(lake, Role.Admin);
    type Err = {
      message?: string;
      extensions?: { code?: string; field?: string };
    };
    type Answer = { data?: unknown; errors?: Err[] };
    const entryPoints: Array<[string, (f: object) => Promise<Answer>]> = [
      [
        'cohort',
        (f) =>
          gql(
            'query ($f: CohortFilter) { cohort(filter: $f) { counts { instances } } }',
            { f },
          ),
      ],
      [
        'cohortSql',
        (f) =>
          gqlResult(
            server.url,
            admin,
            'query ($f: CohortFilter) { cohortSql(filter: $f) { sql } }',
            { f },
          ),
      ],
      [
        'saveCohort',
        (f) =>
          gql(
            'mutation ($f: CohortFilter) { saveCohort(name: "bad bounds", filter: $f) { id } }',
            { f },
          ),
      ],
      [
        'runModel',
        (f) =>
          gql(
            'mutation ($f: CohortFilter) { runModel(input: { model: "ct-brightness", filter: $f }) { id } }',
            { f },
          ),
      ],
    ];
    // ct-brightness's rows for "bright" have scores and no values (counted
    // from Parquet), so a value bound on it is the wrong kind.
    const kinds = await parquetRows(
      `SELECT count(score) AS scores, count(value) AS values FROM read_parquet('${lake}/tables/predictions/*/*.parquet') WHERE model_name = 'ct-brightness' AND label = 'bright'`,
    );
    assert.ok(Number(kinds[0]!.scores) > 0);
    assert.equal(Number(kinds[0]!.values), 0);
    const p = (bounds: object) => ({
      prediction: [{ model: 'ct-brightness', label: 'bright', ...bounds }],
    });
    const bad: Array<[object, string]> = [
      [p({ minValue: 0.5 }), 'prediction.minValue'],
      [p({ maxValue: 0.5 }), 'prediction.maxValue'],
      [p({ minScore: 0.9, maxScore: 0.1 }), 'prediction.minScore'],
      [
        { anyOf: [{ modality: ['CT'] }, p({ minValue: 0.2, maxValue: 0.1 })] },
        'anyOf[1].prediction.minValue',
      ],
      [p({ model: 'ct-brightnes' }), 'prediction'],
    ];
    const savedBefore = await gql<{ savedCohorts: unknown[] }>(
      '{ savedCohorts { id } }',
    );
    const jobsBefore = await gql<{ jobs: unknown[] }>('{ jobs { id } }');
    for (const [filter, field] of bad) {
      const answers = await Promise.all(
        entryPoints.map(
          async ([name, ask]) => [name, await ask(filter)] as const,
        ),
      );
      const first = answers[0]![1].errors?.[0];
      for (const [name, r] of answers) {
        const what = `${name} ${JSON.stringify(filter)}`;
        assert.equal(r.data ?? null, null, what);
        assert.equal(r.errors?.length, 1, what);
        assert.equal(r.errors![0]!.extensions?.code, 'BAD_USER_INPUT', what);
        assert.equal(r.errors![0]!.extensions?.field, field, what);
        assert.equal(r.errors![0]!.message, first?.message, what);
      }
    }
    // Nothing was saved and no job started.
    const savedAfter = await gql<{ savedCohorts: unknown[] }>(
      '{ savedCohorts { id } }',
    );
    assert.equal(
      savedAfter.data?.savedCohorts.length,
      savedBefore.data?.savedCohorts.length,
    );
    const jobsAfter = await gql<{ jobs: unknown[] }>('{ jobs { id } }');
    assert.equal(jobsAfter.data?.jobs.length, jobsBefore.data?.jobs.length);
    // A good filter still answers at each.
    for (const [name, ask] of entryPoints.slice(0, 2)) {
      const r = await ask(p({ minScore: 0.5 }));
      assert.equal(r.errors, undefined, `${name} ${JSON.stringify(r.errors)}`);
    }
  });

  it('names a bad prediction bound', async () => {
    const r = await gql(
      '{ cohort(filter: { prediction: [{ model: " ", label: "bright" }] }) { counts { instances } } }',
    );
    assert.match(
      r.errors?.[0]?.message ?? '',
      /prediction model must be 1-200 characters/,
    );
  });
});
