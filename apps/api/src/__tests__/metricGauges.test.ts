import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { JobState } from '@lpacs/ml';
import { Metrics } from '../http/Metrics';
import { metricGauges } from '../operations/metricGauges';
import type { OperationsSnapshot } from '../operations/readOperations';

const ops: OperationsSnapshot = {
  uptimeSeconds: 10,
  recent: {
    windowSeconds: 300,
    requests: 0,
    serverErrors: 0,
    clientErrors: 0,
    p50Ms: null,
    p95Ms: null,
  },
  ingest: {
    runs: 2,
    failedRuns: 1,
    filesSeen: 30,
    ingested: 27,
    skipped: 0,
    quarantined: 3,
    conflicts: 0,
    bytesRead: 1000,
    busySeconds: 4,
    lastRunAt: '2026-12-05T00:00:00.000Z',
  },
  instances: 27,
  objectBytes: 5000,
  diskFreeBytes: 100,
  diskTotalBytes: 400,
  lastBackup: {
    snapshot: '20261205T000000000Z',
    at: '2026-12-05T00:00:00.000Z',
    ageSeconds: 3600,
    files: 3,
    bytes: 9,
  },
  auditHead: null,
};

function job(
  id: string,
  phase: 'queued' | 'running' | 'done',
  total: number,
  done: number,
): JobState {
  const base = {
    id,
    model: { name: 'ct-brightness', version: '1', sha256: 'ab' },
    selection: {},
    createdAt: '2026-12-05T00:00:00.000Z',
    updatedAt: '2026-12-05T00:00:00.000Z',
    progress: { total, done, predicted: done, skipped: 0, failed: 0 },
    failures: [],
  };
  return phase === 'done'
    ? { ...base, phase, finishedAt: '2026-12-05T00:00:01.000Z' }
    : { ...base, phase };
}

/** The sample lines of one family, as `name{labels} value` text. */
function samples(text: string, name: string): string[] {
  return text
    .split('\n')
    .filter((l) => l.startsWith(`${name} `) || l.startsWith(`${name}{`));
}

describe('metricGauges: queue depths, job progress, ingest rate, backup age', () => {
  const text = new Metrics().render(
    metricGauges(
      ops,
      [
        job('job_run', 'running', 12, 3),
        job('job_wait', 'queued', 5, 0),
        job('job_empty', 'running', 0, 0),
        job('job_old', 'done', 7, 7),
      ],
      { ingest_runs: 2, dimse_spool: 4 },
    ),
  );

  it('gives each unfinished job its inputs, done and done/total, and leaves out finished ones', () => {
    // 3 of 12 is 0.25; a job that selected nothing is complete (1).
    assert.deepEqual(samples(text, 'lpacs_job_progress_ratio'), [
      'lpacs_job_progress_ratio{job="job_run",model="ct-brightness",phase="running"} 0.25',
      'lpacs_job_progress_ratio{job="job_wait",model="ct-brightness",phase="queued"} 0',
      'lpacs_job_progress_ratio{job="job_empty",model="ct-brightness",phase="running"} 1',
    ]);
    assert.deepEqual(samples(text, 'lpacs_job_inputs_selected'), [
      'lpacs_job_inputs_selected{job="job_run",model="ct-brightness",phase="running"} 12',
      'lpacs_job_inputs_selected{job="job_wait",model="ct-brightness",phase="queued"} 5',
      'lpacs_job_inputs_selected{job="job_empty",model="ct-brightness",phase="running"} 0',
    ]);
    assert.deepEqual(samples(text, 'lpacs_job_inputs_done'), [
      'lpacs_job_inputs_done{job="job_run",model="ct-brightness",phase="running"} 3',
      'lpacs_job_inputs_done{job="job_wait",model="ct-brightness",phase="queued"} 0',
      'lpacs_job_inputs_done{job="job_empty",model="ct-brightness",phase="running"} 0',
    ]);
  });

  it('counts each queue: the given ones, and jobs queued but not running', () => {
    assert.deepEqual(samples(text, 'lpacs_queue_depth'), [
      'lpacs_queue_depth{queue="ingest_runs"} 2',
      'lpacs_queue_depth{queue="dimse_spool"} 4',
      'lpacs_queue_depth{queue="jobs"} 1',
    ]);
  });

  it('gives files/s while ingesting (30 files in 4 busy seconds: 7.5), the errors, and the backup age', () => {
    assert.deepEqual(samples(text, 'lpacs_ingest_files_per_second'), [
      'lpacs_ingest_files_per_second 7.5',
    ]);
    assert.deepEqual(samples(text, 'lpacs_ingest_files_quarantined'), [
      'lpacs_ingest_files_quarantined 3',
    ]);
    assert.deepEqual(samples(text, 'lpacs_ingest_failed_runs'), [
      'lpacs_ingest_failed_runs 1',
    ]);
    assert.deepEqual(samples(text, 'lpacs_last_backup_age_seconds'), [
      'lpacs_last_backup_age_seconds 3600',
    ]);
    // 2026-12-05T00:00:00Z in seconds since the epoch, by date(1):
    // date -ud 2026-12-05T00:00:00Z +%s
    assert.deepEqual(samples(text, 'lpacs_last_backup_timestamp_seconds'), [
      'lpacs_last_backup_timestamp_seconds 1796428800',
    ]);
  });

  it('says none for a lake never backed up or ingested into, and no job sample without jobs', () => {
    const none = new Metrics().render(
      metricGauges({ ...ops, ingest: null, lastBackup: null }, [], {
        ingest_runs: 0,
      }),
    );
    assert.deepEqual(samples(none, 'lpacs_last_backup_age_seconds'), [
      'lpacs_last_backup_age_seconds -1',
    ]);
    // 0, the epoch: time() - lpacs_last_backup_timestamp_seconds is then
    // huge, so an alert on it fires for a lake never backed up too.
    assert.deepEqual(samples(none, 'lpacs_last_backup_timestamp_seconds'), [
      'lpacs_last_backup_timestamp_seconds 0',
    ]);
    assert.deepEqual(samples(none, 'lpacs_ingest_files_per_second'), [
      'lpacs_ingest_files_per_second 0',
    ]);
    assert.deepEqual(samples(none, 'lpacs_job_progress_ratio'), []);
    // The family is still declared, so a scraper knows it.
    assert.match(none, /^# TYPE lpacs_job_progress_ratio gauge$/m);
  });
});
