import { readlinkSync } from 'node:fs';
import { getPriority, setPriority } from 'node:os';

/**
 * Lowers the calling thread's priority by `increment` (Linux: nice is per
 * thread, and threads it starts inherit it). /proc/thread-self names the
 * thread's own id. Elsewhere, or when refused, nothing changes.
 */
export function lowerPriority(increment: number): void {
  if (increment <= 0) return;
  try {
    const tid = Number(readlinkSync('/proc/thread-self').split('/').pop());
    if (Number.isInteger(tid) && tid > 0)
      setPriority(tid, Math.min(19, getPriority(tid) + increment));
  } catch {
    // not Linux, or not permitted: run at the process's priority
  }
}
