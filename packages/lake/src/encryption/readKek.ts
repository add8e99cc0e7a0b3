import { readFileSync } from 'node:fs';
import { LakeError, LakeErrorCode } from '../LakeError';

/** A key-encryption key and where it came from (for messages, never the key). */
export interface Kek {
  key: Buffer;
  /** `LPACS_KEK`, `LPACS_KEK_FILE (path)` or `--kek-file path`. */
  source: string;
}

const fromFile = new Map<string, Kek>();

/** How a user supplies the KEK, for error messages. */
export const KEK_HELP =
  'set LPACS_KEK (32 bytes as 64 hex digits or base64) or LPACS_KEK_FILE (a file holding them, or 32 raw bytes), or pass --kek-file PATH';

/**
 * Reads a 256-bit key from text (64 hex digits or base64 of 32 bytes) or
 * from exactly 32 raw bytes.
 * @throws LakeError KEK_INVALID naming where the key came from, never its value.
 */
export function parseKek(data: Buffer, source: string): Kek {
  const text = data.toString('latin1').trim();
  let key: Buffer | undefined;
  if (/^[0-9a-fA-F]{64}$/.test(text)) key = Buffer.from(text, 'hex');
  else if (/^[A-Za-z0-9+/]{43}=$/.test(text)) key = Buffer.from(text, 'base64');
  else if (data.length === 32) key = Buffer.from(data);
  if (key?.length !== 32)
    throw new LakeError(
      LakeErrorCode.KekInvalid,
      `the key-encryption key from ${source} is not 32 bytes (64 hex digits, base64, or 32 raw bytes)`,
    );
  return { key, source };
}

/**
 * The key-encryption key from the environment: `LPACS_KEK` (the key
 * itself) or `LPACS_KEK_FILE` (a file holding it), or undefined.
 */
export function readKek(env: NodeJS.ProcessEnv = process.env): Kek | undefined {
  if (env.LPACS_KEK)
    return parseKek(Buffer.from(env.LPACS_KEK, 'latin1'), 'LPACS_KEK');
  const file = env.LPACS_KEK_FILE;
  if (!file) return undefined;
  // Read once per path: ingest workers seal every object with it.
  const known = fromFile.get(file);
  if (known) return known;
  let data: Buffer;
  try {
    data = readFileSync(file);
  } catch (err) {
    throw new LakeError(
      LakeErrorCode.KekInvalid,
      `cannot read the key-encryption key file ${file} (--kek-file or LPACS_KEK_FILE): ${(err as NodeJS.ErrnoException).code ?? 'error'}`,
    );
  }
  // Named as a file: it may have come from --kek-file or LPACS_KEK_FILE.
  const kek = parseKek(data, `key file ${file}`);
  fromFile.set(file, kek);
  return kek;
}
