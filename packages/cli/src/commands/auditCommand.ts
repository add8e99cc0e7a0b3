import { dirname, join } from 'node:path';
import { AuditLog } from '@lpacs/access';
import { counted } from '../format';
import type { Options } from '../options';
import { requireLake } from '../requireLake';

const USAGE =
  'usage: lpacs audit [--actor A] [--action X] [--limit N>=1 | --all] [--json] | audit verify [ENTRIES:HASH]';

/** An anchor as `ENTRIES:HASH` (what status or /metrics showed), or undefined. */
function parseAnchor(
  text: string,
): { entries: number; hash: string } | undefined {
  const m = /^([1-9]\d*):([0-9a-f]{64})$/.exec(text);
  return m ? { entries: Number(m[1]), hash: m[2]! } : undefined;
}

/**
 * `lpacs audit [--actor A] [--action X] [--limit N | --all] [--json]`:
 * the newest entries first, 50 unless told; the text output ends with a
 * line saying how many of how many it showed when it left some out (the
 * JSON output stays a bare array, as its consumers read it); `audit
 * verify [ENTRIES:HASH]` checks the chain, its recorded head and, when
 * given, an anchor kept off the machine.
 */
export async function auditCommand(
  args: string[],
  opts: Options,
  flags: {
    actor?: string | undefined;
    action?: string | undefined;
    limit?: string | undefined;
    all?: boolean | undefined;
  },
): Promise<number> {
  const DEFAULT_LIMIT = 50;
  const limit = flags.limit === undefined ? DEFAULT_LIMIT : Number(flags.limit);
  const anchor =
    args[0] === 'verify' && args[1] ? parseAnchor(args[1]) : undefined;
  if (
    (args.length > 0 && args[0] !== 'verify') ||
    args.length > (args[0] === 'verify' ? 2 : 1) ||
    !Number.isInteger(limit) ||
    limit < 1 ||
    (flags.all && flags.limit !== undefined)
  ) {
    process.stderr.write(
      `${USAGE}${args[0] && args[0] !== 'verify' ? ` (unknown: "${args[0]}")` : ''}\n`,
    );
    return 2;
  }
  if (args[1] !== undefined && !anchor) {
    process.stderr.write(
      `lpacs audit verify: "${args[1]}" is not an anchor: give ENTRIES:HASH as lpacs status shows the audit head (a count, a colon, 64 hex digits)\n${USAGE}\n`,
    );
    return 2;
  }
  await requireLake(opts.lake);
  const log = new AuditLog(opts.lake);
  if (args[0] === 'verify') {
    const { entries, head, recorded, torn } = log.verify(anchor);
    const ahead = recorded ? entries - recorded.entries : 0;
    process.stdout.write(
      `audit log intact: ${counted(entries, 'entry', 'entries')}, head ${head}${anchor ? `; holds the anchored entry ${anchor.entries}` : ''}\n`,
    );
    if (!recorded && entries)
      process.stdout.write(
        `no chain head is recorded beside the log (${log.headPath}): entries cut from its end cannot be found until one is (the next audited action records it), unless checked against an anchor: lpacs audit verify ENTRIES:HASH\n`,
      );
    else if (!recorded)
      // A new lake looks like this, and so does one whose log and head
      // were both removed: only an anchor kept elsewhere tells them apart.
      process.stdout.write(
        `the log is empty and no chain head is recorded (${log.headPath}): a lake nothing audited has happened in yet, or one whose log and head were both removed; check against an anchor kept elsewhere: lpacs audit verify ENTRIES:HASH\n`,
      );
    else if (ahead)
      process.stdout.write(
        `${counted(ahead, 'entry', 'entries')} past the recorded head (entry ${recorded!.entries}): appended by a process stopped before it updated the head, or copied by a backup after it; the next audited action records the head\n`,
      );
    if (torn)
      process.stdout.write(
        `line ${torn.line} (${counted(torn.bytes, 'byte', 'bytes')}, no newline at the end of the log) is a write cut short (a crash or a full disk), not an entry: the next audited action moves it to ${join(dirname(log.path), 'torn-<time>.part')} and records audit.recovered\n`,
      );
    return 0;
  }
  // Newest first, as AuditLog.query orders them, with the count of all
  // that match for the last line.
  const matching = log
    .entries()
    .filter(
      (e) =>
        (!flags.actor || e.actor === flags.actor) &&
        (!flags.action || e.action === flags.action),
    )
    .reverse();
  const entries = flags.all ? matching : matching.slice(0, limit);
  if (opts.json) process.stdout.write(`${JSON.stringify(entries, null, 2)}\n`);
  else if (!entries.length && (flags.actor || flags.action)) {
    // An empty answer to a misspelt filter must not read as "nothing
    // happened": say what the log does hold.
    const all = log.entries();
    const seen = (key: 'actor' | 'action') =>
      [...new Set(all.map((e) => e[key]))].sort().join(', ') || 'none';
    process.stderr.write(
      `no entries${flags.actor ? ` by actor "${flags.actor}"` : ''}${flags.action ? ` with action "${flags.action}"` : ''}; the log holds ${all.length} entries${flags.actor ? `, actors: ${seen('actor')}` : ''}${flags.action ? `, actions: ${seen('action')}` : ''}\n`,
    );
  } else {
    for (const e of entries)
      process.stdout.write(
        `${String(e.seq).padStart(6)} ${e.at} ${e.actor.padEnd(16)} ${e.action.padEnd(18)} ${e.outcome.padEnd(7)} ${e.target ?? ''}\n`,
      );
    // A cut list must not read as the whole log.
    if (entries.length < matching.length)
      process.stdout.write(
        `showing the last ${entries.length} of ${matching.length} entries${flags.actor || flags.action ? ' that match' : ''}; --limit N or --all for more\n`,
      );
  }
  return 0;
}
