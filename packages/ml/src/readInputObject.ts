import { readObject } from '@lpacs/lake';
import { MlError, MlErrorCode } from './MlError';

/**
 * Reads a job input's object (decrypted in an encrypted lake). One gone
 * since the job selected it is OBJECT_MISSING, one the file system will
 * not read OBJECT_UNREADABLE with the error's code: a job's failures are
 * shown to researchers, so neither names the server's path, as Node's own
 * message (`ENOENT: no such file or directory, open '/...'`) would.
 * @param root - the lake directory.
 * @param key - the object's path under it (`instances.object_key`).
 */
export async function readInputObject(
  root: string,
  key: string,
): Promise<Uint8Array> {
  try {
    return await readObject(root, key);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (e.code === 'ENOENT')
      throw new MlError(
        MlErrorCode.ObjectMissing,
        'its object is no longer in the lake (erased or removed after the job selected it)',
      );
    if (typeof e.code === 'string' && e.syscall)
      throw new MlError(
        MlErrorCode.ObjectUnreadable,
        `its object could not be read (${e.code})`,
      );
    throw err;
  }
}
