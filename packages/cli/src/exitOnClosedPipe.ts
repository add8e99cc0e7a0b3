/**
 * Ends the process quietly, with status 0, when the reader of stdout or
 * stderr goes away (`lpacs audit | head -1`): without a listener Node
 * prints the EPIPE as an unhandled error with its stack. Status 0 rather
 * than 141 (128 + SIGPIPE, what a shell reports for a tool the signal
 * stopped): whether a write meets the closed pipe at all depends on how
 * fast the reader quits, and `set -o pipefail` scripts should not fail on
 * that race. Any other stream error is rethrown as before.
 */
export function exitOnClosedPipe(): void {
  for (const stream of [process.stdout, process.stderr])
    stream.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code !== 'EPIPE') throw err;
      process.exit(0);
    });
}
