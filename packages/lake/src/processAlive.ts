import { readFileSync } from 'node:fs';

/**
 * True when process `pid` still runs (a lock's holder; EPERM counts as
 * alive). A zombie (killed, not yet reaped by its parent, as under a
 * container's PID 1 that reaps nothing) has stopped: it holds nothing.
 */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
  return !exited(pid);
}

/** True when /proc says the process has exited (state Z or X); false where /proc is not. */
function exited(pid: number): boolean {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
  } catch {
    return false;
  }
  // pid (comm) state ...: comm may hold spaces and parentheses.
  const state = stat.slice(
    stat.lastIndexOf(')') + 2,
    stat.lastIndexOf(')') + 3,
  );
  return state === 'Z' || state === 'X';
}
