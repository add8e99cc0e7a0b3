import { AuditLog, snapshotsBeforeLastErasure } from '@lpacs/access';
import type { AuditHead } from '@lpacs/access';
import { Spool } from '@lpacs/dimse';
import { Catalog, Lake, unreadableText } from '@lpacs/lake';
import { spoolText } from '../spoolText';
import { counted, shownPath } from '../format';
import type { Options } from '../options';

/** `lpacs status`: what the lake holds and what it refused. */
export async function statusCommand(opts: Options): Promise<number> {
  const lake = await Lake.open(opts.lake, undefined, 'read');
  const catalog = await Catalog.open(opts.lake, { threads: 1 });
  try {
    const [counts] = await catalog.query(
      `SELECT count(DISTINCT "PatientID") AS patients, count(DISTINCT "StudyInstanceUID") AS studies,
              count(DISTINCT "SeriesInstanceUID") AS series, count(*) AS instances, coalesce(sum(size_bytes), 0) AS bytes
       FROM instances`,
    );
    // Entries that do not read are counted and said, never left out: a
    // monitor must not see a clean quarantine that is not.
    const listing = await lake.quarantineListing();
    const { entries: quarantined, unreadable } = listing;
    const batches = await lake.batches();
    const erasure = await lake.pendingErasure();
    // Monitoring must not fail on it: a log that does not open is for
    // lpacs audit verify to report.
    const stale = await snapshotsBeforeLastErasure(opts.lake).catch(
      () => undefined,
    );
    // The audit chain's head, to copy off the machine (an anchor that
    // lpacs audit verify ENTRIES:HASH checks); null when none is recorded,
    // `unreadable` for lpacs audit verify to explain.
    let auditHead: AuditHead | null | 'unreadable';
    try {
      auditHead = new AuditLog(opts.lake).head() ?? null;
    } catch {
      auditHead = 'unreadable';
    }
    // Instances a C-STORE SCP answered that no batch holds yet.
    const spool = await Spool.waiting(opts.lake);
    const status = {
      lake: opts.lake,
      ...counts,
      batches: batches.length,
      ...(spool.files ? { spool } : {}),
      quarantined,
      ...(unreadable.length
        ? {
            quarantineUnreadable: {
              entries: unreadable.length,
              errors: [...new Set(unreadable.map((u) => u.error))],
            },
          }
        : {}),
      auditHead,
      ...(stale ? { snapshotsBeforeErasure: stale } : {}),
      ...(erasure
        ? {
            unfinishedErasure: {
              action: erasure.action,
              begun: erasure.begun,
              done: erasure.done,
            },
          }
        : {}),
    };
    if (opts.json) {
      process.stdout.write(JSON.stringify(status, null, 2) + '\n');
      return unreadable.length ? 1 : 0;
    }
    const c = counts ?? {};
    process.stdout.write(
      [
        `lake        ${opts.lake}`,
        `patients    ${c.patients}`,
        `studies     ${c.studies}`,
        `series      ${c.series}`,
        `instances   ${c.instances} (${(Number(c.bytes) / 1e6).toFixed(1)} MB of objects)`,
        `batches     ${batches.length}`,
        ...(spool.files ? [`spool       ${spoolText(spool, opts.lake)}`] : []),
        `audit head  ${auditHead === null ? 'none recorded yet' : auditHead === 'unreadable' ? 'unreadable: run lpacs audit verify' : `${auditHead.entries}:${auditHead.hash} (at ${auditHead.at})`}`,
        ...(erasure
          ? [
              `erasure     UNFINISHED: ${erasure.action} begun ${erasure.begun} was interrupted; finish it with lpacs erase resume --lake ${opts.lake}`,
            ]
          : []),
        ...(stale?.backups ?? []).map(
          (b) =>
            `backups     ${counted(b.snapshots.length, 'snapshot')} in ${b.target} ${b.snapshots.length === 1 ? 'predates' : 'predate'} the erasure of ${stale!.erasure} and may still hold what it erased: run lpacs backup prune ${b.target} --before-erasures --lake ${opts.lake}`,
        ),
        `quarantined ${quarantined.length + unreadable.length}`,
        ...(unreadable.length
          ? [`  UNREADABLE: ${unreadableText(listing, lake.layout.quarantine)}`]
          : []),
        ...quarantined.map(
          (q) =>
            `  ${q.id.slice(0, 12)}  ${q.code}  ${q.message}  (${shownPath(q.source)})`,
        ),
      ].join('\n') + '\n',
    );
    return unreadable.length ? 1 : 0;
  } finally {
    await catalog.close();
    lake.close();
  }
}
