import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { LakeError, LakeErrorCode } from './LakeError';
import { processAlive } from './processAlive';

/**
 * The one-writer lock of a lake (`lake.lock`, holding the writer's pid).
 * A lock left by a process that no longer runs (kill -9) is taken over.
 */
export class LakeLock {
  private constructor(readonly path: string) {}

  /** @throws LakeError LAKE_BUSY naming the process that holds the lake. */
  static acquire(path: string, root: string): LakeLock {
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        writeFileSync(path, `${process.pid}\n`, { flag: 'wx', mode: 0o644 });
        return new LakeLock(path);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
        const pid = Number(readFileSync(path, 'utf8').trim());
        if (Number.isInteger(pid) && pid > 0 && processAlive(pid)) {
          throw new LakeError(
            LakeErrorCode.Busy,
            `lake ${root} is being written by process ${pid}; wait for it to finish (reading with lpacs status or serve is fine)`,
          );
        }
        rmSync(path, { force: true }); // stale: its writer is gone
      }
    }
    throw new LakeError(LakeErrorCode.Busy, `cannot lock lake ${root}`);
  }

  release(): void {
    rmSync(this.path, { force: true });
  }
}
