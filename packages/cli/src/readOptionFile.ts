import { readFileSync } from 'node:fs';

/**
 * A file a command-line option names, read whole. A failure names the
 * option and the file once ("--tls-cert: cannot read /x (ENOENT)"),
 * where Node's own message repeats its code and names no option.
 * @param option - the flag as typed, e.g. `--tls-cert`.
 */
export function readOptionFile(option: string, path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'error';
    throw new Error(`${option}: cannot read ${path} (${code})`);
  }
}
