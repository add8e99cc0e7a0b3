import { AuditLog } from '@lpacs/access';
import type { AuditEntry } from '@lpacs/access';

/** A peer lake `lpacs sync` sent an erased cohort or release to. */
export interface SyncedPeer {
  /** The peer's origin (scheme, host, port), as `sync.send` audited it. */
  to: string;
  /** What was sent there: `cohort:<id>`, `release:<id>`. */
  targets: string[];
  /** The last such sync's time. */
  last: string;
}

/** How many objects a `sync.send` entry says the peer holds after it. */
function held(e: AuditEntry): number {
  const d = e.detail ?? {};
  const n = (k: string) => (typeof d[k] === 'number' ? d[k] : 0);
  return n('sent') + n('alreadyPresent') + n('conflicts');
}

/**
 * The peers that were sent (by `lpacs sync`, read from the audit log) a
 * saved cohort or release an erasure changed: each may hold copies of the
 * erased instances, which an erasure here cannot reach. Runs that left
 * the peer holding nothing of it are not counted.
 */
export function peersSentTo(
  root: string,
  changed: { cohorts: readonly string[]; releases: readonly string[] },
): SyncedPeer[] {
  const targets = new Set([
    ...changed.cohorts.map((c) => `cohort:${c}`),
    ...changed.releases.map((r) => `release:${r}`),
  ]);
  if (!targets.size) return [];
  const peers = new Map<string, SyncedPeer>();
  for (const e of new AuditLog(root).entries()) {
    const to = e.detail?.to;
    if (
      e.action !== 'sync.send' ||
      typeof to !== 'string' ||
      !e.target ||
      !targets.has(e.target) ||
      held(e) === 0
    )
      continue;
    const peer = peers.get(to) ?? { to, targets: [], last: e.at };
    if (!peer.targets.includes(e.target)) peer.targets.push(e.target);
    if (e.at > peer.last) peer.last = e.at;
    peers.set(to, peer);
  }
  return [...peers.values()].sort((a, b) => a.to.localeCompare(b.to));
}
