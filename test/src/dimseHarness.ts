import { spawn } from 'node:child_process';
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { CLI } from './helpers';

// `lpacs serve --dimse-port 0` as a real process, for the tests that push
// to it with dcmtk: started on free ports, stopped by signal, and killed
// at the end of a file if a test left one running (killServes).

/** The servers started and not yet stopped. */
const serving = new Set<ChildProcessWithoutNullStreams>();

export interface DimseServing {
  child: ChildProcessWithoutNullStreams;
  /** The API's address, http://127.0.0.1:PORT. */
  base: string;
  dimsePort: number;
  out: () => string;
  err: () => string;
}

/** Counts a server started elsewhere among those killServes ends. */
export function track(child: ChildProcessWithoutNullStreams): void {
  serving.add(child);
}

/**
 * Starts `lpacs serve --lake LAKE --port 0 --dimse-port 0 ARGS...`;
 * resolves once both the API and the C-STORE SCP listen.
 */
export async function serveDimse(
  lake: string,
  args: string[],
  env: Record<string, string> = {},
): Promise<DimseServing> {
  const child = spawn(
    process.execPath,
    [
      ...[CLI, 'serve', '--lake', lake, '--port', '0'],
      ...['--dimse-port', '0', ...args],
    ],
    { env: { ...process.env, ...env } },
  );
  serving.add(child);
  let out = '';
  let err = '';
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const ready = await new Promise<{ base: string; dimsePort: number }>(
    (resolve, reject) => {
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        const base = /at (http:\/\/127\.0\.0\.1:\d+)\/graphql/.exec(out)?.[1];
        const port = /listening on 127\.0\.0\.1:(\d+) for/.exec(out)?.[1];
        if (base && port) resolve({ base, dimsePort: Number(port) });
      });
      child.once('exit', (code) =>
        reject(new Error(`serve exited ${code}: ${err}`)),
      );
      setTimeout(() => {
        child.kill('SIGKILL');
        reject(new Error(`serve did not say it listens: ${out}${err}`));
      }, 30_000).unref();
    },
  );
  return { child, ...ready, out: () => out, err: () => err };
}

/** Sends `signal` and resolves with how the process ended. */
export async function stopServe(
  child: ChildProcessWithoutNullStreams,
  signal: NodeJS.Signals,
): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  serving.delete(child);
  const exited = new Promise<{
    code: number | null;
    signal: NodeJS.Signals | null;
  }>((resolve) =>
    child.once('exit', (code, sig) => resolve({ code, signal: sig })),
  );
  child.kill(signal);
  return exited;
}

/** Kills every server a test left running (for `after`). */
export function killServes(): void {
  for (const child of serving) child.kill('SIGKILL');
  serving.clear();
}
