import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Catalog, Lake, newBatchId } from '@lpacs/lake';
import type { Row } from '@lpacs/lake';
import { LakePredictionSink } from '../LakePredictionSink';
import { ModelRegistry } from '../ModelRegistry';
import { PredictionJobs } from '../PredictionJobs';
import { makeModels, repo } from './helpers';

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

const KEPT = 'LPAAAAAAAAAAAAAAAA';
const GONE = 'LPBBBBBBBBBBBBBBBB';
const SERIES = ['2.25.1000', '2.25.1001', '2.25.1002'];

/** Twelve CT slices of the corpus: two series of KEPT, one of GONE. */
async function makeLake(root: string): Promise<void> {
  const dir = join(repo, 'datasets/cache/ct-test/P0001');
  const files: string[] = [];
  for (const study of readdirSync(dir).sort())
    for (const series of readdirSync(join(dir, study)).sort())
      for (const f of readdirSync(join(dir, study, series)).sort())
        files.push(join(dir, study, series, f));
  const lake = await Lake.open(root);
  try {
    const rows: Row[] = files.slice(0, 12).map((path, i) => {
      const bytes = readFileSync(path);
      const sha = createHash('sha256').update(bytes).digest('hex');
      return {
        SOPInstanceUID: `2.25.${i + 1}`,
        SeriesInstanceUID: SERIES[Math.floor(i / 4)]!,
        StudyInstanceUID: '2.25.7000',
        PatientID: i < 8 ? KEPT : GONE,
        Modality: 'CT',
        InstanceNumber: (i % 4) + 1,
        Rows: 64,
        Columns: 64,
        NumberOfFrames: 1,
        object_key: lake.putObjectSync(bytes, sha),
      };
    });
    await lake.commitBatch(newBatchId(), { instances: rows });
  } finally {
    lake.close();
  }
}

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
    await makeLake(root);
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
