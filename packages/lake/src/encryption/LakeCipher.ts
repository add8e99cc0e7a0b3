import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { createReadStream, readFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { pipeline } from 'node:stream';
import type { Readable } from 'node:stream';
import { writeFileAtomic } from '../fsutil';
import { LakeError, LakeErrorCode } from '../LakeError';
import { KEK_HELP } from './readKek';
import type { Kek } from './readKek';

/** `keys/data-keys.json`: the data keys, each wrapped by the KEK. */
interface DataKeyFile {
  version: 1;
  algorithm: 'AES-256-GCM';
  /** The key new files are sealed with. */
  current: string;
  keys: Array<{ id: string; wrapped: string; createdAt: string }>;
}

const MAGIC = Buffer.from('LPE1', 'latin1');
const ID_BYTES = 8;
const NONCE_BYTES = 12;
const TAG_BYTES = 16;
const HEADER_BYTES = MAGIC.length + ID_BYTES + NONCE_BYTES;

function wrapAad(id: string): Buffer {
  return Buffer.from(`lpacs data key ${id}`, 'latin1');
}

function wrap(kek: Kek, id: string, key: Buffer): string {
  const nonce = randomBytes(NONCE_BYTES);
  const c = createCipheriv('aes-256-gcm', kek.key, nonce);
  c.setAAD(wrapAad(id));
  const body = Buffer.concat([c.update(key), c.final()]);
  return Buffer.concat([nonce, body, c.getAuthTag()]).toString('base64');
}

function unwrap(kek: Kek, id: string, wrapped: string): Buffer {
  const raw = Buffer.from(wrapped, 'base64');
  const d = createDecipheriv(
    'aes-256-gcm',
    kek.key,
    raw.subarray(0, NONCE_BYTES),
  );
  d.setAAD(wrapAad(id));
  d.setAuthTag(raw.subarray(raw.length - TAG_BYTES));
  try {
    return Buffer.concat([
      d.update(raw.subarray(NONCE_BYTES, raw.length - TAG_BYTES)),
      d.final(),
    ]);
  } catch {
    throw new LakeError(
      LakeErrorCode.KekWrong,
      `the key-encryption key from ${kek.source} does not open this lake's data key ${id} (wrong key, or the file was changed); ${KEK_HELP}`,
    );
  }
}

function readKeyFile(path: string): DataKeyFile {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as DataKeyFile;
  } catch (err) {
    throw new LakeError(
      LakeErrorCode.Corrupt,
      `the lake is encrypted but its data keys ${path} cannot be read (${(err as NodeJS.ErrnoException).code ?? 'not JSON'})`,
    );
  }
}

/**
 * The data keys of an encrypted lake, unwrapped, and the one file format
 * sealed with them: `LPE1`, an 8-byte key id, a 12-byte nonce, the
 * AES-256-GCM ciphertext and its 16-byte tag; the first 24 bytes are the
 * additional authenticated data.
 */
export class LakeCipher {
  /** Bytes a sealed file has beyond its plaintext. */
  static readonly overhead = HEADER_BYTES + TAG_BYTES;
  readonly #keys: Map<string, Buffer>;
  readonly #current: string;

  private constructor(keys: Map<string, Buffer>, current: string) {
    this.#keys = keys;
    this.#current = current;
  }

  /** Makes a first data key, wraps it with `kek` and writes the key file. */
  static async create(path: string, kek: Kek): Promise<LakeCipher> {
    const id = randomBytes(ID_BYTES).toString('hex');
    const key = randomBytes(32);
    const file: DataKeyFile = {
      version: 1,
      algorithm: 'AES-256-GCM',
      current: id,
      keys: [
        {
          id,
          wrapped: wrap(kek, id, key),
          createdAt: new Date().toISOString(),
        },
      ],
    };
    await writeFileAtomic(path, JSON.stringify(file, null, 2) + '\n', 0o600);
    return new LakeCipher(new Map([[id, key]]), id);
  }

  /**
   * Unwraps the data keys in `path` with `kek`.
   * @throws LakeError KEK_REQUIRED without a KEK, KEK_WRONG when the KEK
   * fails a GCM tag, LAKE_CORRUPT when the key file is unreadable.
   */
  static load(path: string, kek: Kek | undefined): LakeCipher {
    if (!kek)
      throw new LakeError(
        LakeErrorCode.KekRequired,
        `this lake is encrypted and needs its key-encryption key: ${KEK_HELP}`,
      );
    const file = readKeyFile(path);
    const keys = new Map(
      file.keys.map((k) => [k.id, unwrap(kek, k.id, k.wrapped)] as const),
    );
    return new LakeCipher(keys, file.current);
  }

  /**
   * Wraps every data key again under `newKek` and replaces the key file
   * atomically; sealed files are not touched. Returns how many keys.
   */
  static async rotate(path: string, oldKek: Kek, newKek: Kek): Promise<number> {
    const file = readKeyFile(path);
    const keys = file.keys.map((k) => ({
      ...k,
      wrapped: wrap(newKek, k.id, unwrap(oldKek, k.id, k.wrapped)),
    }));
    await writeFileAtomic(
      path,
      JSON.stringify({ ...file, keys }, null, 2) + '\n',
      0o600,
    );
    return keys.length;
  }

  /** Encrypts `plain` under the current data key with a fresh nonce. */
  seal(plain: Uint8Array): Buffer {
    const header = Buffer.concat([
      MAGIC,
      Buffer.from(this.#current, 'hex'),
      randomBytes(NONCE_BYTES),
    ]);
    const c = createCipheriv(
      'aes-256-gcm',
      this.#keys.get(this.#current)!,
      header.subarray(HEADER_BYTES - NONCE_BYTES),
    );
    c.setAAD(header);
    const body = c.update(plain);
    const last = c.final();
    return Buffer.concat([header, body, last, c.getAuthTag()]);
  }

  #decipher(header: Buffer, what: string) {
    if (header.length < HEADER_BYTES || !header.subarray(0, 4).equals(MAGIC))
      throw new LakeError(
        LakeErrorCode.Corrupt,
        `${what} is not sealed with this lake's keys (no LPE1 header)`,
      );
    const id = header.subarray(4, 4 + ID_BYTES).toString('hex');
    const key = this.#keys.get(id);
    if (!key)
      throw new LakeError(
        LakeErrorCode.Corrupt,
        `${what} is sealed with data key ${id}, which this lake does not hold`,
      );
    const d = createDecipheriv(
      'aes-256-gcm',
      key,
      header.subarray(HEADER_BYTES - NONCE_BYTES, HEADER_BYTES),
    );
    d.setAAD(header.subarray(0, HEADER_BYTES));
    return d;
  }

  /**
   * Decrypts what seal made.
   * @throws LakeError LAKE_CORRUPT naming `what` when it was changed.
   */
  open(sealed: Buffer, what: string): Buffer {
    if (sealed.length < LakeCipher.overhead)
      throw new LakeError(
        LakeErrorCode.Corrupt,
        `${what} is too short to be sealed`,
      );
    const d = this.#decipher(sealed.subarray(0, HEADER_BYTES), what);
    d.setAuthTag(sealed.subarray(sealed.length - TAG_BYTES));
    try {
      return Buffer.concat([
        d.update(sealed.subarray(HEADER_BYTES, sealed.length - TAG_BYTES)),
        d.final(),
      ]);
    } catch {
      throw new LakeError(
        LakeErrorCode.Corrupt,
        `${what} fails its AES-GCM tag: it was changed or truncated`,
      );
    }
  }

  /**
   * Decrypts a sealed file as a stream, for objects too large to hold.
   * The tag is checked at the end: a changed file ends the stream with an
   * error, after some unauthenticated bytes have gone out.
   */
  async openStream(
    path: string,
    what: string,
  ): Promise<{ stream: Readable; size: number }> {
    const handle = await open(path, 'r');
    let size: number;
    const header = Buffer.alloc(HEADER_BYTES);
    const tag = Buffer.alloc(TAG_BYTES);
    try {
      size = (await handle.stat()).size;
      if (size < LakeCipher.overhead)
        throw new LakeError(
          LakeErrorCode.Corrupt,
          `${what} is too short to be sealed`,
        );
      await handle.read(header, 0, HEADER_BYTES, 0);
      await handle.read(tag, 0, TAG_BYTES, size - TAG_BYTES);
    } finally {
      await handle.close();
    }
    const d = this.#decipher(header, what);
    d.setAuthTag(tag);
    const plainSize = size - LakeCipher.overhead;
    if (plainSize === 0) d.end();
    else
      pipeline(
        createReadStream(path, {
          start: HEADER_BYTES,
          end: size - TAG_BYTES - 1,
        }),
        d,
        () => {},
      );
    return { stream: d, size: plainSize };
  }
}
