import { createHmac, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { readdir, rename, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { createFileAtomic, syncFileSystem, writeFileAtomic } from '../fsutil';
import { LakeError, LakeErrorCode } from '../LakeError';
import { LakeLayout } from '../LakeLayout';
import type { LakeCipher } from './LakeCipher';
import { openLakeCipher } from './openLakeCipher';

/*
 * The file names of segmentation masks and their SEG objects.
 *
 * A lake in the clear names a mask after the instance (or, for a stacking
 * model, the series) it was predicted on: `masks/<model>/<UID>-<frame>.npy`
 * and `.seg.dcm`. An encrypted lake must not: a UID in a file name is in
 * the clear in every copy and every backup manifest. There the UID is
 * replaced by a keyed name, the first 128 bits of
 * HMAC-SHA256(names key, "<model SHA-256>\0<UID>") in hex, so only a holder
 * of the key can tell which instance a mask belongs to, and the same
 * instance's masks of two models are not linked by name. The names key is
 * 32 random bytes in `keys/mask-names.key`, sealed under the data key like
 * the site secret.
 *
 * Every writer, reader and eraser of mask files goes through these:
 * maskKey (where a mask is written), maskKeysToRead (where to look for
 * one), masksMadeFrom (erasure). An encrypted lake whose masks were named
 * before keyed names has them renamed by prepareMaskNaming, which writers
 * (prediction jobs, serve, erasure, backup) call first.
 */

/** A segmentation mask as `.npy`, or as a DICOM SEG object. */
export type MaskKind = 'npy' | 'seg';

/**
 * How a lake names its masks: plain data, so a job can hand it to the
 * worker threads that make masks.
 */
export interface MaskNaming {
  /** Names are keyed (an encrypted lake): never a UID. */
  readonly encrypted: boolean;
  /** The names key, hex (an encrypted lake, once made). */
  readonly secret?: string;
  /**
   * Masks may still be under names in the clear: an encrypted lake whose
   * masks were written before keyed names and not yet renamed.
   */
  readonly legacy: boolean;
}

/** How a lake in the clear names its masks (after their UIDs). */
export const MASK_NAMES_IN_THE_CLEAR: MaskNaming = {
  encrypted: false,
  legacy: false,
};

/** `keys/mask-names.key`, sealed. */
interface NamesKeyFile {
  version: 1;
  secret: string;
  /** Every mask named in the clear before the key was made is renamed. */
  renamed: boolean;
}

const KEY_FILE = 'keys/mask-names.key';
/** A keyed stem: 128 bits in hex. */
const KEYED = /^[0-9a-f]{32}$/;
/** A mask file: `<stem>-<frame>.npy` or `.seg.dcm`. */
const MASK_FILE = /^(.+)-(\d+)\.(npy|seg\.dcm)$/;
/** A mask being written (writeMask): the name, a random part, `.tmp`. */
const MASK_TEMP = /^(.+)-(\d+)\.(?:npy|seg\.dcm)\.[0-9a-f]+\.tmp$/;

const layout = new LakeLayout('');
/** Namings that cannot change any more (renamed), by lake root. */
const settled = new Map<string, MaskNaming>();

function readKeyFile(
  root: string,
  cipher: LakeCipher,
): NamesKeyFile | undefined {
  let sealed: Buffer;
  try {
    sealed = readFileSync(join(root, KEY_FILE));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  const file = JSON.parse(
    cipher.open(sealed, KEY_FILE).toString('utf8'),
  ) as NamesKeyFile;
  if (!/^[0-9a-f]{64}$/.test(file.secret))
    throw new LakeError(
      LakeErrorCode.Corrupt,
      `${KEY_FILE} holds no 32-byte names key`,
    );
  return file;
}

/**
 * How the lake at `root` names its masks now, for reading; writes
 * nothing. In an encrypted lake it needs the KEK (openLakeCipher).
 */
export function maskNaming(root: string): MaskNaming {
  const cipher = openLakeCipher(root);
  if (!cipher) return MASK_NAMES_IN_THE_CLEAR;
  const id = resolve(root);
  const known = settled.get(id);
  if (known) return known;
  const file = readKeyFile(root, cipher);
  const naming: MaskNaming = {
    encrypted: true,
    legacy: !file?.renamed,
    ...(file ? { secret: file.secret } : {}),
  };
  if (!naming.legacy) settled.set(id, naming);
  return naming;
}

/**
 * How the lake at `root` names its masks, for writing: in an encrypted
 * lake, makes the names key if there is none yet and renames every mask
 * still named after its UID (and deletes such a mask's half-written
 * temporary files), flushed before the key file records it. Safe beside
 * readers (maskKeysToRead looks at the old name first) and beside another
 * process doing the same.
 */
export async function prepareMaskNaming(root: string): Promise<MaskNaming> {
  const cipher = openLakeCipher(root);
  if (!cipher) return MASK_NAMES_IN_THE_CLEAR;
  const known = settled.get(resolve(root));
  if (known) return known;
  const path = join(root, KEY_FILE);
  let file = readKeyFile(root, cipher);
  if (!file) {
    const made: NamesKeyFile = {
      version: 1,
      secret: randomBytes(32).toString('hex'),
      renamed: false,
    };
    // Ours, or the one another process made first.
    await createFileAtomic(
      path,
      cipher.seal(Buffer.from(JSON.stringify(made))),
      0o600,
    );
    file = readKeyFile(root, cipher)!;
  }
  if (!file.renamed) {
    const naming: MaskNaming = {
      encrypted: true,
      legacy: true,
      secret: file.secret,
    };
    await renameClearMasks(root, naming);
    await syncFileSystem(root);
    await writeFileAtomic(
      path,
      cipher.seal(Buffer.from(JSON.stringify({ ...file, renamed: true }))),
      0o600,
    );
  }
  return maskNaming(root);
}

/** The folders of `masks/`, one per model SHA-256. */
async function modelFolders(root: string): Promise<string[]> {
  const entries = await readdir(join(root, 'masks'), {
    withFileTypes: true,
  }).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return [];
    throw err;
  });
  return entries.filter((e) => e.isDirectory()).map((e) => e.name);
}

async function filesOf(root: string, model: string): Promise<string[]> {
  return readdir(join(root, 'masks', model)).catch(
    (err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return [];
      throw err;
    },
  );
}

/** Renames an encrypted lake's masks named after UIDs to keyed names. */
async function renameClearMasks(
  root: string,
  naming: MaskNaming,
): Promise<void> {
  for (const model of await modelFolders(root)) {
    for (const name of await filesOf(root, model)) {
      const temp = MASK_TEMP.exec(name);
      if (temp && !KEYED.test(temp[1]!)) {
        await rm(join(root, 'masks', model, name), { force: true });
        continue;
      }
      const m = MASK_FILE.exec(name);
      if (!m || KEYED.test(m[1]!)) continue;
      const to = maskKey(
        naming,
        model,
        m[1]!,
        Number(m[2]),
        m[3] === 'npy' ? 'npy' : 'seg',
      );
      try {
        await rename(join(root, 'masks', model, name), join(root, to));
      } catch (err) {
        // Renamed meanwhile by another process.
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      }
    }
  }
}

/** What stands for `of` (a SOP or Series Instance UID) in mask names. */
function stem(naming: MaskNaming, model: string, of: string): string {
  if (!naming.encrypted) return of;
  if (!naming.secret)
    throw new Error(
      'an encrypted lake names masks with its names key: prepareMaskNaming makes it before masks are written',
    );
  return createHmac('sha256', Buffer.from(naming.secret, 'hex'))
    .update(`${model}\0${of}`)
    .digest('hex')
    .slice(0, 32);
}

/**
 * The key (path under the lake) of the mask a model made over frame
 * `frame` (0-based) of the instance, or of the series, `of`.
 */
export function maskKey(
  naming: MaskNaming,
  model: string,
  of: string,
  frame: number,
  kind: MaskKind,
): string {
  const s = stem(naming, model, of);
  return kind === 'npy'
    ? layout.maskKey(model, s, frame)
    : layout.segmentationKey(model, s, frame);
}

/**
 * Where a reader looks for that mask, in order: in an encrypted lake not
 * yet renamed, its old name first (a rename under way moves it from there
 * to the keyed one), then the keyed name once there is a names key.
 */
export function maskKeysToRead(
  naming: MaskNaming,
  model: string,
  of: string,
  frame: number,
  kind: MaskKind,
): string[] {
  if (!naming.encrypted) return [maskKey(naming, model, of, frame, kind)];
  return [
    ...(naming.legacy
      ? [maskKey(MASK_NAMES_IN_THE_CLEAR, model, of, frame, kind)]
      : []),
    ...(naming.secret ? [maskKey(naming, model, of, frame, kind)] : []),
  ];
}

/**
 * The paths of every mask and SEG object made from the instances or
 * series `of` (their UIDs), in any model's folder: for erasure.
 */
export async function masksMadeFrom(
  root: string,
  naming: MaskNaming,
  of: ReadonlySet<string>,
): Promise<string[]> {
  const out: string[] = [];
  for (const model of await modelFolders(root)) {
    const stems = new Set<string>();
    for (const uid of of) {
      if (!naming.encrypted || naming.legacy) stems.add(uid);
      if (naming.encrypted && naming.secret)
        stems.add(stem(naming, model, uid));
    }
    for (const name of await filesOf(root, model)) {
      const s = MASK_FILE.exec(name)?.[1];
      if (s !== undefined && stems.has(s))
        out.push(join(root, 'masks', model, name));
    }
  }
  return out;
}
