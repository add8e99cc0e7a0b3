import type { BackupOptions } from '@lpacs/lake';

/** How far a backup or restore has got (CopyProgress of @lpacs/lake). */
export type CopyProgress = Parameters<
  NonNullable<BackupOptions['onProgress']>
>[0];

/**
 * A progress line on stderr, rewritten in place at most ten times a
 * second, as ingest's is: only on a terminal and without --json, so logs
 * and pipes get nothing extra.
 */
export function progressWriter(json: boolean): {
  show: (line: () => string) => void;
  clear: () => void;
} {
  const tty = process.stderr.isTTY === true && !json;
  let last = 0;
  let shown = false;
  return {
    show: (line) => {
      const now = Date.now();
      if (!tty || now - last < 100) return;
      last = now;
      shown = true;
      process.stderr.write(`\r${line()}\x1b[K`);
    },
    clear: () => {
      if (shown) process.stderr.write('\r\x1b[K');
      shown = false;
    },
  };
}

/** One backup or restore progress line. */
export function copyLine(verb: string, p: CopyProgress): string {
  const pct = p.total ? ` ${Math.floor((100 * p.done) / p.total)}%` : '';
  const mbs = p.elapsedSeconds > 0 ? p.copiedBytes / 1e6 / p.elapsedSeconds : 0;
  const phase = p.phase === 'files' ? '' : ` ${p.phase}`;
  return `  ${verb}${phase} ${p.done}/${p.total} files${pct}  copied ${p.copied} (${(p.copiedBytes / 1e6).toFixed(1)} MB)  ${mbs.toFixed(1)} MB/s`;
}
