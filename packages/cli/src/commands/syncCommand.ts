import { AuditLog } from '@lpacs/access';
import { sendToPeer, syncItems } from '@lpacs/sharing';
import type { SyncProgress, SyncReport, SyncSelection } from '@lpacs/sharing';
import { cliActor } from '../cliActor';
import { megabytes } from '../format';
import { existingOptions, initFlags } from '../lakeOptions';
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

/** What is wrong with the flags, in words, or undefined when they do. */
function usageProblem(
  flags: SyncFlags,
  token: string | undefined,
): string | undefined {
  if (!!flags.cohort === !!flags.release)
    return 'give --cohort ID or --release ID';
  if (!flags.to) return 'give --to URL';
  if (!/^https?:\/\//i.test(flags.to))
    return `--to needs a URL with http:// or https://, got ${flags.to}`;
  if (!/^https?:\/\/[^/]+\/?$/i.test(flags.to))
    return `--to is the peer's base URL (scheme, host and port only), got ${flags.to}`;
  if (!token) return 'give --token, or set $LPACS_SYNC_TOKEN';
  return undefined;
}

/** Node's codes for a peer certificate this machine does not trust. */
const UNTRUSTED_CERT =
  /SELF_SIGNED_CERT|UNABLE_TO_(GET_ISSUER_CERT|VERIFY_LEAF_SIGNATURE)|CERT_UNTRUSTED|CERT_HAS_EXPIRED/;

/** What to do about what stopped the run: the peer's answer, or the network. */
function stoppedAdvice(status: number | undefined, stopped: string): string {
  // Trusted or not, a certificate for another name: trusting its CA
  // would not help.
  if (/ERR_TLS_CERT_ALTNAME_INVALID/.test(stopped))
    return 'the certificate is not for the host in --to: use the name it was issued for, or ask for one that names this host';
  if (UNTRUSTED_CERT.test(stopped))
    return "this machine does not trust the peer's certificate (lpacs never skips the check): give the CA that signed it with NODE_EXTRA_CA_CERTS=/path/ca.pem, or ask the peer's admin for a certificate that matches the host name in --to and has not expired";
  if (status === 401)
    return "the peer refused the token (unknown, expired or revoked): ask the peer's admin for a token of the receiving lake with sync.receive (there: lpacs tokens create USER --scope sync.receive) and give it with --token or $LPACS_SYNC_TOKEN";
  if (status === 403)
    return "the token's user may not receive syncs: it needs sync.receive (an admin, or a token made with --scope sync.receive on the peer)";
  if (status !== undefined && status !== 503)
    return 'the peer refused the request; a rerun sends the rest once that is fixed';
  return 'rerun the same command to send the rest';
}

/** The end of the peer's message for an object its options would have stripped more. */
const UNDER_PEER_OPTIONS = "under this lake's options";

/**
 * One line for the objects the peer refused because its options keep
 * less than this lake's: naming both, and what to do.
 */
function narrowerPeerLine(
  count: number,
  own: Record<string, unknown> | undefined,
  peer: Record<string, unknown> | undefined,
): string {
  const both = [
    own ? `this lake: lpacs init ${initFlags(own)}` : undefined,
    peer
      ? `the peer: lpacs init ${initFlags(peer)}`
      : 'the peer did not say its options',
  ].filter(Boolean);
  return `refused         ${count} under the peer's de-identification options, which keep less than this lake's (${both.join('; ')}): sync only to a lake whose options keep at least what this lake's do (a lake's options are set when lpacs init makes it)`;
}

/** How many conflicts or failures the report lists one by one. */
const LISTED = 20;

/** The line after a list cut at LISTED: how many it left out, and where they are. */
function more(count: number): string[] {
  return count > LISTED
    ? [`  ... and ${count - LISTED} more (--json lists every one)`]
    : [];
}

/** The `sent` line: the objects the peer stored and their bytes. */
function sentLine(r: SyncReport): string {
  const time = `${r.seconds.toFixed(2)} s`;
  if (r.bytesStored === r.bytesSent)
    return `sent            ${r.sent} (${megabytes(r.bytesStored)} in ${time})`;
  if (r.sent === 0)
    return `sent            0 (${megabytes(r.bytesSent)} offered, none accepted, in ${time})`;
  return `sent            ${r.sent} (${megabytes(r.bytesStored)} of ${megabytes(r.bytesSent)} offered, in ${time})`;
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
  const problem = usageProblem(flags, token);
  if (problem !== undefined || !flags.to || !token) {
    process.stderr.write(`lpacs sync: ${problem}\n${USAGE}`);
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
      conflicts: report.conflicts.length,
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
    sentLine(report),
    `already present ${report.alreadyPresent}`,
    ...(report.conflicts.length
      ? [
          `conflicts       ${report.conflicts.length} (the peer holds other content under the same SOP Instance UID and keeps this version beside it; later runs do not send it again)`,
          ...report.conflicts
            .slice(0, LISTED)
            .map((sha) => `  ${sha.slice(0, 16)}  CONFLICT`),
          ...more(report.conflicts.length),
        ]
      : []),
    `failed          ${report.failed.length}`,
    ...report.failed
      .slice(0, LISTED)
      .map(
        (f) =>
          `  ${f.sha256.slice(0, 16)}  ${f.code}${f.message ? `  ${f.message}` : ''}`,
      ),
    ...more(report.failed.length),
  ];
  const narrower = report.failed.filter((f) =>
    f.message?.endsWith(UNDER_PEER_OPTIONS),
  ).length;
  if (narrower)
    lines.push(
      narrowerPeerLine(
        narrower,
        existingOptions(opts.lake),
        report.peerOptions,
      ),
    );
  if (report.stopped)
    lines.push(
      `not sent        ${report.remaining}: ${report.stopped}`,
      stoppedAdvice(report.stoppedStatus, report.stopped),
    );
  process.stdout.write(`${lines.join('\n')}\n`);
  return ok ? 0 : 1;
}
