import { AuditLog } from '@lpacs/access';
import {
  conflictVersions,
  pseudonymsOfQuarantined,
  retryQuarantined,
} from '@lpacs/ingest';
import type { RetriedEntry, RetryReport } from '@lpacs/ingest';
import { Lake, unreadableText } from '@lpacs/lake';
import { cliActor } from '../cliActor';
import { IngestTally, auditIngest } from '../ingestAudit';
import { counted, shownPath } from '../format';
import { createLogger } from '../logger';
import type { Options } from '../options';
import { resolveEntryIds } from '../quarantineIds';
import { requireLake } from '../requireLake';

const USAGE = `usage: lpacs quarantine [list] [--lake DIR] [--json]
       lpacs quarantine retry [ID...] [--lake DIR] [--json]
       lpacs quarantine drop ID... --reason "why" [--lake DIR]
`;

/** The entry ids `given` names, or a message saying which one is wrong. */
async function entryIds(
  lake: Lake,
  given: readonly string[],
): Promise<string[] | string> {
  const known = (await lake.quarantined()).map((e) => e.id);
  try {
    return resolveEntryIds(given, known);
  } catch (err) {
    return (err as Error).message;
  }
}

/** `lpacs quarantine list`: every entry, newest first, as `status` shows them. */
async function listEntries(opts: Options): Promise<number> {
  const lake = await Lake.open(opts.lake, undefined, 'read');
  try {
    const listing = await lake.quarantineListing();
    const { entries, unreadable } = listing;
    if (unreadable.length) {
      // What cannot be read is not listed as if the quarantine ended there.
      process.stderr.write(
        `lpacs quarantine list: ${unreadableText(listing, lake.layout.quarantine)}\n`,
      );
      return 1;
    }
    const kept = await lake.quarantinedSizes();
    // The pseudonym lets an operator match an entry to an erasure request.
    const of = new Map(
      [...(await pseudonymsOfQuarantined(lake))].map(([id, p]) => [
        id,
        p.patientID,
      ]),
    );
    // A conflict version is de-identified: its PatientID is the pseudonym.
    for (const v of await conflictVersions(lake))
      if (v.patientID) of.set(v.id, v.patientID);
    const listed = entries.map((e) => ({
      ...e,
      retryable: kept.has(e.id),
      ...(of.has(e.id) ? { patient: of.get(e.id)! } : {}),
    }));
    if (opts.json) {
      process.stdout.write(`${JSON.stringify(listed, null, 2)}\n`);
      return 0;
    }
    const lines = [`quarantined ${listed.length} in ${opts.lake}`];
    for (const e of listed)
      lines.push(
        // A CONFLICT's message says where its version is kept.
        `  ${e.id.slice(0, 12)}  ${e.at}  ${e.code}  ${e.message}  (${shownPath(e.source)})${e.retryable || e.code === 'CONFLICT' ? '' : '  no stored file'}${e.patient ? `  patient ${e.patient}` : ''}`,
      );
    process.stdout.write(`${lines.join('\n')}\n`);
    return 0;
  } finally {
    lake.close();
  }
}

function retryText(r: RetryReport): string {
  const lines = [
    `lake          ${r.lake}`,
    `retried       ${counted(r.entries.length, 'entry', 'entries')}`,
    `ingested      ${r.ingested}`,
    `skipped       ${r.skipped} (already in the lake)`,
    `quarantined   ${r.quarantined} (refused again; kept with the new reason)`,
  ];
  if (r.conflicts)
    lines.push(
      `conflicts     ${r.conflicts} (same SOP Instance UID, other content; kept, now listed as CONFLICT)`,
    );
  lines.push(
    `not retryable ${r.notRetryable}`,
    `removed       ${counted(r.removed.length, 'entry', 'entries')} from quarantine`,
  );
  const line = (e: RetriedEntry, what: string) =>
    `  ${what} ${e.id.slice(0, 12)} ${shownPath(e.source)}: ${e.code ? `${e.code} ` : ''}${e.message ?? ''}`;
  for (const e of r.entries) {
    if (e.verdict === 'quarantined') lines.push(line(e, 'quarantined'));
    if (e.verdict === 'conflict') lines.push(line(e, 'conflict'));
    if (e.verdict === 'not-retryable') lines.push(line(e, 'not retryable'));
  }
  return lines.join('\n');
}

/** `lpacs quarantine retry [ID...]`: the stored originals, ingested again. */
async function retryEntries(ids: string[], opts: Options): Promise<number> {
  let chosen: string[] | undefined;
  if (ids.length) {
    const lake = await Lake.open(opts.lake, undefined, 'read');
    try {
      const found = await entryIds(lake, ids);
      if (typeof found === 'string') {
        process.stderr.write(`lpacs quarantine retry: ${found}\n`);
        return 2;
      }
      chosen = found;
    } finally {
      lake.close();
    }
  }
  // A retry ingests: one `ingest` audit entry, as `lpacs ingest` writes.
  const tally = new IngestTally();
  let report: RetryReport;
  try {
    report = await retryQuarantined(
      chosen,
      {
        lake: opts.lake,
        workers: opts.workers,
        batchSize: opts.batchSize,
        logger: createLogger('ingest', process.env.LPACS_LOG_LEVEL ?? 'error'),
      },
      tally.hooks,
    );
  } catch (error) {
    await auditIngest(opts.lake, 'retry', tally, { error });
    throw error;
  }
  const audited = await auditIngest(opts.lake, 'retry', tally, undefined);
  process.stdout.write(
    opts.json
      ? `${JSON.stringify(report, null, 2)}\n`
      : `${retryText(report)}\n`,
  );
  return audited ? 0 : 1;
}

/**
 * `lpacs quarantine drop ID... --reason TEXT`: deletes entries, originals
 * and all (they hold PHI: deleting them is the point), each audited with
 * who and why. The source path stays out of the audit log.
 */
async function dropEntries(
  ids: string[],
  opts: Options,
  reason: string | undefined,
): Promise<number> {
  const problem = !ids.length
    ? 'name the entries to drop (lpacs quarantine list shows their ids)'
    : !reason?.trim()
      ? '--reason is required: it is kept in the audit log'
      : undefined;
  if (problem) {
    process.stderr.write(`lpacs quarantine drop: ${problem}\n${USAGE}`);
    return 2;
  }
  const operator = cliActor();
  await requireLake(opts.lake);
  const lake = await Lake.open(opts.lake, undefined, 'append');
  const audit = new AuditLog(opts.lake);
  try {
    const found = await entryIds(lake, ids);
    if (typeof found === 'string') {
      process.stderr.write(`lpacs quarantine drop: ${found}\n`);
      return 2;
    }
    const entries = new Map((await lake.quarantined()).map((e) => [e.id, e]));
    const kept = await lake.quarantinedSizes();
    for (const id of found) {
      const entry = entries.get(id);
      const dropped = await lake.dropQuarantined(id);
      await audit.append({
        actor: operator,
        action: 'quarantine.drop',
        target: id,
        outcome: dropped ? 'ok' : 'failed',
        detail: {
          reason: reason!.trim().slice(0, 200),
          code: entry?.code ?? 'unknown',
          original: kept.has(id),
        },
      });
      process.stdout.write(
        dropped
          ? `dropped ${id.slice(0, 12)}  ${entry?.code ?? ''}  (${shownPath(entry?.source ?? '')})${kept.has(id) ? '' : entry?.code === 'CONFLICT' ? '  (the version it kept is deleted by the next lpacs compact)' : '  (no stored file)'}\n`
          : `${id.slice(0, 12)} was already gone\n`,
      );
    }
    return 0;
  } finally {
    lake.close();
  }
}

/**
 * `lpacs quarantine [list | retry [ID...] | drop ID... --reason TEXT]`:
 * what ingest refused, sent again once its cause is fixed, or deleted.
 */
export async function quarantineCommand(
  args: string[],
  opts: Options,
  flags: { reason?: string | undefined },
): Promise<number> {
  const [sub = 'list', ...ids] = args;
  if (sub === 'list' && !ids.length) return listEntries(opts);
  if (sub === 'retry') return retryEntries(ids, opts);
  if (sub === 'drop') return dropEntries(ids, opts, flags.reason);
  process.stderr.write(
    sub === 'list'
      ? `lpacs quarantine list takes no ids\n${USAGE}`
      : `lpacs quarantine: unknown subcommand "${sub.slice(0, 40)}"\n${USAGE}`,
  );
  return 2;
}
