import { AuditLog } from '@lpacs/access';
import { counted } from '../format';
import type { Options } from '../options';
import { requireLake } from '../requireLake';

/** `lpacs audit [--actor A] [--action X] [--limit N] [--json]`, `audit verify`. */
export async function auditCommand(
  args: string[],
  opts: Options,
  flags: {
    actor?: string | undefined;
    action?: string | undefined;
    limit?: string | undefined;
  },
): Promise<number> {
  const limit = flags.limit === undefined ? 50 : Number(flags.limit);
  if (
    (args.length > 0 && args[0] !== 'verify') ||
    args.length > 1 ||
    !Number.isInteger(limit) ||
    limit < 1
  ) {
    process.stderr.write(
      `usage: lpacs audit [--actor A] [--action X] [--limit N>=1] [--json] | audit verify${args[0] && args[0] !== 'verify' ? ` (unknown: "${args[0]}")` : ''}\n`,
    );
    return 2;
  }
  await requireLake(opts.lake);
  const log = new AuditLog(opts.lake);
  if (args[0] === 'verify') {
    const { entries, head } = log.verify();
    process.stdout.write(
      `audit log intact: ${counted(entries, 'entry', 'entries')}, head ${head}\n`,
    );
    return 0;
  }
  const entries = log.query({
    ...(flags.actor ? { actor: flags.actor } : {}),
    ...(flags.action ? { action: flags.action } : {}),
    limit,
  });
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
  } else
    for (const e of entries)
      process.stdout.write(
        `${String(e.seq).padStart(6)} ${e.at} ${e.actor.padEnd(16)} ${e.action.padEnd(18)} ${e.outcome.padEnd(7)} ${e.target ?? ''}\n`,
      );
  return 0;
}
