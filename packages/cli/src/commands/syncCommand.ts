import { AuditLog } from '@lpacs/access';
import { sendToPeer, syncItems } from '@lpacs/sharing';
import type { SyncProgress, SyncSelection } from '@lpacs/sharing';
import { cliActor } from '../cliActor';
import { megabytes } from '../format';
import type { Options } from '../options';
import { requireLake } from '../requireLake';

/** Flags of `lpacs sync`. */
export interface SyncFlags {
  cohort?: string | undefined;
  release?: string | undefined;
  to?: string | undefined;
  token?: string | undefined;
}

const USAGE =
  'usage: lpacs sync (--cohort ID | --release ID) --to https://HOST:PORT [--token TOKEN] [--lake DIR]\n' +
  '       (the token may come from $LPACS_SYNC_TOKEN instead)\n';

function progressText(p: SyncProgress): string {
  const verb = p.phase === 'checking' ? 'checked' : 'sent';
  return `\r  ${verb} ${p.done}/${p.total}  ${megabytes(p.bytesSent)}\x1b[K`;
}

/**
 * `lpacs sync`: sends a saved cohort or an approved release to another
 * lpacs, only the objects its lake lacks (by SHA-256). A rerun after a
 * dropped connection sends the rest; audited here as `sync.send`.
 */
export async function syncCommand(
  opts: Options,
  flags: SyncFlags,
): Promise<number> {
  const token = flags.token ?? process.env.LPACS_SYNC_TOKEN;
  if (
    !!flags.cohort === !!flags.release ||
    !flags.to ||
    !/^https?:\/\/[^/]+\/?$/.test(flags.to) ||
    !token
  ) {
    process.stderr.write(USAGE);
    return 2;
  }
  await requireLake(opts.lake);
  const selection: SyncSelection = flags.cohort
    ? { cohort: flags.cohort }
    : { release: flags.release! };
  const items = await syncItems(opts.lake, selection);
  const tty = process.stderr.isTTY && !opts.json;
  let last = 0;
  const report = await sendToPeer(opts.lake, items, {
    url: flags.to,
    token,
    ...(opts.batchSize ? { chunkObjects: opts.batchSize } : {}),
    onProgress: (p) => {
      const now = Date.now();
      if (!tty || (now - last < 100 && p.done < p.total)) return;
      last = now;
      process.stderr.write(progressText(p));
    },
  });
  if (tty) process.stderr.write('\r\x1b[K');
  await new AuditLog(opts.lake).append({
    actor: cliActor(),
    action: 'sync.send',
    target: flags.cohort
      ? `cohort:${flags.cohort}`
      : `release:${flags.release}`,
    outcome: report.stopped ? 'failed' : 'ok',
    detail: {
      to: new URL(flags.to).origin,
      sent: report.sent,
      alreadyPresent: report.alreadyPresent,
      failed: report.failed.length,
      remaining: report.remaining,
    },
  });
  const ok = !report.stopped && report.failed.length === 0;
  if (opts.json) {
    process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
    return ok ? 0 : 1;
  }
  const lines = [
    `to              ${report.to}`,
    `objects         ${report.total}`,
    `sent            ${report.sent} (${megabytes(report.bytesSent)} in ${report.seconds.toFixed(2)} s)`,
    `already present ${report.alreadyPresent}`,
    `failed          ${report.failed.length}`,
    ...report.failed
      .slice(0, 20)
      .map((f) => `  ${f.sha256.slice(0, 16)}  ${f.code}`),
  ];
  if (report.stopped)
    lines.push(
      `not sent        ${report.remaining}: ${report.stopped}`,
      'rerun the same command to send the rest',
    );
  process.stdout.write(`${lines.join('\n')}\n`);
  return ok ? 0 : 1;
}
