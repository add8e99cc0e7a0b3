import { randomBytes } from 'node:crypto';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { LakeError, LakeErrorCode, writeLakeFile } from '@lpacs/lake';
import { cliActor } from '../cliActor';
import { counted } from '../format';
import type { Options } from '../options';
import { requireLake } from '../requireLake';
import { retentionWhere } from '../retentionWhere';
import { runErasure } from '../runErasure';
import { printErasure } from '../printErasure';

/** Flags of `lpacs retention`. */
export interface RetentionFlags {
  olderThanDays?: string | undefined;
  /** An ISO 8601 instant instead of a number of days. */
  before?: string | undefined;
  modality?: string[] | undefined;
  /** A project: the saved cohort whose instances the policy covers. */
  cohort?: string | undefined;
  reason?: string | undefined;
  apply?: boolean | undefined;
}

/** The most --older-than-days takes: about 274 years. */
const MAX_DAYS = 100_000;

/**
 * `lpacs retention (--older-than-days N | --before INSTANT | --cohort ID)
 * [--modality M]... --reason R [--apply]`: erases instances that entered
 * the lake more than N days ago (the lake holds shifted study dates, so
 * the date of ingest is the one date it knows truly), those of a project
 * (the instances its saved cohort froze), optionally of some modalities
 * only; what is given must all hold. The erasure goes the way
 * `lpacs erase` does (see runErasure): objects, rows, the linkage of
 * erased studies and of patients left with none, quarantined originals
 * of erased studies, releases, saved cohorts; no tombstone. Without
 * --apply it only says what it would erase.
 */
export async function retentionCommand(
  opts: Options,
  flags: RetentionFlags,
): Promise<number> {
  const days = Number(flags.olderThanDays);
  const before = flags.before ? Date.parse(flags.before) : NaN;
  // At most MAX_DAYS: more reaches before any date a JavaScript Date holds
  // (and before any DICOM study).
  const byDays = Number.isInteger(days) && days >= 1 && days <= MAX_DAYS;
  const cohortId = flags.cohort?.trim() || undefined;
  // Say which part is wrong before the usage line.
  const problem =
    flags.olderThanDays !== undefined && !byDays
      ? `--older-than-days must be a whole number of days from 1 to ${MAX_DAYS}, got "${flags.olderThanDays}"`
      : flags.before !== undefined && Number.isNaN(before)
        ? `--before must be an ISO date or instant (2024-01-31 or 2024-01-31T12:00:00Z), got "${flags.before}"`
        : flags.cohort !== undefined && !cohortId
          ? '--cohort needs the id of a saved cohort (co_...)'
          : !byDays && Number.isNaN(before) && !cohortId
            ? 'give --older-than-days N, --before ISO-INSTANT or --cohort ID'
            : !flags.reason?.trim()
              ? '--reason is required: it is kept in the audit log'
              : undefined;
  if (problem) {
    process.stderr.write(
      `lpacs retention: ${problem}\nusage: lpacs retention (--older-than-days N | --before ISO-INSTANT | --cohort ID) [--modality M]... --reason "policy" [--apply]\n`,
    );
    return 2;
  }
  const cutoff =
    byDays || !Number.isNaN(before)
      ? new Date(byDays ? Date.now() - days * 86_400_000 : before).toISOString()
      : undefined;
  const modalities = (flags.modality ?? []).map((m) => m.trim().toUpperCase());
  // A cutoff after now selects every instance ingested so far: a typo'd
  // year must not empty the lake. The dry run shows it, with a warning.
  const future = !byDays && before > Date.now() && !cohortId;
  if (future) {
    const what = `everything ingested so far${modalities.length ? ` (of modality ${modalities.join(', ')})` : ''}`;
    if (flags.apply) {
      process.stderr.write(
        `lpacs retention: --before ${flags.before} is in the future: it would erase ${what}; refused. Give a date in the past (to erase everything, the current instant: --before ${new Date().toISOString()})\n`,
      );
      return 2;
    }
    process.stderr.write(
      `warning: --before ${flags.before} is in the future: this selects ${what}; --apply refuses it\n`,
    );
  }
  await requireLake(opts.lake);
  let project: string[] | undefined;
  if (cohortId) {
    const { SharingStore } = await import('@lpacs/sharing');
    const store = new SharingStore(opts.lake);
    if (!store.cohorts().some((c) => c.id === cohortId)) {
      const ids = store.cohorts().map((c) => c.id);
      process.stderr.write(
        `lpacs retention: no saved cohort "${cohortId}" in ${opts.lake}; ${ids.length ? `saved cohorts: ${ids.join(', ')}` : 'it has none'}\n`,
      );
      return 2;
    }
    project = (await store.cohortInstances(cohortId)).map(
      (i) => i.SOPInstanceUID,
    );
  }
  const where = retentionWhere(cutoff, modalities, project);
  const what = [
    ...(cohortId ? [`of saved cohort ${cohortId}`] : []),
    ...(cutoff ? [`ingested before ${cutoff}`] : []),
  ].join(' ');
  if (!flags.apply) {
    const { Catalog } = await import('@lpacs/lake');
    const catalog = await Catalog.open(opts.lake, { threads: 1 });
    try {
      const [r] = await catalog.query(
        `SELECT count(*) AS n, count(DISTINCT "StudyInstanceUID") AS s FROM instances WHERE ${where.sql}`,
        where.params,
      );
      process.stdout.write(
        `would erase ${counted(Number(r?.n ?? 0), 'instance')} in ${counted(Number(r?.s ?? 0), 'study', 'studies')} ${what}; rerun with --apply\n`,
      );
    } finally {
      await catalog.close();
    }
    return 0;
  }
  // The instances it takes from the cohort, kept: the erasure takes them
  // out of the cohort's frozen list, and erase --replay-from needs them
  // for a lake restored from a snapshot older than the cohort.
  let frozenList: string | undefined;
  if (cohortId && project) {
    frozenList = `state/retentions/${cohortId}-${Date.now()}-${randomBytes(4).toString('hex')}.json`;
    await mkdir(join(opts.lake, 'state', 'retentions'), { recursive: true });
    await writeLakeFile(opts.lake, frozenList, JSON.stringify(project));
  }
  const r = await runErasure(
    opts.lake,
    {
      action: 'retention.apply',
      target: cutoff ? `before:${cutoff}` : `cohort:${cohortId}`,
      reason: flags.reason!.trim(),
      where,
      tombstone: false,
      detail: {
        modalities: modalities.join(',') || 'all',
        ...(cohortId ? { cohort: cohortId } : {}),
        ...(frozenList ? { frozenList } : {}),
      },
    },
    cliActor(),
  ).catch(async (err: unknown) => {
    // Refused before it began (a server holds the lake): no audit entry
    // will name the list, so it goes.
    if (
      frozenList &&
      err instanceof LakeError &&
      err.code === LakeErrorCode.Busy
    )
      await rm(join(opts.lake, frozenList), { force: true });
    throw err;
  });
  return printErasure(opts, r, cutoff ? { cutoff } : {});
}
