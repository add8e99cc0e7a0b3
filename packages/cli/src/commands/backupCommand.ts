import { resolve } from 'node:path';
import { Lake, backupLake, openLakeCipher, restoreLake } from '@lpacs/lake';
import type { Options } from '../options';
import { requireLake } from '../requireLake';

function mb(bytes: number): string {
  return `${(bytes / 1e6).toFixed(1)} MB`;
}

/** `lpacs backup DEST [--lake DIR]`: an incremental, consistent snapshot. */
export async function backupCommand(
  args: string[],
  opts: Options,
): Promise<number> {
  const [dest] = args;
  if (!dest) {
    process.stderr.write('usage: lpacs backup DEST [--lake DIR]\n');
    return 2;
  }
  await requireLake(opts.lake);
  const r = await backupLake(opts.lake, resolve(dest));
  process.stdout.write(
    opts.json
      ? `${JSON.stringify(r, null, 2)}\n`
      : `snapshot ${r.snapshot} in ${resolve(dest)}: ${r.files} files, ${mb(r.bytes)}; copied ${r.copied} (${mb(r.copiedBytes)}) in ${r.seconds.toFixed(2)} s, ${mb(r.copiedBytes / Math.max(r.seconds, 1e-3))}/s\n`,
  );
  return 0;
}

/** `lpacs restore BACKUP --lake NEWDIR [--snapshot ID]`: rebuild and verify. */
export async function restoreCommand(
  args: string[],
  opts: Options,
  snapshot: string | undefined,
): Promise<number> {
  const [backup] = args;
  if (!backup) {
    process.stderr.write(
      'usage: lpacs restore BACKUP --lake NEWDIR [--snapshot ID]\n',
    );
    return 2;
  }
  // An encrypted lake's KEK is checked against the backup's data keys
  // first: a restore that cannot open the lake after copying would leave
  // it without its table links.
  openLakeCipher(resolve(backup));
  const r = await restoreLake(resolve(backup), opts.lake, snapshot);
  // Opening it as a writer recreates the table links and checks the layout.
  (await Lake.open(opts.lake)).close();
  process.stdout.write(
    opts.json
      ? `${JSON.stringify(r, null, 2)}\n`
      : `restored snapshot ${r.snapshot} into ${opts.lake}: ${r.files} files, ${mb(r.bytes)}, every checksum verified, in ${r.seconds.toFixed(2)} s\n`,
  );
  return 0;
}
