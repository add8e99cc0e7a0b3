import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Catalog, Lake } from '@lpacs/lake';
import { LakePredictionSink } from '../LakePredictionSink';
import { ModelRegistry } from '../ModelRegistry';
import { PredictionJobs } from '../PredictionJobs';
import { GONE, SERIES, makeModels, twelveSliceLake } from './helpers';

// A job predicts instances it selected at its start; an erasure that
// runs between a chunk's prediction and its commit (nothing in the ml
// package alone keeps one out) must not see the chunk's rows and masks
// land afterwards for instances that no longer exist.

const tmp = mkdtempSync(join(tmpdir(), 'lpacs-ml-erased-'));
let models: string;
before(() => {
  models = makeModels();
});
after(() => {
  rmSync(tmp, { recursive: true, force: true });
  rmSync(models, { recursive: true, force: true });
});

function filesUnder(dir: string): string[] {
  try {
    return readdirSync(dir, { recursive: true, withFileTypes: true })
      .filter((e) => e.isFile())
      .map((e) => e.name);
  } catch {
    return [];
  }
}

describe('a job whose inputs are erased before their chunk commits', () => {
  it('commits no prediction row and writes no mask of them, and counts them failed', async () => {
    const root = join(tmp, 'lake');
    await twelveSliceLake(root);
    await new ModelRegistry(root).add(join(models, 'ct-threshold'));
    const real = new LakePredictionSink(root);
    let erased = 0;
    const jobs = new PredictionJobs({
      lakeRoot: root,
      session: { intraOpNumThreads: 1 },
      commitEvery: 4,
      sink: {
        // The chunk of GONE's series is predicted; GONE is erased before
        // its rows reach the lake.
        commit: async (rows, masks) => {
          if (rows.some((r) => r.SeriesInstanceUID === SERIES[2])) {
            const lake = await Lake.open(root);
            try {
              erased = (
                await lake.eraseInstances({
                  sql: '"PatientID" = ?',
                  params: [GONE],
                })
              ).instances.length;
            } finally {
              lake.close();
            }
          }
          return real.commit(rows, masks);
        },
      },
    });
    try {
      const { id } = await jobs.create('ct-threshold', {
        seriesInstanceUIDs: SERIES,
      });
      const job = await jobs.run(id);
      assert.equal(erased, 4, 'the erasure ran while the job did');
      assert.equal(job.phase, 'done');
      assert.deepEqual(job.progress, {
        total: 12,
        done: 12,
        predicted: 8,
        skipped: 0,
        failed: 4,
      });
      // Counted, not named: a failure's instances add up to failed.
      assert.deepEqual(
        job.failures.map((f) => [f.code, f.instances, f.SOPInstanceUID]),
        [['INPUT_ERASED', 4, undefined]],
      );
    } finally {
      await jobs.close();
    }
    const catalog = await Catalog.open(root, { threads: 1 });
    try {
      const rows = await catalog.query(
        'SELECT "SOPInstanceUID" AS sop FROM predictions ORDER BY 1',
      );
      // ct-threshold: one row per slice (label "dense"), of KEPT's 8 only.
      assert.deepEqual(
        rows.map((r) => r.sop),
        [1, 2, 3, 4, 5, 6, 7, 8].map((i) => `2.25.${i}`).sort(),
      );
    } finally {
      await catalog.close();
    }
    // Masks are named after their instance in a lake in the clear.
    const masks = filesUnder(join(root, 'masks'));
    assert.ok(masks.length >= 8, masks.join(', '));
    const of = new Set(masks.map((m) => /^(.+)-\d+\./.exec(m)?.[1]));
    assert.deepEqual(
      [...of].sort(),
      [1, 2, 3, 4, 5, 6, 7, 8].map((i) => `2.25.${i}`).sort(),
    );
  });
});
