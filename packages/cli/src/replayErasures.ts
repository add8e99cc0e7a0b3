import { AuditLog } from '@lpacs/access';
import {
  Catalog,
  Lake,
  addTombstones,
  readObject,
  readTombstones,
} from '@lpacs/lake';
import { SharingStore } from '@lpacs/sharing';
import { hashed } from './erasureTarget';
import { naming } from './kekContext';
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

/** An erasure of the other lake that could not be run again here. */
export interface NotReplayed {
  seq: number;
  action: string;
  target: string;
  /** Why, for the operator: what is missing and where. */
  why: string;
}

/** What replayErasures did. */
export interface ReplayReport {
  replayed: Replayed[];
  /** Tombstones copied (patients not refused here before). */
  tombstones: number;
  /**
   * `erase.study` entries naming a study only by a hash no study here
   * has (audited by an older lpacs): nothing of it is in this lake's
   * tables.
   */
  unmatched: number;
  /** Erasures that could not be replayed, with why: the run failed. */
  notReplayed: NotReplayed[];
}

/**
 * The SOP Instance UIDs a `retention.apply --cohort` took from its saved
 * cohort: the list `lpacs retention` recorded in the lake it ran on
 * (`frozenList` in its audit entry), or this lake's own copy of the
 * cohort. The live lake's cohort itself no longer helps: the retention
 * took those instances out of it.
 */
async function cohortInstances(
  root: string,
  from: string,
  cohort: string,
  detail: Record<string, unknown>,
): Promise<{ instances: string[] } | { why: string }> {
  const key = detail.frozenList;
  if (typeof key === 'string' && /^state\/retentions\/[\w.-]+\.json$/.test(key))
    try {
      const list = JSON.parse(
        (await readObject(from, key)).toString('utf8'),
      ) as unknown;
      if (Array.isArray(list)) return { instances: list.map(String) };
    } catch (err) {
      const code = (err as { code?: unknown }).code;
      if (code !== 'ENOENT') throw err;
    }
  const here = new SharingStore(root);
  if (here.cohorts().some((c) => c.id === cohort))
    return {
      instances: (await here.cohortInstances(cohort)).map(
        (i) => i.SOPInstanceUID,
      ),
    };
  return {
    why:
      typeof key === 'string'
        ? `the list of instances it took from saved cohort ${cohort} (${key}) is not in ${from}, and this lake has no copy of the cohort`
        : `saved cohort ${cohort} is not in this lake (saved after the snapshot), and the entry comes from an lpacs that did not record the instances a retention takes from a cohort; ${from}'s cohort no longer lists them`,
  };
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
  // Both lakes are read with the one KEK given: say whose key fails
  // (opening each checks it) before anything is written.
  await naming(
    `the live lake ${from} (--replay-from)`,
    'erase --replay-from reads the live lake and the restored one with the same KEK: give the one both open with',
    () => requireLake(from),
  );
  await naming(
    `the restored lake ${root} (--lake)`,
    "a restored lake opens with the KEK its snapshot was taken under; a snapshot from before a keys rotate of the live lake needs the KEK in use then, so re-wrap the restored lake under the live lake's KEK first: lpacs keys rotate --lake RESTORED --kek-file OLD.kek --new-kek-file LIVE.kek",
    () => requireLake(root),
  );
  const tombstones = await readTombstones(from);
  const entries = new AuditLog(from)
    .entries()
    .filter((e) => e.outcome === 'ok' && ERASURES.has(e.action));
  const report: ReplayReport = {
    replayed: [],
    tombstones: 0,
    unmatched: 0,
    notReplayed: [],
  };
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
      // A project's policy: the instances the cohort froze, as the live
      // lake recorded them for it, or as this (restored) lake holds them.
      const cohort =
        typeof e.detail?.cohort === 'string' ? e.detail.cohort : undefined;
      let project: string[] | undefined;
      if (cohort) {
        const found = await cohortInstances(root, from, cohort, e.detail ?? {});
        if ('why' in found) {
          report.notReplayed.push({
            seq: e.seq,
            action: e.action,
            target: e.target,
            why: found.why,
          });
          continue;
        }
        project = found.instances;
      }
      requests.push({
        seq: e.seq,
        request: {
          action: e.action,
          target: e.target,
          reason,
          where: retentionWhere(cutoff, modalities, project),
          tombstone: false,
          detail: {
            modalities: m,
            ...(cohort ? { cohort } : {}),
            ...(typeof e.detail?.frozenList === 'string'
              ? { frozenList: e.detail.frozenList }
              : {}),
          },
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
