import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Writes a DICOM file from a dcmdump-style listing with dcmtk's dump2dcm
 * (a writer independent of lpacs) and returns its path.
 * @param syntax dump2dcm's transfer syntax flag: +te, +ti or +tb.
 */
export function dumpFixture(
  dir: string,
  name: string,
  lines: readonly string[],
  syntax = '+te',
): string {
  const dump = join(dir, `${name}.dump`);
  const path = join(dir, `${name}.dcm`);
  writeFileSync(dump, `${lines.join('\n')}\n`);
  execFileSync('dump2dcm', [syntax, dump, path], { stdio: 'ignore' });
  return path;
}

/** What dcmdump prints for a file: the independent reading of our output. */
export function dcmdump(path: string): string {
  return execFileSync('dcmdump', ['-q', path], { encoding: 'latin1' });
}

/** The tags dcmdump lists, lower-case `gggg,eeee`, nested ones indented. */
export function dumpedTags(path: string): string[] {
  return [...dcmdump(path).matchAll(/^(\s*)\(([0-9a-f]{4},[0-9a-f]{4})\)/gm)]
    .map((m) => `${m[1]}${m[2]}`)
    .filter((t) => !t.trim().startsWith('fffe'));
}
