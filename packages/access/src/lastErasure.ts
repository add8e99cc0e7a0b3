import { readFile } from 'node:fs/promises';
import {
  LakeLayout,
  createFileAtomic,
  readBackupLedgers,
  snapshotTime,
  writeFileAtomic,
} from '@lpacs/lake';
import { AuditLog } from './AuditLog';

/** An erasure that removed data: when it finished, and which kind. */
export interface ErasureMark {
  /** The instant of its audit entry, written once every step was done. */
  at: string;
  /** `erase.patient`, `erase.study` or `retention.apply`. */
  action: string;
}

const ERASURES = new Set(['erase.patient', 'erase.study', 'retention.apply']);

/**
 * True when an erasure's audit detail says it removed something: rows,
 * objects, quarantined originals, conflict versions, linkage records, or
 * predictions and masks left of instances erased before (a patient
 * tombstoned with no data removed nothing a backup holds).
 */
export function erasedSomething(
  detail: Record<string, string | number | boolean> | undefined,
): boolean {
  return [
    'instances',
    'objects',
    'quarantined',
    'conflicts',
    'linkageRecords',
    'leftoverPredictions',
    'leftoverMasks',
  ]
    .map((k) => Number(detail?.[k] ?? 0))
    .some((n) => n > 0);
}

/** The last erasure that removed data, read from the whole audit log. */
export function lastErasureInLog(root: string): ErasureMark | undefined {
  const entries = new AuditLog(root).entries();
  for (let i = entries.length - 1; i >= 0; i--) {
    const e = entries[i]!;
    if (
      e.outcome === 'ok' &&
      ERASURES.has(e.action) &&
      erasedSomething(e.detail)
    )
      return { at: e.at, action: e.action };
  }
  return undefined;
}

/**
 * The lake's last erasure that removed data, from `state/last-erasure.json`
 * (written by each erasure as it finishes), or, for a lake whose erasures
 * predate that file, from the audit log.
 */
export async function lastErasure(
  root: string,
): Promise<ErasureMark | undefined> {
  let text: string;
  try {
    text = await readFile(new LakeLayout(root).lastErasure, 'utf8');
  } catch {
    return lastErasureInLog(root);
  }
  const mark = JSON.parse(text) as { at: string | null; action?: string };
  return mark.at ? { at: mark.at, action: mark.action ?? '' } : undefined;
}

/** Records an erasure that removed data (after its audit entry). */
export async function recordErasure(
  root: string,
  mark: ErasureMark,
): Promise<void> {
  await writeFileAtomic(
    new LakeLayout(root).lastErasure,
    `${JSON.stringify(mark)}\n`,
    0o600,
  );
}

/**
 * Writes `state/last-erasure.json` from the audit log if the lake has
 * none yet, so later reads need not go through the log. Never replaces
 * one: an erasure finishing meanwhile writes its own, which must win.
 */
export async function recordLastErasureIfUnknown(root: string): Promise<void> {
  const path = new LakeLayout(root).lastErasure;
  try {
    await readFile(path);
    return;
  } catch {
    // none yet
  }
  const mark = lastErasureInLog(root);
  await createFileAtomic(
    path,
    `${JSON.stringify(mark ?? { at: null })}\n`,
    0o600,
  );
}

/** Snapshots of one backup begun before the lake's last erasure. */
export interface SnapshotsBeforeErasure {
  /** The instant the last erasure that removed data finished. */
  erasure: string;
  backups: Array<{ target: string; snapshots: string[] }>;
}

/**
 * The snapshots a lake has in its backups (as its last backup or prune
 * of each found them) that were begun before its last erasure finished,
 * and so may still hold what it removed; undefined when there are none.
 * A lake with no ledger yet (backed up only by an older lpacs) is judged
 * by its last backup alone.
 */
export async function snapshotsBeforeLastErasure(
  root: string,
): Promise<SnapshotsBeforeErasure | undefined> {
  let ledgers = await readBackupLedgers(root);
  if (!ledgers.length) {
    let last: { snapshot?: string; target?: string } | undefined;
    try {
      last = JSON.parse(
        await readFile(new LakeLayout(root).lastBackup, 'utf8'),
      ) as typeof last;
    } catch {
      return undefined;
    }
    if (!last?.snapshot) return undefined;
    ledgers = [
      {
        target: last.target ?? 'its last backup',
        snapshots: [last.snapshot],
        at: '',
      },
    ];
  }
  const mark = await lastErasure(root);
  if (!mark) return undefined;
  const cutoff = Date.parse(mark.at);
  const backups = ledgers
    .map((l) => ({
      target: l.target,
      snapshots: l.snapshots.filter(
        (id) => (snapshotTime(id)?.getTime() ?? -Infinity) < cutoff,
      ),
    }))
    .filter((b) => b.snapshots.length);
  return backups.length ? { erasure: mark.at, backups } : undefined;
}
