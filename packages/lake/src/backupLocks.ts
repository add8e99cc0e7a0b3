import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import type { BackupTarget } from './backupTarget';
import { processAlive } from './processAlive';

/**
 * Who writes into a backup now: `backup` (any number at once) or
 * `prune` (alone). One file per holder in the backup's `locks/`, named
 * `<kind>-<pid>-<random>@<host>`, made before the holder reads anything
 * of the backup and deleted when it is done.
 *
 * A backup takes a file already in the backup as present and names it in
 * a snapshot written at its end; a prune deletes every file no snapshot
 * names. Run together, the prune could delete a file between the two, and
 * the new snapshot would not restore. So each makes its entry first and
 * then lists the others: of two that start at once, at least one sees
 * the other (a listing after a write shows it, in a directory and in S3)
 * and steps back. A prune steps back with an error, a backup waits.
 */
export type BackupLockKind = 'backup' | 'prune';

/** One entry of a backup's `locks/`. */
export interface BackupLock {
  name: string;
  kind: BackupLockKind;
  pid: number;
  host: string;
}

const HOST = hostname().replace(/[^A-Za-z0-9.-]/g, '-') || 'localhost';
const ENTRY = /^(backup|prune)-(\d+)-[0-9a-f]+@(.+)$/;

/** How long a backup waits for a prune of its destination. */
const PRUNE_WAIT_MS = 30 * 60_000;
const POLL_MS = 500;

/** The entries of a backup's `locks/`; those of dead processes of this host are removed. */
export async function liveBackupLocks(
  target: BackupTarget,
): Promise<BackupLock[]> {
  const out: BackupLock[] = [];
  for (const name of await target.list('locks')) {
    const m = ENTRY.exec(name);
    if (!m) continue;
    const lock = {
      name,
      kind: m[1] as BackupLockKind,
      pid: Number(m[2]),
      host: m[3]!,
    };
    // A process of another host cannot be checked from here.
    if (lock.host === HOST && !processAlive(lock.pid))
      await target.remove(`locks/${name}`);
    else out.push(lock);
  }
  return out;
}

function who(locks: BackupLock[], target: BackupTarget): string {
  return locks
    .map(
      (l) =>
        `${l.kind === 'backup' ? 'lpacs backup' : 'lpacs backup prune'} (process ${l.pid} on ${l.host}; ${target.locate(`locks/${l.name}`)})`,
    )
    .join(', ');
}

/** Another process writes into the backup; the message names it. */
export class BackupBusy extends Error {
  override readonly name = 'BackupBusy';
}

/** A held entry; `release` deletes it. */
export interface HeldBackupLock {
  name: string;
  release(): Promise<void>;
}

async function add(
  target: BackupTarget,
  kind: BackupLockKind,
): Promise<HeldBackupLock> {
  const name = `${kind}-${process.pid}-${randomBytes(4).toString('hex')}@${HOST}`;
  await target.putBytes(
    `locks/${name}`,
    Buffer.from(
      `${JSON.stringify({ kind, pid: process.pid, host: HOST, since: new Date().toISOString() })}\n`,
    ),
  );
  return { name, release: () => target.remove(`locks/${name}`) };
}

/**
 * Enters a backup as a prune: fails, naming them, while any backup or
 * other prune writes into it.
 */
export async function lockForPrune(
  target: BackupTarget,
): Promise<HeldBackupLock> {
  const held = await add(target, 'prune');
  const others = (await liveBackupLocks(target)).filter(
    (l) => l.name !== held.name,
  );
  if (others.length) {
    await held.release();
    const foreign = others.some((l) => l.host !== HOST);
    throw new BackupBusy(
      `${target.name} is being written by ${who(others, target)}: prune when ${others.length > 1 ? 'they finish' : 'it finishes'}${foreign ? '; an entry of a process of another host that is gone must be deleted by hand' : ''}`,
    );
  }
  return held;
}

/**
 * Enters a backup as a backup: waits while a prune runs (up to 30
 * minutes, then fails naming it). Other backups may run at once.
 */
export async function lockForBackup(
  target: BackupTarget,
  onWait?: (message: string) => void,
  waitMs = PRUNE_WAIT_MS,
): Promise<HeldBackupLock> {
  const started = Date.now();
  for (let said = false; ; said = true) {
    const held = await add(target, 'backup');
    const prunes = (await liveBackupLocks(target)).filter(
      (l) => l.kind === 'prune',
    );
    if (!prunes.length) return held;
    await held.release();
    if (!said)
      onWait?.(
        `${target.name} is being pruned by ${who(prunes, target)}: waiting for it to finish`,
      );
    if (Date.now() - started > waitMs)
      throw new BackupBusy(
        `${target.name} is being pruned by ${who(prunes, target)} for over ${Math.round(waitMs / 60_000)} minutes; back up when it finishes${prunes.some((l) => l.host !== HOST) ? ' (an entry of a process of another host that is gone must be deleted by hand)' : ''}`,
      );
    await sleep(POLL_MS);
  }
}
