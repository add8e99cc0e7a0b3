import { AuditLog, recordLastErasureIfUnknown } from '@lpacs/access';
import type { AuditEvent } from '@lpacs/access';
import { isAbsolute, relative } from 'node:path';
import {
  Lake,
  S3Target,
  backupLake,
  backupTarget,
  encryptionSettings,
  prepareMaskNaming,
  restoreLake,
} from '@lpacs/lake';
import { Spool } from '@lpacs/dimse';
import { cliActor } from '../cliActor';
import { counted } from '../format';
import { naming } from '../kekContext';
import { copyLine, progressWriter } from '../progress';
import type { Options } from '../options';
import { requireLake } from '../requireLake';
import { spoolText } from '../spoolText';

function mb(bytes: number): string {
  return `${(bytes / 1e6).toFixed(1)} MB`;
}

/**
 * Appends to a lake's audit log; a lake this process may only read (a
 * backup taken by another account) is still backed up, with a warning.
 */
async function audit(lake: string, event: Omit<AuditEvent, 'actor'>) {
  try {
    await new AuditLog(lake).append({ actor: cliActor(), ...event });
  } catch (err) {
    process.stderr.write(
      `warning: could not write the audit log of ${lake}: ${(err as Error).message}\n`,
    );
  }
}

/** `lpacs backup DEST [--lake DIR]`: an incremental, consistent snapshot. */
export async function backupCommand(
  args: string[],
  opts: Options,
  s3Endpoint?: string,
  verify = false,
): Promise<number> {
  const [dest] = args;
  if (!dest) {
    process.stderr.write(
      'usage: lpacs backup DEST [--lake DIR] (DEST: a directory or s3://bucket/prefix)\n',
    );
    return 2;
  }
  await requireLake(opts.lake);
  const to = backupTarget(dest, s3Endpoint);
  const remote = to instanceof S3Target;
  const inside = relative(opts.lake, to.name);
  if (!remote && !inside.startsWith('..') && !isAbsolute(inside)) {
    process.stderr.write(
      `lpacs backup: ${to.name} is inside the lake ${opts.lake}: a backup there would be lost with the lake and copied into itself; choose a place outside it\n`,
    );
    return 2;
  }
  // A backup carries keys/: in the clear, the site secret would let anyone
  // with the bucket recompute pseudonyms and open the linkage.
  if (remote && !encryptionSettings(opts.lake))
    process.stderr.write(
      `warning: ${opts.lake} is not encrypted, so its site secret, linkage and objects go to ${to.name} in the clear; lakes made with lpacs init --encrypt send only ciphertext (docs/encryption.md)\n`,
    );
  await to.prepare();
  // Older lakes name their last erasure only in the audit log: written
  // down once (into this snapshot too) so lpacs status need not read it.
  // An encrypted lake is backed up without its KEK, which the log needs.
  await recordLastErasureIfUnknown(opts.lake).catch(() => undefined);
  // No snapshot names a mask after its UID: an encrypted lake's masks
  // written before keyed names are renamed first.
  await prepareMaskNaming(opts.lake);
  const progress = progressWriter(opts.json);
  const r = await backupLake(opts.lake, to, {
    verify,
    onWait: (message) => process.stderr.write(`lpacs backup: ${message}\n`),
    onProgress: (p) => progress.show(() => copyLine('backup', p)),
  }).finally(progress.clear);
  await audit(opts.lake, {
    action: 'backup',
    target: to.name,
    outcome: 'ok',
    detail: { snapshot: r.snapshot, files: r.files, copied: r.copied },
  });
  // The spool holds originals answered by a C-STORE server and not yet
  // committed: a snapshot holds the lake's batches only, so it says so.
  const spool = await Spool.waiting(opts.lake);
  if (spool.files)
    process.stderr.write(
      `warning: this snapshot does not hold ${spoolText(spool, opts.lake)}\n`,
    );
  process.stdout.write(
    opts.json
      ? `${JSON.stringify({ ...r, target: to.name, ...(spool.files ? { notInSnapshot: { spool } } : {}) }, null, 2)}\n`
      : `snapshot ${r.snapshot} in ${to.name}: ${r.files} files, ${mb(r.bytes)}; copied ${r.copied} (${mb(r.copiedBytes)})${verify ? `, every copy read back: ${r.repaired} damaged and copied again` : ''} in ${r.seconds.toFixed(2)} s, ${mb(r.copiedBytes / Math.max(r.seconds, 1e-3))}/s\n` +
          `DuckDB views over this snapshot: ${to.locate(`snapshots/${r.snapshot}.duckdb.sql`)}\n`,
  );
  return 0;
}

/** `lpacs restore BACKUP --lake NEWDIR [--snapshot ID]`: rebuild and verify. */
export async function restoreCommand(
  args: string[],
  opts: Options,
  snapshot: string | undefined,
  s3Endpoint?: string,
): Promise<number> {
  const [backup] = args;
  if (!backup) {
    process.stderr.write(
      'usage: lpacs restore BACKUP --lake NEWDIR [--snapshot ID] (BACKUP: a directory or s3://bucket/prefix)\n',
    );
    return 2;
  }
  const from = backupTarget(backup, s3Endpoint);
  const progress = progressWriter(opts.json);
  const r = await naming(
    `snapshot ${snapshot ?? '(the newest)'} of ${from.name}`,
    'a snapshot opens only with the KEK the lake had when it was taken: one taken before a keys rotate needs the KEK in use then (docs/encryption.md)',
    () =>
      restoreLake(from, opts.lake, snapshot, (p) =>
        progress.show(() => copyLine('restore', p)),
      ),
  ).finally(progress.clear);
  // Opening it as a writer recreates the table links and checks the layout.
  const lake = await Lake.open(opts.lake);
  let orphans: number;
  try {
    // A backup taken while an ingest ran copies the objects its workers
    // had stored for batches committed after the snapshot's tables were
    // read: no row of the snapshot names them. The erase path's sweep
    // leaves out every object no instance row or quarantine record names
    // (masks and SEG objects live under masks/ and are not touched).
    orphans = (await lake.sweepObjects()).removed;
  } finally {
    lake.close();
  }
  // A snapshot taken before keyed mask names holds masks named after UIDs.
  await prepareMaskNaming(opts.lake);
  // The restored log goes on from the snapshot's last entry.
  await audit(opts.lake, {
    action: 'restore',
    target: from.name,
    outcome: 'ok',
    detail: { snapshot: r.snapshot, files: r.files, orphansLeftOut: orphans },
  });
  process.stdout.write(
    opts.json
      ? `${JSON.stringify({ ...r, orphansLeftOut: orphans }, null, 2)}\n`
      : `restored snapshot ${r.snapshot} of ${from.name} into ${opts.lake}: ${r.files} files, ${mb(r.bytes)}, every checksum verified, in ${r.seconds.toFixed(2)} s${orphans ? `; ${counted(orphans, 'object')} no row names left out (stored by a writer whose rows are not in the snapshot)` : ''}\n`,
  );
  return 0;
}
