import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { LakeError, LakeErrorCode } from '../LakeError';
import { LakeCipher } from './LakeCipher';
import { readKek } from './readKek';
import type { Kek } from './readKek';

/** What `lake.json` records of an encrypted lake (never a key). */
export interface EncryptionSettings {
  algorithm: 'AES-256-GCM';
  /** The wrapped data keys, relative to the lake. */
  dataKeys: string;
  /** Where the KEK comes from: never stored in the lake. */
  kek: string;
}

const ciphers = new Map<string, LakeCipher>();
const byEnvironment = new Map<string, LakeCipher>();
const settingsByRoot = new Map<string, EncryptionSettings | undefined>();

/** The `encryption` entry of a lake's settings, or undefined. */
export function encryptionSettings(
  root: string,
): EncryptionSettings | undefined {
  // Settings never change once written, so a lake's are read once; a lake
  // without lake.json yet is asked again next time.
  const path = resolve(root, 'lake.json');
  if (settingsByRoot.has(path)) return settingsByRoot.get(path);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
  let parsed: { encryption?: EncryptionSettings };
  try {
    parsed = JSON.parse(text) as { encryption?: EncryptionSettings };
  } catch {
    // Left to the lake's own reading of its settings, unless the lake has
    // data keys: then taking it for a lake in the clear would store
    // plaintext in an encrypted lake.
    if (!existsSync(join(root, 'keys', 'data-keys.json'))) return undefined;
    throw new LakeError(
      LakeErrorCode.Corrupt,
      `${path} is not valid JSON, and this lake has data keys: it cannot be opened until it is repaired`,
    );
  }
  settingsByRoot.set(path, parsed.encryption);
  return parsed.encryption;
}

/**
 * The cipher of an encrypted lake, or undefined for a lake in the clear
 * (or none yet). The KEK defaults to the environment (readKek); data keys
 * are unwrapped once per lake and KEK, and kept for the process.
 * @throws LakeError KEK_REQUIRED or KEK_WRONG for an encrypted lake.
 */
export function openLakeCipher(
  root: string,
  kek?: Kek,
): LakeCipher | undefined {
  const settings = encryptionSettings(root);
  if (!settings) return undefined;
  // Ingest workers ask once per object: the KEK the environment names is
  // looked up by those names, without reading or hashing it again.
  const named = kek
    ? undefined
    : `${root}\0${process.env.LPACS_KEK ?? ''}\0${process.env.LPACS_KEK_FILE ?? ''}`;
  const known = named === undefined ? undefined : byEnvironment.get(named);
  if (known) return known;
  kek ??= readKek();
  const id = `${resolve(root)}\0${kek ? createHash('sha256').update(kek.key).digest('hex') : ''}`;
  let cipher = ciphers.get(id);
  if (!cipher) {
    cipher = LakeCipher.load(join(root, settings.dataKeys), kek);
    ciphers.set(id, cipher);
  }
  if (named !== undefined) byEnvironment.set(named, cipher);
  return cipher;
}
