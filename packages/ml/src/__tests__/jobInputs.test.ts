import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Lake, newBatchId } from '@lpacs/lake';
import type { Row } from '@lpacs/lake';
import { decodeFrame } from '@lpacs/pixels';
import { JobStore } from '../JobStore';
import type { JobInput } from '../jobTypes';
import { MlError, MlErrorCode } from '../MlError';
import { PredictionJobs } from '../PredictionJobs';
import { makeModels, repo } from './helpers';

// What a job takes as inputs, and what it says of one it cannot read:
// images only (an instance without Rows and Columns, as a structured
// report or a document, is not selected), and an object erased after the
// job selected it is OBJECT_MISSING without the server's path.
const SERIES = 'datasets/cache/ct-test/P0001/ST01/SE01';
const work = mkdtempSync(join(tmpdir(), 'lpacs-ml-inputs-'));
const GONE = '2.25.40.9';
const REPORT = '2.25.40.8';
let models: string;
let slices: string[];

/**
 * A lake holding SERIES' slices as images of series 2.25.40, beside a
 * report without Rows and an image whose object is gone, and a series
 * 2.25.50 of one report; ct-brightness stored.
 */
async function makeLake(name: string): Promise<string> {
  const lake = join(work, name);
  const l = await Lake.open(lake);
  try {
    const row = (sop: string, series: string, extra: Row): Row => ({
      SOPInstanceUID: sop,
      SeriesInstanceUID: series,
      StudyInstanceUID: '2.25.1',
      Modality: 'CT',
      ...extra,
    });
    const put = (bytes: Buffer) =>
      l.putObjectSync(bytes, createHash('sha256').update(bytes).digest('hex'));
    const rows: Row[] = slices.map((f, i) =>
      row(`2.25.40.${i}`, '2.25.40', {
        InstanceNumber: i + 1,
        Rows: 64,
        Columns: 64,
        NumberOfFrames: 1,
        object_key: put(readFileSync(join(repo, SERIES, f))),
      }),
    );
    // No Rows or Columns: not an image, as the index has a report.
    rows.push(
      row(REPORT, '2.25.40', {
        InstanceNumber: 90,
        object_key: put(Buffer.from('a report, not an image')),
      }),
      row('2.25.50.1', '2.25.50', {
        object_key: put(Buffer.from('another report')),
      }),
    );
    // An image whose object is no longer there.
    rows.push(
      row(GONE, '2.25.40', {
        InstanceNumber: 99,
        Rows: 64,
        Columns: 64,
        NumberOfFrames: 1,
        object_key: `objects/00/${'0'.repeat(64)}.dcm`,
      }),
    );
    await l.commitBatch(newBatchId(), { instances: rows });
  } finally {
    l.close();
  }
  const jobs = new PredictionJobs({ lakeRoot: lake });
  try {
    await jobs.registry.add(join(models, 'ct-brightness'));
  } finally {
    await jobs.close();
  }
  return lake;
}

before(() => {
  models = makeModels();
  slices = readdirSync(join(repo, SERIES))
    .filter((f) => f.endsWith('.dcm'))
    .sort();
});
after(() => {
  rmSync(work, { recursive: true, force: true });
  rmSync(models, { recursive: true, force: true });
});

describe("a job's inputs", () => {
  // In the frame worker (as lpacs serve and predict run jobs) and on the
  // job's own thread (a job given its own decoder).
  for (const where of ['frame worker', 'own thread'] as const)
    it(`selects images only and names an erased object OBJECT_MISSING, without the lake's path (${where})`, async () => {
      const lake = await makeLake(where.replace(' ', '-'));
      const jobs = new PredictionJobs({
        lakeRoot: lake,
        session: { intraOpNumThreads: 1 },
        ...(where === 'own thread' ? { decodeFrame } : {}),
      });
      try {
        const created = await jobs.create(
          'ct-brightness',
          { seriesInstanceUIDs: ['2.25.40'] },
          { owner: 'rita' },
        );
        assert.equal(created.owner, 'rita');
        // The slices and the erased image; the report is not an input.
        const inputs = await new JobStore(lake).inputs(created.id);
        assert.deepEqual(
          (inputs as JobInput[]).map((i) => i.SOPInstanceUID).sort(),
          [...slices.map((_, i) => `2.25.40.${i}`), GONE].sort(),
        );
        const job = await jobs.run(created.id);
        assert.equal(job.phase, 'done');
        assert.equal(job.owner, 'rita');
        assert.deepEqual(job.progress, {
          total: slices.length + 1,
          done: slices.length + 1,
          predicted: slices.length,
          skipped: 0,
          failed: 1,
        });
        assert.deepEqual(job.failures, [
          {
            SOPInstanceUID: GONE,
            code: MlErrorCode.ObjectMissing,
            message:
              'its object is no longer in the lake (erased or removed after the job selected it)',
          },
        ]);
        assert.ok(!JSON.stringify(job).includes(work), 'no server path');
        // Its state on disk keeps the owner.
        assert.equal((await new JobStore(lake).get(job.id)).owner, 'rita');
      } finally {
        await jobs.close();
      }
    });

  it('refuses a series of reports only as having no image', async () => {
    const lake = await makeLake('reports');
    const jobs = new PredictionJobs({ lakeRoot: lake });
    try {
      await assert.rejects(
        jobs.create('ct-brightness', { seriesInstanceUIDs: ['2.25.50'] }),
        (err: unknown) =>
          err instanceof MlError &&
          err.code === MlErrorCode.BadSelection &&
          err.message === 'no image of series 2.25.50 in the lake',
      );
    } finally {
      await jobs.close();
    }
  });
});
