import { AuditLog } from '@lpacs/access';
import { Catalog, Lake, addTombstones, readTombstones } from '@lpacs/lake';
import { SharingStore } from '@lpacs/sharing';
import { hashed } from './erasureTarget';
import { requireLake } from './requireLake';
import { retentionWhere } from './retentionWhere';
import { runErasure } from './runErasure';
import type { ErasureDone, ErasureRequest } from './runErasure';

/** One erasure of the other lake, run again here. */
export interface Replayed {
  /** The other lake's audit sequence number, or 0 for a tombstone. */
  seq: number;
  action: string;
  target: string;
  /** What it erased here; undefined when nothing was left to erase. */
  done?: ErasureDone;
  finishedFirst?: ErasureDone;
}

/** What replayErasures did. */
export interface ReplayReport {
  replayed: Replayed[];
  /** Tombstones copied (patients not refused here before). */
  tombstones: number;
  /** Entries naming a study only by a hash no study here has. */
  unmatched: number;
}

const ERASURES = new Set(['erase.patient', 'erase.study', 'retention.apply']);

/** The lake's StudyInstanceUIDs by their audit hash (older entries). */
async function studiesByHash(root: string): Promise<Map<string, string>> {
  const catalog = await Catalog.open(root, { threads: 1 });
  try {
    const rows = await catalog.query(
      'SELECT DISTINCT "StudyInstanceUID" AS uid FROM instances',
    );
    return new Map(rows.map((r) => [hashed(String(r.uid)), String(r.uid)]));
  } finally {
    await catalog.close();
  }
}

/**
 * Runs again, in the lake at `root`, every erasure the lake at `from`
 * recorded: each patient tombstoned there (tombstone copied with its
 * date, data erased), each `erase.study` and `retention.apply` of its
 * audit log, oldest first. Made for a lake restored from a snapshot
 * older than erasures of the live lake (`from`). Each is an erasure like
 * any other (planned, crash-safe, audited here with `replayOf`); one
 * with nothing left to erase changes nothing. Safe to run again.
 */
export async function replayErasures(
  root: string,
  from: string,
  operator: string,
): Promise<ReplayReport> {
  await requireLake(from);
  await requireLake(root);
  const tombstones = await readTombstones(from);
  const entries = new AuditLog(from)
    .entries()
    .filter((e) => e.outcome === 'ok' && ERASURES.has(e.action));
  const report: ReplayReport = { replayed: [], tombstones: 0, unmatched: 0 };
  const lake = await Lake.open(root);
  try {
    // Each with the date of the first erasure, not today's.
    for (const [p, t] of tombstones)
      report.tombstones += await addTombstones(root, [p], t);
  } finally {
    lake.close();
  }
  const requests: Array<{ seq: number; request: ErasureRequest }> = [];
  // The reason stays in the audit log, not the tombstone (see Tombstone).
  const reasons = new Map(
    entries
      .filter((e) => e.action === 'erase.patient' && e.target)
      .map((e) => [e.target!, String(e.detail?.reason ?? '')]),
  );
  for (const [p] of tombstones)
    requests.push({
      seq: 0,
      request: {
        action: 'erase.patient',
        target: p,
        reason: reasons.get(p) || 'replayed erasure',
        where: { sql: '"PatientID" = ?', params: [p] },
        tombstone: true,
        patients: [p],
      },
    });
  let byHash: Map<string, string> | undefined;
  for (const e of entries) {
    const reason = String(e.detail?.reason ?? 'replayed erasure');
    if (e.action === 'erase.study' && e.target) {
      let uid: string | undefined = e.target;
      if (e.target.startsWith('sha256:')) {
        byHash ??= await studiesByHash(root);
        uid = byHash.get(e.target);
      }
      if (!uid) {
        report.unmatched++;
        continue;
      }
      requests.push({
        seq: e.seq,
        request: {
          action: e.action,
          target: e.target,
          reason,
          where: { sql: '"StudyInstanceUID" = ?', params: [uid] },
          tombstone: false,
          studies: [uid],
        },
      });
    } else if (e.action === 'retention.apply' && e.target) {
      const cutoff = e.target.startsWith('before:')
        ? e.target.slice('before:'.length)
        : undefined;
      const m = String(e.detail?.modalities ?? 'all');
      const modalities = m === 'all' ? [] : m.split(',');
      // A project's policy: the cohort as this (restored) lake froze it.
      const cohort =
        typeof e.detail?.cohort === 'string' ? e.detail.cohort : undefined;
      let project: string[] | undefined;
      if (cohort) {
        const store = new SharingStore(root);
        if (!store.cohorts().some((c) => c.id === cohort)) {
          report.unmatched++;
          continue;
        }
        project = (await store.cohortInstances(cohort)).map(
          (i) => i.SOPInstanceUID,
        );
      }
      requests.push({
        seq: e.seq,
        request: {
          action: e.action,
          target: e.target,
          reason,
          where: retentionWhere(cutoff, modalities, project),
          tombstone: false,
          detail: { modalities: m, ...(cohort ? { cohort } : {}) },
        },
      });
    }
    // erase.patient: its tombstone (above) names the patient.
  }
  for (const { seq, request } of requests) {
    const r = await runErasure(
      root,
      {
        ...request,
        detail: { ...request.detail, replayOf: seq, replayedFrom: from },
        expect: 'data',
      },
      operator,
    );
    report.replayed.push({
      seq,
      action: request.action,
      target: request.target,
      ...(r.done ? { done: r.done } : {}),
      ...(r.finished ? { finishedFirst: r.finished } : {}),
    });
  }
  return report;
}
