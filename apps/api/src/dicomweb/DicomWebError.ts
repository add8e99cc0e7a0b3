import type { ServerResponse } from 'node:http';

/**
 * A DICOMweb request that cannot be answered, with its HTTP status and a
 * message that names the bad parameter or UID (never a stored value).
 */
export class DicomWebError extends Error {
  override readonly name = 'DicomWebError';
  constructor(
    readonly status: 400 | 404 | 405 | 406 | 415 | 500,
    message: string,
  ) {
    super(message);
  }
}

/** A 400 that names the query parameter at fault. */
export function badParameter(name: string, why: string): DicomWebError {
  return new DicomWebError(400, `bad query parameter "${name}": ${why}`);
}

/**
 * Answers a DICOMweb failure (QIDO-RS, WADO-RS, STOW-RS alike): the status
 * and one line of plain text naming what is wrong. A response already
 * under way is cut off instead, so the client sees it incomplete.
 */
export function sendError(
  res: ServerResponse,
  status: number,
  message: string,
): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  res
    .writeHead(status, { 'content-type': 'text/plain; charset=utf-8' })
    .end(`${message}\n`);
}
