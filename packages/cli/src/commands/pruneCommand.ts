import { AuditLog, lastErasure } from '@lpacs/access';
import {
  BackupBusy,
  Lake,
  PruneRefused,
  backupTarget,
  pruneBackup,
} from '@lpacs/lake';
import type { PruneReport, PruneSelection } from '@lpacs/lake';
import { cliActor } from '../cliActor';
import { counted } from '../format';
import type { Options } from '../options';
import { requireLake } from '../requireLake';

const USAGE = `usage: lpacs backup prune DEST [--lake DIR] SELECTION [--dry-run] [--all]
  SELECTION, one or more (what each names goes):
    --snapshot ID        that snapshot (repeatable)
    --keep-last N        all but the newest N
    --older-than-days D  those older than D days (but the newest N with --keep-last N)
    --before-erasures    those begun before the lake's last erasure finished,
                         so no backup still holds erased data
    --all                every snapshot (also lets a selection leave none)
  DEST: a directory or s3://bucket/prefix [--s3-endpoint URL]. Files no
  remaining snapshot names are deleted too. A prune stopped midway is
  finished by the next prune of DEST, whatever it selects.
`;

/** Flags of `lpacs backup prune`. */
export interface PruneFlags {
  snapshot?: string[] | undefined;
  keepLast?: string | undefined;
  olderThanDays?: string | undefined;
  beforeErasures?: boolean | undefined;
  all?: boolean | undefined;
  dryRun?: boolean | undefined;
  s3Endpoint?: string | undefined;
}

function mb(bytes: number): string {
  return `${(bytes / 1e6).toFixed(1)} MB`;
}

/** A whole number flag, at least `min`; a message when it is not. */
function whole(
  name: string,
  value: string | undefined,
  min: number,
): number | string | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  return /^\d+$/.test(value) && n >= min
    ? n
    : `--${name} must be a whole number, ${min} or more, got "${value}"`;
}

/** The instant of the lake's last erasure, or why it cannot be used. */
async function erasureCutoff(
  lake: string,
): Promise<{ at?: string; problem?: string }> {
  const open = await Lake.open(lake, undefined, 'read');
  try {
    const pending = await open.pendingErasure();
    if (pending)
      return {
        problem: `an erasure (${pending.action}, begun ${pending.begun}) of ${lake} is unfinished: finish it with lpacs erase resume --lake ${lake}, take a backup, then prune`,
      };
  } finally {
    open.close();
  }
  return { at: (await lastErasure(lake))?.at };
}

function printReport(r: PruneReport, erasure: string | undefined): string {
  const lines: string[] = [];
  if (r.resumed.length)
    lines.push(
      `${r.dryRun ? 'would finish' : 'finished'} an interrupted prune of ${counted(r.resumed.length, 'snapshot')}: ${r.resumed.join(', ')}`,
    );
  const chosen = r.deleted.filter((id) => !r.resumed.includes(id));
  const which = erasure ? ` ${erasure}` : '';
  if (chosen.length)
    lines.push(
      `${r.dryRun ? 'would delete' : 'deleted'} ${counted(chosen.length, 'snapshot')} of ${r.target}${which}: ${chosen.join(', ')}`,
    );
  else if (!r.resumed.length)
    lines.push(
      `no snapshot of ${r.target} selected${erasure ? ` (none ${erasure})` : ''}`,
    );
  const left = `${counted(r.kept.length, 'snapshot')} ${r.dryRun ? 'kept' : 'left'}`;
  lines.push(
    r.bytes
      ? `${r.dryRun ? 'would free' : 'freed'} ${mb(r.bytes)}: ${counted(r.deleted.length, 'snapshot manifest')} and ${counted(r.files, 'file')} no ${r.dryRun ? 'kept' : 'remaining'} snapshot names; ${left}${r.dryRun ? '' : `, in ${r.seconds.toFixed(2)} s`}`
      : `${left}`,
  );
  return `${lines.join('\n')}\n`;
}

/**
 * `lpacs backup prune DEST SELECTION`: deletes snapshots and the files
 * only they named (see pruneBackup), audited in the lake; `--dry-run`
 * says what would go. `--before-erasures` takes the lake's last erasure
 * (see lastErasure).
 */
export async function pruneCommand(
  args: string[],
  opts: Options,
  flags: PruneFlags,
): Promise<number> {
  const [dest, ...extra] = args;
  const keepLast = whole('keep-last', flags.keepLast, 1);
  const olderThanDays = whole('older-than-days', flags.olderThanDays, 0);
  const problem = !dest
    ? 'give the backup to prune (a directory or s3://bucket/prefix)'
    : extra.length
      ? `one backup at a time: ${extra.join(' ')} was not expected`
      : typeof keepLast === 'string'
        ? keepLast
        : typeof olderThanDays === 'string'
          ? olderThanDays
          : !flags.snapshot?.length &&
              keepLast === undefined &&
              olderThanDays === undefined &&
              !flags.beforeErasures &&
              !flags.all
            ? 'say which snapshots to delete'
            : undefined;
  if (problem) {
    process.stderr.write(`lpacs backup prune: ${problem}\n${USAGE}`);
    return 2;
  }
  await requireLake(opts.lake);
  const sel: PruneSelection = {
    snapshots: flags.snapshot ?? [],
    all: flags.all === true,
    ...(typeof keepLast === 'number' ? { keepLast } : {}),
    ...(typeof olderThanDays === 'number' ? { olderThanDays } : {}),
  };
  let erasure: string | undefined;
  if (flags.beforeErasures) {
    const cutoff = await erasureCutoff(opts.lake);
    if (cutoff.problem) {
      process.stderr.write(`lpacs backup prune: ${cutoff.problem}\n`);
      return 1;
    }
    if (cutoff.at) {
      sel.before = cutoff.at;
      erasure = `taken before the erasure of ${cutoff.at}`;
    } else
      process.stderr.write(
        `${opts.lake} records no erasure that removed data: no snapshot predates one\n`,
      );
  }
  const target = backupTarget(dest!, flags.s3Endpoint);
  let r: PruneReport;
  try {
    r = await pruneBackup(target, sel, {
      dryRun: flags.dryRun === true,
      lake: opts.lake,
    });
  } catch (err) {
    if (!(err instanceof PruneRefused || err instanceof BackupBusy)) throw err;
    process.stderr.write(`lpacs backup prune: ${err.message}\n`);
    return 1;
  }
  if (!r.dryRun)
    await new AuditLog(opts.lake).append({
      actor: cliActor(),
      action: 'backup.prune',
      target: r.target,
      outcome: 'ok',
      detail: {
        snapshots: r.deleted.length,
        // Ids are the times snapshots were taken: no lake data.
        deleted: r.deleted.join(',').slice(0, 2000),
        kept: r.kept.length,
        files: r.files,
        bytes: r.bytes,
        ...(r.resumed.length ? { resumed: r.resumed.length } : {}),
        ...(sel.before ? { beforeErasure: sel.before } : {}),
      },
    });
  process.stdout.write(
    opts.json
      ? `${JSON.stringify({ ...r, ...(sel.before ? { erasure: sel.before } : {}) }, null, 2)}\n`
      : printReport(r, erasure),
  );
  return 0;
}
