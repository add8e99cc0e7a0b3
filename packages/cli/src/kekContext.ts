import { LakeError, LakeErrorCode } from '@lpacs/lake';

/**
 * Runs `run`; a KEK_REQUIRED or KEK_WRONG it throws is thrown again with
 * `which` lake (or snapshot) named first and `hint` after: a command that
 * reads two lakes with the one KEK given (erase --replay-from) or a
 * snapshot (restore) must say whose key failed.
 */
export async function naming<T>(
  which: string,
  hint: string,
  run: () => Promise<T>,
): Promise<T> {
  try {
    return await run();
  } catch (err) {
    if (
      err instanceof LakeError &&
      (err.code === LakeErrorCode.KekWrong ||
        err.code === LakeErrorCode.KekRequired)
    )
      throw new LakeError(err.code, `${which}: ${err.message}; ${hint}`);
    throw err;
  }
}
