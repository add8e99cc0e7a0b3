import type { PeerDeidentified } from '../acceptDeidentified';

/** One file to ingest, wherever it came from. */
export interface InputFile {
  /** Where it came from, for the report: a path, or `archive.zip!entry`. */
  source: string;
  /** A path a worker can read itself, when the file is on disk. */
  path?: string;
  /** The bytes, when they came out of an archive or a network request. */
  bytes?: Buffer;
  /** Set when the input could not even be read out of its source (a damaged archive). */
  error?: { code: string; message: string };
  /**
   * Set for an archive entry that is not read at all (a link): why, for
   * the run's `notRead` list. Such an input carries no bytes.
   */
  notRead?: string;
  /**
   * Set for an object a trusted lpacs peer de-identified (`lpacs sync`):
   * it is stored as received, not de-identified again.
   */
  deidentified?: PeerDeidentified;
}
