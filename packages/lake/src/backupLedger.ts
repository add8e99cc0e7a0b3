import { createHash } from 'node:crypto';
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { BackupTarget } from './backupTarget';
import { writeFileAtomic } from './fsutil';
import { LakeLayout } from './LakeLayout';

/**
 * The snapshots a lake has in one backup, as its last backup or prune
 * there found them: `lpacs status` reads these to say which snapshots
 * still hold data erased since, without reaching the backup (an S3 one
 * needs the network and credentials). Ids and a place, no lake data.
 */
export interface BackupLedger {
  /** The backup: a directory or s3:// URL. */
  target: string;
  /** Snapshot ids, oldest first. */
  snapshots: string[];
  /** When the list was taken. */
  at: string;
}

function ledgerPath(root: string, target: string): string {
  const id = createHash('sha256').update(target).digest('hex').slice(0, 16);
  return join(new LakeLayout(root).backupLedgers, `${id}.json`);
}

/**
 * Records what `target` holds now. Called by a backup or prune while it
 * holds the backup's lock, so two never write one target's ledger at once.
 */
export async function writeBackupLedger(
  root: string,
  target: BackupTarget,
  snapshots: string[],
): Promise<void> {
  const ledger: BackupLedger = {
    target: target.name,
    snapshots,
    at: new Date().toISOString(),
  };
  await writeFileAtomic(
    ledgerPath(root, target.name),
    `${JSON.stringify(ledger)}\n`,
    0o600,
  );
}

/** Every backup of a lake it has a ledger of. */
export async function readBackupLedgers(root: string): Promise<BackupLedger[]> {
  const dir = new LakeLayout(root).backupLedgers;
  const out: BackupLedger[] = [];
  for (const name of await readdir(dir).catch(() => [] as string[])) {
    if (!name.endsWith('.json')) continue;
    try {
      const l = JSON.parse(
        await readFile(join(dir, name), 'utf8'),
      ) as BackupLedger;
      if (typeof l.target === 'string' && Array.isArray(l.snapshots))
        out.push(l);
    } catch {
      // A torn or foreign file: not ours to judge here.
    }
  }
  return out.sort((a, b) => a.target.localeCompare(b.target));
}

/**
 * When a snapshot was taken, from its id (`20261205T022722993Z`, the
 * time its backup began); undefined for an id not of that form.
 */
export function snapshotTime(id: string): Date | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})(\d{3})Z$/.exec(id);
  if (!m) return undefined;
  const t = new Date(
    `${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}.${m[7]}Z`,
  );
  return Number.isNaN(t.getTime()) ? undefined : t;
}
