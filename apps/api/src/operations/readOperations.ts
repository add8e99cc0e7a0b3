import { readFile, statfs } from 'node:fs/promises';
import { AuditLog } from '@lpacs/access';
import type { AuditHead } from '@lpacs/access';
import type { IngestSession, IngestTotals } from '@lpacs/ingest';
import { LakeLayout } from '@lpacs/lake';
import type { Catalog } from '@lpacs/lake';
import type { Metrics, RecentRequests } from '../http/Metrics';

/** The last backup the lake records (written by `lpacs backup`). */
export interface LastBackup {
  snapshot: string;
  at: string;
  ageSeconds: number;
  files: number;
  bytes: number;
}

/** One API process and its lake at a glance: counts and times, no identifiers. */
export interface OperationsSnapshot {
  uptimeSeconds: number;
  recent: RecentRequests;
  /** Ingest through this process (STOW-RS, sync, DIMSE); null before any. */
  ingest: IngestTotals | null;
  instances: number;
  objectBytes: number;
  diskFreeBytes: number;
  diskTotalBytes: number;
  lastBackup: LastBackup | null;
  /**
   * The audit chain's head as recorded (entries and last hash), to copy
   * off the machine; null when none is recorded or it does not read
   * (lpacs audit verify says why).
   */
  auditHead: AuditHead | null;
}

/** Where a snapshot's numbers come from. */
export interface OperationsSources {
  lakeRoot: string;
  metrics: Metrics;
  catalog: Catalog;
  /** The server's ingest session, when one was opened. */
  session: () => Promise<IngestSession | undefined>;
}

async function lastBackup(lakeRoot: string): Promise<LastBackup | null> {
  try {
    const b = JSON.parse(
      await readFile(new LakeLayout(lakeRoot).lastBackup, 'utf8'),
    ) as Omit<LastBackup, 'ageSeconds'>;
    return {
      ...b,
      ageSeconds: Math.max(0, (Date.now() - Date.parse(b.at)) / 1000),
    };
  } catch {
    return null;
  }
}

function auditHead(lakeRoot: string): AuditHead | null {
  try {
    return new AuditLog(lakeRoot).head() ?? null;
  } catch {
    return null;
  }
}

/** Reads what the monitoring page and /metrics show. */
export async function readOperations(
  s: OperationsSources,
): Promise<OperationsSnapshot> {
  const [fs, rows, session, backup] = await Promise.all([
    statfs(s.lakeRoot),
    s.catalog
      .query(
        'SELECT count(*) AS n, coalesce(sum(size_bytes), 0) AS bytes FROM instances',
      )
      .catch(() => [{ n: -1, bytes: -1 }]),
    s.session(),
    lastBackup(s.lakeRoot),
  ]);
  return {
    uptimeSeconds: s.metrics.uptimeSeconds,
    recent: s.metrics.recent(),
    ingest: session ? session.totals : null,
    instances: Number(rows[0]?.n ?? -1),
    objectBytes: Number(rows[0]?.bytes ?? -1),
    diskFreeBytes: fs.bavail * fs.bsize,
    diskTotalBytes: fs.blocks * fs.bsize,
    lastBackup: backup,
    auditHead: auditHead(s.lakeRoot),
  };
}
