import type { JobProgress, JobState } from '@lpacs/ml';
import type { Gauge } from '../http/Metrics';
import type { OperationsSnapshot } from './readOperations';

/**
 * The gauges of /metrics beside the request counters: the lake, the disk,
 * ingest through this process, the last backup, queue depths and the
 * progress of each prediction job not yet finished. Counts, sizes and
 * times only; a job is named by its id and its model's name.
 *
 * `queues` are depths the server samples (ingest_runs of its session,
 * dimse_spool from lpacs serve); `jobs` (prediction jobs queued, not yet
 * running) is added here.
 */
export function metricGauges(
  ops: OperationsSnapshot,
  jobs: readonly JobState[],
  queues: Record<string, number>,
): Record<string, Gauge> {
  const ingest = ops.ingest;
  const unfinished = jobs.filter(
    (j) => j.phase === 'queued' || j.phase === 'running',
  );
  const perJob = (value: (p: JobProgress) => number) =>
    unfinished.map((j) => ({
      labels: { job: j.id, model: j.model.name, phase: j.phase },
      value: value(j.progress),
    }));
  return {
    lpacs_lake_instances: {
      help: 'Instances in the lake (-1 when it cannot be queried).',
      value: ops.instances,
    },
    lpacs_lake_object_bytes: {
      help: 'Bytes of the objects the instances table names.',
      value: ops.objectBytes,
    },
    lpacs_disk_free_bytes: {
      help: 'Free bytes on the lake file system.',
      value: ops.diskFreeBytes,
    },
    lpacs_disk_total_bytes: {
      help: 'Size of the lake file system, bytes.',
      value: ops.diskTotalBytes,
    },
    lpacs_last_backup_timestamp_seconds: {
      help: 'When the last backup of the lake finished (0: none recorded).',
      value: ops.lastBackup ? Date.parse(ops.lastBackup.at) / 1000 : 0,
    },
    lpacs_ingest_files_seen: {
      help: 'Files ingested through this process (STOW-RS, sync, DIMSE).',
      value: ingest?.filesSeen ?? 0,
    },
    lpacs_ingest_files_quarantined: {
      help: 'Of those, files quarantined.',
      value: ingest?.quarantined ?? 0,
    },
    lpacs_ingest_failed_runs: {
      help: 'Ingest runs stopped by a lake failure.',
      value: ingest?.failedRuns ?? 0,
    },
    lpacs_ingest_busy_seconds: {
      help: 'Seconds this process spent ingesting.',
      value: ingest?.busySeconds ?? 0,
    },
    lpacs_ingest_files_per_second: {
      help: 'Files ingested per second while ingesting: files seen over busy seconds (0 before any).',
      value: ingest?.busySeconds ? ingest.filesSeen / ingest.busySeconds : 0,
    },
    lpacs_last_backup_age_seconds: {
      help: 'Seconds since the last backup of the lake finished (-1: none recorded).',
      value: ops.lastBackup ? ops.lastBackup.ageSeconds : -1,
    },
    lpacs_queue_depth: {
      help: 'Work waiting or under way, by queue: ingest_runs (STOW-RS, sync, DIMSE runs of this process), jobs (prediction jobs queued, not yet running), dimse_spool (received instances answered, not yet committed).',
      value: Object.entries({
        ...queues,
        jobs: jobs.filter((j) => j.phase === 'queued').length,
      }).map(([queue, value]) => ({ labels: { queue }, value })),
    },
    lpacs_job_inputs_selected: {
      help: 'Inputs a queued or running prediction job selected.',
      value: perJob((p) => p.total),
    },
    lpacs_job_inputs_done: {
      help: 'Inputs a queued or running prediction job has handled (predicted, skipped or failed).',
      value: perJob((p) => p.done),
    },
    lpacs_job_progress_ratio: {
      help: 'Inputs handled over inputs selected, of a queued or running prediction job (1 when it selected none).',
      value: perJob((p) => (p.total ? p.done / p.total : 1)),
    },
    // The count only: the hash of an entry lets whoever can guess its
    // fields (who, what, when) confirm the guess, and /metrics needs no
    // sign-in. lpacs status and the Operations page show the hash.
    lpacs_audit_entries: {
      help: 'Entries of the audit log as its recorded chain head counts (0: none recorded); appends only raise it, so a drop means the log and its head were replaced.',
      value: ops.auditHead?.entries ?? 0,
    },
    lpacs_jobs_running: {
      help: 'Prediction jobs queued or running.',
      value: jobs.filter((j) => j.phase === 'queued' || j.phase === 'running')
        .length,
    },
  };
}
