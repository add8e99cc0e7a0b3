'use client';

import { useQuery } from '@tanstack/react-query';
import type { ReactNode } from 'react';
import { formatBytes, formatCount, formatDateTime } from '../../lib/format';
import { graphqlRequest } from '../../lib/graphql';
import { ErrorAlert } from '../common/ErrorAlert';
import { Loading } from '../common/Loading';

const OPERATIONS = `query Operations {
  operations {
    uptimeSeconds
    recent { windowSeconds requests serverErrors clientErrors errorRate p50Ms p95Ms }
    ingest { runs failedRuns filesSeen ingested quarantined conflicts filesPerSecond lastRunAt }
    instances objectBytes diskFreeBytes diskTotalBytes
    lastBackup { snapshot at ageSeconds files bytes }
    auditHead { entries hash at }
  }
}`;

interface Operations {
  uptimeSeconds: number;
  recent: {
    windowSeconds: number;
    requests: number;
    serverErrors: number;
    clientErrors: number;
    errorRate: number | null;
    p50Ms: number | null;
    p95Ms: number | null;
  };
  ingest: {
    runs: number;
    failedRuns: number;
    filesSeen: number;
    ingested: number;
    quarantined: number;
    conflicts: number;
    filesPerSecond: number | null;
    lastRunAt: string | null;
  } | null;
  instances: number;
  objectBytes: number;
  diskFreeBytes: number;
  diskTotalBytes: number;
  lastBackup: {
    snapshot: string;
    at: string;
    ageSeconds: number;
    files: number;
    bytes: number;
  } | null;
  auditHead: { entries: number; hash: string; at: string } | null;
}

/** A duration as a person reads it: 45 s, 12 min, 3 h 5 min, 2 d 4 h. */
function formatAge(seconds: number): string {
  const s = Math.floor(seconds);
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min`;
  if (s < 86_400)
    return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
  return `${Math.floor(s / 86_400)} d ${Math.floor((s % 86_400) / 3600)} h`;
}

function ms(v: number | null): string {
  return v === null ? '–' : `${v.toFixed(v < 10 ? 1 : 0)} ms`;
}

/** A backup older than this is flagged. */
const STALE_BACKUP_SECONDS = 26 * 3600;

/** One figure: a label, its value, and the raw number for tools and tests. */
function Figure(props: {
  id: string;
  label: string;
  value: number | string | null;
  children: ReactNode;
  warn?: boolean;
}) {
  return (
    <div>
      <dt>{props.label}</dt>
      <dd
        data-ops={props.id}
        data-value={props.value ?? ''}
        className={props.warn ? 'error' : undefined}
      >
        {props.children}
      </dd>
    </div>
  );
}

/** Latency, error rate, uptime, ingest, disk and the last backup, at a glance. */
export function OperationsView() {
  const q = useQuery({
    queryKey: ['operations'],
    queryFn: ({ signal }) =>
      graphqlRequest<{ operations: Operations }>(
        OPERATIONS,
        undefined,
        signal,
      ).then((d) => d.operations),
    refetchInterval: 5_000,
  });
  if (q.isPending) return <Loading what="the operations figures" />;
  if (q.isError)
    return <ErrorAlert what="Could not load the figures" error={q.error} />;
  const o = q.data;
  const r = o.recent;
  const used = o.diskTotalBytes - o.diskFreeBytes;
  const usedShare = o.diskTotalBytes > 0 ? used / o.diskTotalBytes : 0;
  const backupStale =
    !o.lastBackup || o.lastBackup.ageSeconds > STALE_BACKUP_SECONDS;
  return (
    <>
      <h2>API</h2>
      <dl className="figures" aria-label="API">
        <Figure id="uptime" label="Up for" value={o.uptimeSeconds}>
          {formatAge(o.uptimeSeconds)}
        </Figure>
        <Figure
          id="requests"
          label={`Requests, last ${r.windowSeconds / 60} min`}
          value={r.requests}
        >
          {formatCount(r.requests)}
        </Figure>
        <Figure
          id="error-rate"
          label="Server errors (5xx)"
          value={r.errorRate}
          warn={r.serverErrors > 0}
        >
          {r.errorRate === null
            ? '–'
            : `${(r.errorRate * 100).toFixed(1)}% (${formatCount(r.serverErrors)})`}
        </Figure>
        <Figure id="client-errors" label="Refused (4xx)" value={r.clientErrors}>
          {formatCount(r.clientErrors)}
        </Figure>
        <Figure id="p50" label="Latency p50" value={r.p50Ms}>
          {ms(r.p50Ms)}
        </Figure>
        <Figure id="p95" label="Latency p95" value={r.p95Ms}>
          {ms(r.p95Ms)}
        </Figure>
      </dl>
      <h2>Ingest through this server</h2>
      {o.ingest ? (
        <dl className="figures" aria-label="Ingest">
          <Figure id="ingest-files" label="Files" value={o.ingest.filesSeen}>
            {formatCount(o.ingest.filesSeen)}{' '}
            {o.ingest.filesSeen === 1 ? 'file' : 'files'} in{' '}
            {formatCount(o.ingest.runs)} {o.ingest.runs === 1 ? 'run' : 'runs'}
          </Figure>
          <Figure
            id="ingest-rate"
            label="Files/s while ingesting"
            value={o.ingest.filesPerSecond}
          >
            {o.ingest.filesPerSecond === null
              ? '–'
              : o.ingest.filesPerSecond.toFixed(0)}
          </Figure>
          <Figure
            id="ingest-quarantined"
            label="Quarantined"
            value={o.ingest.quarantined}
            warn={o.ingest.quarantined > 0}
          >
            {formatCount(o.ingest.quarantined)}
          </Figure>
          <Figure
            id="ingest-failed-runs"
            label="Failed runs"
            value={o.ingest.failedRuns}
            warn={o.ingest.failedRuns > 0}
          >
            {formatCount(o.ingest.failedRuns)}
          </Figure>
          <Figure id="ingest-last" label="Last run" value={o.ingest.lastRunAt}>
            {o.ingest.lastRunAt ? formatDateTime(o.ingest.lastRunAt) : '–'}
          </Figure>
        </dl>
      ) : (
        <p className="muted" data-ops="ingest-none">
          Nothing ingested through this server since it started (STOW-RS, sync,
          DICOM). <code>lpacs ingest</code> runs are in the lake page.
        </p>
      )}
      <h2>Storage and backup</h2>
      <dl className="figures" aria-label="Storage and backup">
        <Figure id="instances" label="Instances" value={o.instances}>
          {formatCount(o.instances)}
        </Figure>
        <Figure id="objects" label="Objects" value={o.objectBytes}>
          {formatBytes(o.objectBytes)}
        </Figure>
        <Figure
          id="disk-used"
          label="Disk used"
          value={used}
          warn={usedShare > 0.9}
        >
          {formatBytes(used)} of {formatBytes(o.diskTotalBytes)} (
          {(usedShare * 100).toFixed(0)}%)
        </Figure>
        <Figure id="disk-free" label="Disk free" value={o.diskFreeBytes}>
          {formatBytes(o.diskFreeBytes)}
        </Figure>
        <Figure
          id="last-backup"
          label="Last backup"
          value={o.lastBackup?.snapshot ?? null}
          warn={backupStale}
        >
          {o.lastBackup
            ? `${formatAge(o.lastBackup.ageSeconds)} ago (${o.lastBackup.snapshot}, ${formatBytes(o.lastBackup.bytes)})`
            : 'none recorded: run lpacs backup'}
        </Figure>
        <Figure
          id="audit-head"
          label="Audit chain head"
          value={
            o.auditHead ? `${o.auditHead.entries}:${o.auditHead.hash}` : null
          }
        >
          {o.auditHead ? (
            <>
              <span className="uid">
                {o.auditHead.entries}:{o.auditHead.hash}
              </span>{' '}
              (copy it off this machine: <code>lpacs audit verify</code> with it
              finds a log cut or rewritten since)
            </>
          ) : (
            'none recorded'
          )}
        </Figure>
      </dl>
    </>
  );
}
