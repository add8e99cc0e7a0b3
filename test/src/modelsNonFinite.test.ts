import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import {
  CT,
  REPO,
  dcmdump,
  filesUnder,
  parquetRows,
  runCli,
  tempDir,
} from './helpers';

// A model whose output is NaN or an infinity for an input: that input
// fails NON_FINITE_OUTPUT, gets no row and no mask, and the job goes on.
// (New-user trial: a NaN model gave "predicted 3, failed 0" and rows with
// a NULL score.) Which inputs fail follows from each frame's mean as numpy
// computes it (packages/ml/scripts/reference.py), the models being those
// of datasets/make-fault-models.py with a threshold between two means.
const run = promisify(execFile);
const work = tempDir('models-nonfinite');
const lake = join(work.path, 'lake');
const models = join(work.path, 'models');
/** numpy's frame mean and mask fraction of each CT instance, by UID. */
const refs = new Map<string, { mean: number; maskFraction: number }>();
let threshold = 0;
/** Each series' instance UIDs, and the threshold between two series means. */
const seriesOf = new Map<string, string[]>();
let volumeThreshold = 0;

/** Halfway across the widest gap between two sorted values near the median. */
function between(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  let best = 0;
  let at = 0;
  for (let i = Math.floor(sorted.length / 4); i < (3 * sorted.length) / 4; i++)
    if (sorted[i + 1]! - sorted[i]! > best) {
      best = sorted[i + 1]! - sorted[i]!;
      at = (sorted[i]! + sorted[i + 1]!) / 2;
    }
  // Far enough apart that float32 and float64 agree on each side.
  assert.ok(best > 1e-3, 'two values far enough apart');
  return at;
}

/** numpy's mean of a series' stacked input: its four slices' means averaged. */
function seriesMean(series: string): number {
  const uids = seriesOf.get(series)!;
  assert.equal(uids.length, 4); // ct-test: 4 slices a series, all stacked
  return uids.reduce((n, u) => n + refs.get(u)!.mean, 0) / uids.length;
}

interface JobJson {
  id: string;
  phase: string;
  progress: { total: number; predicted: number; failed: number };
  failures: Array<{ SOPInstanceUID?: string; code: string; message: string }>;
}

before(async () => {
  const ingested = await runCli(['ingest', CT, '--lake', lake]);
  assert.equal(ingested.code, 0, ingested.stderr);
  const objects = filesUnder(join(lake, 'objects')).filter(
    (f) => dcmdump(f, ['0008,0060'])?.['0008,0060'] === 'CT',
  );
  const { stdout } = await run(
    '/usr/bin/python3',
    [join(REPO, 'packages', 'ml', 'scripts', 'reference.py'), ...objects],
    { maxBuffer: 1 << 28 },
  );
  const out = JSON.parse(stdout) as Array<{
    path: string;
    mean: number;
    maskFraction: number;
  }>;
  for (const r of out) {
    const ids = dcmdump(r.path, ['0008,0018', '0020,000e'])!;
    const uid = ids['0008,0018']!;
    refs.set(uid, r);
    const series = ids['0020,000e']!;
    seriesOf.set(series, [...(seriesOf.get(series) ?? []), uid]);
  }
  threshold = between(out.map((r) => r.mean));
  volumeThreshold = between([...seriesOf.keys()].map(seriesMean));
  await run('/usr/bin/python3', [
    join(REPO, 'datasets', 'make-fault-models.py'),
    ...['--threshold', String(threshold), '--out', models],
    ...['--volume-threshold', String(volumeThreshold)],
  ]);
});
after(() => work.remove());

/** `lpacs models add` then `lpacs predict --json` over the CT instances. */
async function predict(model: string): Promise<{ job: JobJson; sha: string }> {
  const added = await runCli([
    ...['models', 'add', join(models, model), '--lake', lake],
  ]);
  assert.equal(added.code, 0, added.stderr);
  const sha = /sha256 ([0-9a-f]{64})/.exec(added.stdout)![1]!;
  const r = await runCli([
    ...['predict', '--model', model, '--modality', 'CT'],
    ...['--lake', lake, '--json'],
  ]);
  assert.equal(r.code, 0, r.stderr);
  return { job: JSON.parse(r.stdout) as JobJson, sha };
}

function split(): { low: string[]; high: string[] } {
  const low = [...refs].filter(([, r]) => r.mean < threshold).map(([u]) => u);
  const high = [...refs].filter(([, r]) => r.mean > threshold).map(([u]) => u);
  assert.ok(low.length > 0 && high.length > 0, 'the threshold splits them');
  return { low: low.sort(), high: high.sort() };
}

async function rowsOf(runId: string) {
  return parquetRows(
    `SELECT "SOPInstanceUID" AS sop, label, score, value, mask_key FROM read_parquet('${lake}/tables/predictions/**/*.parquet', union_by_name = true, hive_partitioning = false) WHERE run_id = '${runId}' ORDER BY sop, label`,
  );
}

describe('a model whose output is not finite', () => {
  it('fails the inputs it gives +Infinity scores, NON_FINITE_OUTPUT, and predicts the others', async () => {
    const { low, high } = split();
    const { job } = await predict('ct-nonfinite');
    assert.equal(job.phase, 'done');
    assert.equal(job.progress.total, refs.size);
    assert.equal(job.progress.predicted, high.length);
    assert.equal(job.progress.failed, low.length);
    assert.deepEqual(
      job.failures.map((f) => f.SOPInstanceUID).sort(),
      low,
      'the inputs below the threshold failed',
    );
    for (const f of job.failures) {
      assert.equal(f.code, 'NON_FINITE_OUTPUT');
      assert.equal(
        f.message,
        "the model's output has 1 +Infinity of its 2 values; no prediction or mask was kept",
      );
    }
    const rows = await rowsOf(job.id);
    assert.deepEqual([...new Set(rows.map((r) => String(r.sop)))], high);
    assert.equal(rows.length, 2 * high.length);
    for (const r of rows) {
      const m = refs.get(String(r.sop))!.mean;
      const expected = r.label === 'mean' ? m : 1 / (m - threshold);
      assert.ok(
        Number.isFinite(r.score) &&
          Math.abs(Number(r.score) - expected) <= 1e-4 * Math.abs(expected),
        `${String(r.label)}: ${String(r.score)} vs numpy ${expected}`,
      );
    }
  });

  it('fails the inputs it gives a NaN mask, writing no mask for them', async () => {
    const { low, high } = split();
    const { job, sha } = await predict('ct-nonfinite-mask');
    assert.equal(job.phase, 'done');
    assert.equal(job.progress.predicted, high.length);
    assert.equal(job.progress.failed, low.length);
    assert.deepEqual(job.failures.map((f) => f.SOPInstanceUID).sort(), low);
    for (const f of job.failures) {
      assert.equal(f.code, 'NON_FINITE_OUTPUT');
      assert.equal(
        f.message,
        "the model's output has 1024 NaN of its 1024 values; no prediction or mask was kept",
      );
    }
    const rows = await rowsOf(job.id);
    assert.deepEqual(
      rows.map((r) => String(r.sop)),
      high,
    );
    for (const r of rows) {
      const expected = refs.get(String(r.sop))!.maskFraction;
      assert.ok(
        Math.abs(Number(r.value) - expected) < 1e-6,
        `${String(r.value)} vs numpy ${expected}`,
      );
    }
    // A .npy and a SEG for each predicted instance, none for the others.
    const masks = filesUnder(join(lake, 'masks')).filter((f) =>
      f.includes(sha),
    );
    assert.equal(
      masks.filter((f) => f.endsWith('.npy')).length,
      high.length,
      masks.join('\n'),
    );
    assert.deepEqual(
      rows.map((r) => String(r.mask_key)).sort(),
      masks
        .filter((f) => f.endsWith('.npy'))
        .map((f) => f.slice(lake.length + 1))
        .sort(),
    );
  });

  it('fails a whole series a stacking model gives +Infinity, naming the series and its instances', async () => {
    const series = [...seriesOf.keys()];
    const low = series.filter((u) => seriesMean(u) < volumeThreshold).sort();
    const high = series.filter((u) => seriesMean(u) > volumeThreshold).sort();
    assert.ok(low.length > 0 && high.length > 0, 'the threshold splits them');
    const { job } = await predict('ct-volume-nonfinite');
    assert.equal(job.phase, 'done');
    // A stacking model counts instances: four a series.
    assert.equal(job.progress.predicted, 4 * high.length);
    assert.equal(job.progress.failed, 4 * low.length);
    const failures = job.failures as Array<{
      SeriesInstanceUID?: string;
      instances?: number;
      code: string;
      message: string;
    }>;
    assert.deepEqual(failures.map((f) => f.SeriesInstanceUID).sort(), low);
    for (const f of failures) {
      assert.equal(f.instances, 4);
      assert.equal(f.code, 'NON_FINITE_OUTPUT');
      assert.equal(
        f.message,
        "the model's output has 1 +Infinity of its 1 values; no prediction or mask was kept",
      );
    }
    const rows = await parquetRows(
      `SELECT "SeriesInstanceUID" AS series, "SOPInstanceUID" AS sop, value FROM read_parquet('${lake}/tables/predictions/**/*.parquet', union_by_name = true, hive_partitioning = false) WHERE run_id = '${job.id}' ORDER BY series`,
    );
    assert.deepEqual(
      rows.map((r) => String(r.series)),
      high,
    );
    for (const r of rows) {
      assert.equal(r.sop, null);
      const expected = 1 / (seriesMean(String(r.series)) - volumeThreshold);
      assert.ok(
        Math.abs(Number(r.value) - expected) <= 1e-4 * Math.abs(expected),
        `${String(r.value)} vs numpy ${expected}`,
      );
    }
  });
});
