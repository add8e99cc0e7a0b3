/**
 * What `status`, `backup` and `serve` say of received instances waiting
 * in the lake's C-STORE spool (Spool.waiting): answered with Success, in
 * no committed batch, so not in queries or backups yet.
 */
export function spoolText(
  spool: { files: number; stopped: number },
  lake: string,
): string {
  const live = spool.files - spool.stopped;
  const parts: string[] = [];
  if (live)
    parts.push(
      `${live} received instance${live === 1 ? '' : 's'} in a running C-STORE server's spool, committed with its next batch`,
    );
  if (spool.stopped)
    parts.push(
      `${spool.stopped} received instance${spool.stopped === 1 ? '' : 's'} left in the spool by a C-STORE server that stopped: not in the lake until lpacs serve --lake ${lake} --dimse-port N --allow-ae AE starts and commits them`,
    );
  return parts.join('; ');
}
