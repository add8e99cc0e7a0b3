import type { IngestSession } from '@lpacs/ingest';
import type { Logger } from '@lpacs/lake';

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
   * Calling AE titles allowed to associate; empty or undefined allows any.
   * AE titles are compared exactly, without leading or trailing spaces.
   */
  allowedCallingAETitles?: string[];
  /** Receives codes, counts and AE titles, never values of the instances. */
  logger?: Logger;
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

/** A running C-STORE SCP. */
export interface StoreScp {
  /** The port it listens on (the chosen one when asked for port 0). */
  readonly port: number;
  /**
   * Stops accepting connections, lets C-STOREs under way finish, then drops
   * open associations. The ingest session stays open.
   */
  close(): Promise<void>;
}
