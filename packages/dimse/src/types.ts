import type { IngestSession } from '@lpacs/ingest';
import type { Logger } from '@lpacs/lake';
import type { BatchingOptions } from './StoreBatcher';

/** How a C-STORE SCP is set up. */
export interface StoreScpOptions {
  /** Where received instances go; the caller opens and closes it. */
  session: IngestSession;
  /** Address to listen on; default `127.0.0.1` (this host only). */
  host?: string;
  /** TCP port; 0 picks a free one (read it from the result). */
  port: number;
  /** Our AE title: associations called to any other are rejected; default `LPACS`. */
  aeTitle?: string;
  /**
   * Calling AE titles allowed to associate; empty or undefined allows any
   * (and a warning is logged at start: `lpacs serve` asks for a list, or
   * for `--allow-any-ae`). AE titles are compared exactly, without leading
   * or trailing spaces. An AE title is not authentication: a peer can send
   * any; DICOM TLS with `tls.ca` is.
   */
  allowedCallingAETitles?: string[];
  /**
   * How received instances are gathered into lake batches and when the
   * SCP merges the lake's batches (StoreBatcher); `onCompacted` is the
   * SCP's own (it audits each compaction).
   */
  batching?: Omit<BatchingOptions, 'onCompacted'>;
  /** Receives codes, counts and AE titles, never values of the instances. */
  logger?: Logger;
  /**
   * The lake's audit log (an `AuditLog` of @lpacs/access): one entry per
   * association when it ends, one before an association's first C-STORE
   * is ingested (so an association cut by kill -9 is still on record; a
   * C-STORE whose association cannot be audited is refused, A700), and
   * one per association refused. Entries name the calling and called AE
   * titles, the peer's address and counts, never a UID or a value of an
   * instance.
   */
  audit?: DimseAudit;
  /**
   * Accept associations over TLS only (PS3.15 B.9, the BCP 195 profile:
   * TLS 1.2 or newer), with this certificate and key (PEM). With `ca`,
   * a calling node must present a certificate that `ca` signed.
   */
  tls?: {
    cert: Buffer | string;
    key: Buffer | string;
    ca?: Buffer | string;
  };
}

/** An audit entry as the SCP writes it: @lpacs/access's AuditEvent. */
export interface DimseAuditEvent {
  /** `dimse:<calling AE title>`. */
  actor: string;
  /**
   * `ingest` (stores), `dimse.echo` (C-ECHO only), `dimse.associate`
   * (before the first C-STORE, or an association that did nothing, or
   * refused).
   */
  action: string;
  outcome: 'ok' | 'denied' | 'failed';
  detail: Record<string, string | number | boolean>;
}

/** Where the SCP's audit entries go. */
export interface DimseAudit {
  append(event: DimseAuditEvent): Promise<unknown>;
}

/** A running C-STORE SCP. */
export interface StoreScp {
  /** The port it listens on (the chosen one when asked for port 0). */
  readonly port: number;
  /**
   * Stops accepting connections, lets C-STOREs under way finish, then drops
   * open associations and writes their audit entries. The ingest session
   * stays open.
   */
  close(): Promise<void>;
}
