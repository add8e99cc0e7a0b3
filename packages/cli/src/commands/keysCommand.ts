import { AuditLog } from '@lpacs/access';
import {
  KEK_HELP,
  Lake,
  LakeCipher,
  encryptionSettings,
  parseKek,
  readKek,
} from '@lpacs/lake';
import { cliActor } from '../cliActor';
import type { Options } from '../options';
import { requireLake } from '../requireLake';
import { readOptionFile } from '../readOptionFile';

/**
 * `lpacs keys rotate --new-kek-file PATH`: wraps the lake's data keys
 * under a new key-encryption key. Objects, secrets and linkage stay as
 * they are (they are sealed with the data keys, which do not change); the
 * old KEK stops opening the lake. Holds the write lock meanwhile; audited.
 */
export async function keysCommand(
  args: string[],
  opts: Options,
  flags: { newKekFile?: string },
): Promise<number> {
  if (args[0] !== 'rotate' || !flags.newKekFile) {
    process.stderr.write('usage: lpacs keys rotate --new-kek-file PATH\n');
    return 2;
  }
  await requireLake(opts.lake);
  if (!encryptionSettings(opts.lake)) {
    process.stderr.write(
      `lpacs keys: ${opts.lake} is not encrypted (lpacs init --encrypt creates an encrypted lake)\n`,
    );
    return 1;
  }
  const oldKek = readKek();
  if (!oldKek) {
    process.stderr.write(
      `lpacs keys: the current KEK is needed: ${KEK_HELP}\n`,
    );
    return 1;
  }
  const newKek = parseKek(
    readOptionFile('--new-kek-file', flags.newKekFile),
    `--new-kek-file ${flags.newKekFile}`,
  );
  // Re-wrapping under the same key changes nothing, yet would be audited
  // as a rotation someone may count on.
  if (newKek.key.equals(oldKek.key)) {
    process.stderr.write(
      `lpacs keys: the new KEK is the current one (${newKek.source} and ${oldKek.source} hold the same key); nothing rotated. Make a new key first: head -c 32 /dev/urandom | base64 > NEW.kek (docs/encryption.md)\n`,
    );
    return 1;
  }
  const lake = await Lake.open(opts.lake);
  try {
    const keys = await LakeCipher.rotate(lake.layout.dataKeys, oldKek, newKek);
    await new AuditLog(opts.lake).append({
      actor: cliActor(),
      action: 'keys.rotate',
      target: 'keys/data-keys.json',
      outcome: 'ok',
      detail: { dataKeys: keys },
    });
    process.stdout.write(
      `re-wrapped ${keys} data key${keys === 1 ? '' : 's'} of ${opts.lake} under the key from ${newKek.source}; objects untouched. Use that key from now on.\n`,
    );
    return 0;
  } finally {
    lake.close();
  }
}
