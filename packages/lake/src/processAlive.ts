import { readFileSync } from 'node:fs';

/**
 * True when process `pid` still runs (a lock's holder; EPERM counts as
 * alive). A zombie (killed, not yet reaped by its parent, as under a
 * container's PID 1 that reaps nothing) has stopped: it holds nothing.
 * Given `started` (its processStart when it took the lock), a process
 * that started at another time is another one that got the same pid
 * after the holder was killed: the holder is gone.
 */
export function processAlive(pid: number, started?: string): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
  const fields = statFields(pid);
  if (!fields) return true; // no /proc: the pid is all there is to go by
  const state = fields[0];
  if (state === 'Z' || state === 'X') return false;
  return started === undefined || fields[19] === started;
}

/**
 * When process `pid` started (clock ticks after boot, from /proc), or
 * undefined where /proc does not say.
 */
export function processStart(pid: number): string | undefined {
  return statFields(pid)?.[19];
}

/** The fields of /proc/PID/stat after `pid (comm)`: state first. */
function statFields(pid: number): string[] | undefined {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
  } catch {
    return undefined;
  }
  // pid (comm) state ...: comm may hold spaces and parentheses.
  return stat
    .slice(stat.lastIndexOf(')') + 2)
    .trim()
    .split(' ');
}
