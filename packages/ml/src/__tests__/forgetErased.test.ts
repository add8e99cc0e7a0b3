import assert from 'node:assert/strict';
import {
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Lake } from '@lpacs/lake';
import type { ErasurePlan } from '@lpacs/lake';
import { chunkEnd } from '../chunkInputs';
import { forgetErasedInJob } from '../forgetErased';
import { JobStore } from '../JobStore';
import type { JobInput, JobState, StoredInput } from '../jobTypes';
import { ModelRegistry } from '../ModelRegistry';
import { PredictionJobs } from '../PredictionJobs';
import { GONE, makeModels, twelveSliceLake } from './helpers';

// An erasure takes the erased instances out of every prediction job's
// files: a finished job's inputs lose them, an unfinished one keeps their
// places (its progress.done is an index into the list) as entries naming
// nothing, which it counts as failed (INPUT_ERASED) when it runs them.

const tmp = mkdtempSync(join(tmpdir(), 'lpacs-ml-forget-'));
let models: string;
before(() => {
  models = makeModels();
});
after(() => {
  rmSync(tmp, { recursive: true, force: true });
  rmSync(models, { recursive: true, force: true });
});

/** Input `i` of series `s`. */
function input(i: number, s: number): JobInput {
  return {
    SOPInstanceUID: `2.25.${i}`,
    SeriesInstanceUID: `2.25.90${s}`,
    StudyInstanceUID: '2.25.80',
    object_key: `objects/0${i}/${'ab'.repeat(32)}${i}.dcm`,
    NumberOfFrames: 1,
  };
}

function state(phase: JobState['phase'], extra: Partial<JobState> = {}) {
  const at = '2026-01-01T00:00:00.000Z';
  return {
    id: `job-${phase}`,
    phase,
    model: { name: 'm', version: '1', sha256: 'f'.repeat(64) },
    selection: { seriesInstanceUIDs: ['2.25.900', '2.25.901'] },
    createdAt: at,
    updatedAt: at,
    progress: { total: 6, done: 2, predicted: 1, skipped: 0, failed: 1 },
    failures: [
      {
        SOPInstanceUID: '2.25.2',
        code: 'UNDECODABLE',
        message: 'no frame',
      },
    ],
    ...(phase === 'queued' || phase === 'running' ? {} : { finishedAt: at }),
    ...extra,
  } as JobState;
}

// Series 900 holds inputs 1-3, series 901 inputs 4-6; 2, 3 and 5 are erased
// (series 900 keeps input 1, series 901 keeps 4 and 6: neither is erased).
const six = [1, 2, 3, 4, 5, 6].map((i) => input(i, i <= 3 ? 0 : 1));
const erased = {
  instances: ['2.25.2', '2.25.3', '2.25.5'],
  series: [],
  studies: [],
  objects: [2, 3, 5].map((i) => six[i - 1]!.object_key),
};

/** Whether a job file's text names an erased instance. */
function namesErased(text: string): string[] {
  return [...erased.instances, ...erased.objects].filter((v) =>
    text.includes(`"${v}"`),
  );
}

describe('forgetErasedInJob', () => {
  it('keeps the places of an unfinished job, counters untouched', () => {
    const left = forgetErasedInJob(state('running'), six, erased);
    assert.equal(left.inputsForgotten, 3);
    assert.deepEqual(left.inputs, [
      six[0],
      { erased: true },
      { erased: true },
      six[3],
      { erased: true },
      six[5],
    ]);
    assert.deepEqual(left.state.progress, state('running').progress);
    // The failure of input 2: its code and count, no UID, no message.
    assert.equal(left.state.failures.length, 1);
    assert.equal(left.state.failures[0]!.code, 'UNDECODABLE');
    assert.equal(left.state.failures[0]!.SOPInstanceUID, undefined);
    assert.deepEqual(namesErased(JSON.stringify(left)), []);
    // Given again, nothing changes.
    const again = forgetErasedInJob(left.state, left.inputs, erased);
    assert.equal(again.inputsForgotten + again.otherForgotten, 0);
    assert.deepEqual(again.inputs, left.inputs);
  });

  it('removes them from a finished job', () => {
    for (const phase of ['done', 'cancelled', 'failed'] as const) {
      const left = forgetErasedInJob(
        state(phase, phase === 'failed' ? { error: 'x' } : {}),
        six,
        erased,
      );
      assert.deepEqual(left.inputs, [six[0], six[3], six[5]], phase);
      assert.deepEqual(namesErased(JSON.stringify(left)), [], phase);
    }
  });

  it('takes an erased series out of the selection, erased values out of a filter, and an error naming one', () => {
    const job = state('failed', {
      selection: {
        seriesInstanceUIDs: ['2.25.900', '2.25.901'],
        where: {
          sql: '"StudyInstanceUID" = ? OR "PatientID" = ? OR "Rows" = ?',
          params: ['2.25.80', 'LPKEPTKEPTKEPTKEPT', 64],
        },
      },
      error: `cannot read ${join('/lake', six[4]!.object_key)}.`,
    } as Partial<JobState>);
    const left = forgetErasedInJob(job, six, {
      ...erased,
      series: ['2.25.900'],
      studies: ['2.25.80'],
    });
    assert.deepEqual(left.state.selection, {
      seriesInstanceUIDs: ['2.25.901'],
      where: {
        sql: '"StudyInstanceUID" = ? OR "PatientID" = ? OR "Rows" = ?',
        params: ['(erased)', 'LPKEPTKEPTKEPTKEPT', 64],
      },
    });
    assert.ok(left.state.phase === 'failed');
    assert.doesNotMatch(left.state.error, /objects\//);
    // 1 failure, 1 series, 1 filter value, the error.
    assert.equal(left.otherForgotten, 4);
  });

  it('leaves a job that names none of them as it is', () => {
    const left = forgetErasedInJob(state('running'), six, {
      instances: ['2.25.77'],
      series: [],
      studies: [],
      objects: [],
    });
    assert.equal(left.inputsForgotten + left.otherForgotten, 0);
    assert.deepEqual(left.state, state('running'));
  });
});

describe('chunkEnd with redacted inputs', () => {
  it('never splits a series at an entry an erasure redacted', () => {
    // Series 900: 1, (2), (3); series 901: 4, (5), 6.
    const left = forgetErasedInJob(state('running'), six, erased).inputs;
    const ends: number[] = [];
    for (let at = 0; at < left.length;)
      ends.push((at = chunkEnd(left, at, 1, true)));
    assert.deepEqual(ends, [3, 6]);
    // All of a chunk redacted: it ends before the next series.
    const head: StoredInput[] = [{ erased: true }, { erased: true }, six[3]!];
    assert.equal(chunkEnd(head, 0, 1, true), 2);
  });
});

describe('JobStore.forgetErased', () => {
  it('rewrites every job file naming them, inputs with no state and partial files too', async () => {
    const root = join(tmp, 'store');
    const store = new JobStore(root);
    for (const phase of ['running', 'done', 'queued'] as const)
      await store.create(state(phase), six);
    const untouched = {
      ...state('done'),
      id: 'job-other',
      selection: {},
      failures: [],
    } as JobState;
    await store.create(untouched, [six[0]!]);
    const jobsDir = join(root, 'state', 'jobs');
    // A creation killed before its state, a write killed before its rename.
    writeFileSync(join(jobsDir, 'job-orphan.inputs.json'), JSON.stringify(six));
    writeFileSync(join(jobsDir, '.tmp-0123456789ab'), JSON.stringify(six));
    const before = readFileSync(join(jobsDir, 'job-other.json'), 'utf8');

    const r = await store.forgetErased(erased);
    // 3 inputs of each of running, done, queued and the orphan.
    assert.deepEqual(r, { jobs: 4, inputs: 12 });
    for (const name of readdirSync(jobsDir))
      assert.deepEqual(
        namesErased(readFileSync(join(jobsDir, name), 'utf8')),
        [],
        name,
      );
    assert.equal(
      readdirSync(jobsDir).some((n) => n.startsWith('.tmp-')),
      false,
    );
    assert.equal(readFileSync(join(jobsDir, 'job-other.json'), 'utf8'), before);
    assert.equal((await store.inputs('job-running')).length, 6);
    assert.equal((await store.inputs('job-queued')).length, 6);
    assert.equal((await store.inputs('job-done')).length, 3);
    assert.equal((await store.inputs('job-orphan')).length, 3);
    assert.deepEqual(
      (await store.get('job-running')).progress,
      state('running').progress,
    );
    // Again: nothing left to take.
    assert.deepEqual(await store.forgetErased(erased), { jobs: 0, inputs: 0 });
  });
});

/** Erases GONE's instances as lpacs erase does, up to the jobs step. */
async function eraseGone(root: string): Promise<ErasurePlan> {
  const lake = await Lake.open(root);
  try {
    const plan = await lake.planErasure(
      { sql: '"PatientID" = ?', params: [GONE] },
      { action: 'erase.patient', target: GONE, reason: 'r', tombstone: false },
    );
    await lake.beginErasure(plan);
    await lake.eraseRows(plan);
    await lake.eraseObjects(plan);
    await new JobStore(root).forgetErased(plan);
    await lake.endErasure();
    return plan;
  } finally {
    lake.close();
  }
}

describe('a job resumed after an erasure redacted its inputs', () => {
  for (const model of ['ct-threshold', 'ct-volume-threshold'])
    it(`counts the redacted inputs failed, INPUT_ERASED, and predicts the rest (${model})`, async () => {
      const root = join(tmp, `lake-${model}`);
      await twelveSliceLake(root);
      await new ModelRegistry(root).add(join(models, model));
      const jobs = new PredictionJobs({
        lakeRoot: root,
        session: { intraOpNumThreads: 1 },
        commitEvery: 4,
      });
      try {
        const { id } = await jobs.create(model, {});
        const listed = (await new JobStore(root).inputs(id)) as JobInput[];
        const plan = await eraseGone(root);
        assert.equal(plan.instances.length, 4);
        const text = readFileSync(
          join(root, 'state', 'jobs', `${id}.inputs.json`),
          'utf8',
        );
        const gone = listed.filter((i) =>
          plan.instances.includes(i.SOPInstanceUID),
        );
        assert.equal(gone.length, 4);
        for (const i of gone) {
          assert.equal(text.includes(`"${i.SOPInstanceUID}"`), false);
          assert.equal(text.includes(i.object_key), false);
        }
        const job = await jobs.run(id);
        assert.equal(job.phase, 'done', 'error' in job ? job.error : '');
        // 12 selected, GONE's 4 erased before they ran.
        assert.deepEqual(job.progress, {
          total: 12,
          done: 12,
          predicted: 8,
          skipped: 0,
          failed: 4,
        });
        assert.deepEqual(
          job.failures.map((f) => [
            f.code,
            f.instances,
            f.SOPInstanceUID,
            f.SeriesInstanceUID,
          ]),
          [['INPUT_ERASED', 4, undefined, undefined]],
        );
      } finally {
        await jobs.close();
      }
    });
});
