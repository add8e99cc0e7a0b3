import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import type { Socket } from 'node:net';
import type { Writable } from 'node:stream';
import {
  Dataset,
  Implementation,
  Scp,
  constants,
  responses,
} from 'dcmjs-dimse';
import type { association, requests } from 'dcmjs-dimse';
import type { Logger } from '@lpacs/lake';
import { DatasetCollector } from './DatasetCollector';
import { encodePartTen } from './encodePartTen';
import { negotiateAssociation } from './negotiateAssociation';
import type { AssociationPolicy } from './negotiateAssociation';
import type { Spool } from './Spool';
import { spooledSource } from './StoreBatcher';
import type { Settled, StoreBatcher } from './StoreBatcher';
import { StoreStatus } from './storeStatus';
import type { StoreAnswer } from './storeStatus';
import type { DimseAuditEvent } from './types';

const { RejectResult, RejectSource, Status } = constants;

/** What every connection of one SCP shares. */
export interface ConnectionContext {
  /** Where a received instance is kept until its batch commits. */
  spool: Spool;
  /** Gathers spooled instances into lake batches. */
  batcher: StoreBatcher;
  policy: AssociationPolicy;
  logger: Logger;
  /** Keeps a C-STORE under way known, so closing can wait for it. */
  track(work: Promise<unknown>): void;
  /**
   * Appends an audit entry; never rejects: false when it could not be
   * appended (the failure is logged), true otherwise.
   */
  audit(event: DimseAuditEvent): Promise<boolean>;
}

/** How an accepted association ended, for its audit entry. */
type Ending = 'released' | 'aborted' | 'dropped';

/**
 * An AE title as the audit log may show it: a refused caller's titles are
 * whatever it sent, so bytes outside printable ASCII become `?` and
 * `lpacs audit` never prints a control character.
 */
function printable(aeTitle: string): string {
  return aeTitle.replace(/[^\x20-\x7e]/g, '?');
}

/** The peer's address without the IPv4-mapped IPv6 prefix. */
function peerAddress(socket: Socket): string {
  return (socket.remoteAddress ?? 'unknown').replace(/^::ffff:/, '');
}

interface Received {
  collector: DatasetCollector;
  transferSyntaxUID: string;
}

/** A stable code for a thrown value, for logs (never its message). */
function errorCode(err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === 'string') return code;
  return err instanceof Error ? err.name : 'UNKNOWN';
}

/**
 * One TCP connection to the C-STORE SCP: negotiates the association, answers
 * C-ECHO, and for each C-STORE writes the data set durably to the spool,
 * hands it to the batcher and answers once the session's worker has judged
 * it (stored, quarantined, conflict); the batch holding it commits later
 * (when the push pauses, the association is released, or the batch is
 * full), and the file leaves the spool only then. A success status thus
 * means the instance is in the spool or the lake, and a restart after a
 * crash ingests what the spool holds.
 */
export class StoreScpConnection extends Scp {
  readonly #context: ConnectionContext;
  readonly #socket: Socket;
  readonly #received = new Map<requests.CStoreRequest, Received>();
  readonly #peer: string;
  /** C-STOREs under way, and the audit entry of a refusal. */
  readonly #pending = new Set<Promise<unknown>>();
  /** Names the association in its entries, pairing its first and last. */
  readonly #association = randomBytes(6).toString('hex');
  /** The entry written before the association's first C-STORE. */
  #opening: Promise<boolean> | undefined;
  #callingAE = '';
  #calledAE = '';
  #accepted = false;
  #ending: Ending = 'dropped';
  #echoes = 0;
  /** C-STOREs received, numbering their spool files and input names. */
  #stores = 0;
  readonly #counts: Record<Settled, number> = {
    ingested: 0,
    skipped: 0,
    quarantined: 0,
    conflict: 0,
    failed: 0,
    pending: 0,
  };

  constructor(socket: Socket, context: ConnectionContext) {
    super(socket);
    this.#socket = socket;
    this.#context = context;
    this.#peer = peerAddress(socket);
  }

  override associationRequested(request: association.Association): void {
    const { logger, policy } = this.#context;
    this.#callingAE = request.getCallingAeTitle();
    this.#calledAE = request.getCalledAeTitle();
    const fields = {
      callingAE: this.#callingAE,
      calledAE: this.#calledAE,
      peer: this.#peer,
    };
    const decision = negotiateAssociation(request, policy);
    if (decision.phase === 'rejected') {
      logger.warn({ ...fields, reason: decision.why }, 'association rejected');
      this.#hold(
        this.#context.audit({
          actor: this.#actor(),
          action: 'dimse.associate',
          outcome: 'denied',
          detail: {
            peer: this.#peer,
            calledAE: printable(this.#calledAE),
            why: decision.why,
          },
        }),
      );
      this.sendAssociationReject(
        RejectResult.Permanent,
        RejectSource.ServiceUser,
        decision.reason,
      );
      return;
    }
    logger.info(
      { ...fields, contexts: decision.contexts, refused: decision.refused },
      'association accepted',
    );
    this.#accepted = true;
    this.sendAssociationAccept();
  }

  override associationReleaseRequested(): void {
    this.#ending = 'released';
    // Its last instances commit now rather than after the idle wait, and
    // the release is answered once they have: when the sender's release
    // completes, what it sent is in the lake (one commit's wait per
    // association, not per instance).
    this.#context.batcher.flush();
    void Promise.allSettled([...this.#pending]).then(() => {
      // Counted once its C-STOREs have settled, as the end entry is:
      // before, most were still pending and the line said 0.
      this.#context.logger.info(
        { callingAE: this.#callingAE, ...this.#counts },
        'association released',
      );
      try {
        this.sendAssociationReleaseResponse();
      } catch (err) {
        this.#context.logger.warn(
          { code: errorCode(err) },
          'a release response could not be sent',
        );
      }
    });
  }

  override abort(source: number, reason: number): void {
    this.#ending = 'aborted';
    this.#context.logger.warn(
      { callingAE: this.#callingAE, source, reason },
      'association aborted by the peer',
    );
    // After an A-ABORT both sides close the transport (PS3.8 7.3.2); dcmtk
    // waits for us to do so until its ACSE timeout.
    this.#socket.destroy();
  }

  /**
   * The `dimse.associate` `ok` entry of an association that stores,
   * appended before its first C-STORE is ingested: a process killed
   * mid-association (kill -9, a crash, a power cut) writes no end entry,
   * and this one still says who stored into the lake, from where and
   * when. Echo-only associations, which change nothing, have only their
   * end entry. Resolves false when it cannot be appended (then tried
   * again by the next C-STORE).
   */
  #opened(): Promise<boolean> {
    this.#opening ??= this.#context
      .audit({
        actor: this.#actor(),
        action: 'dimse.associate',
        outcome: 'ok',
        detail: {
          via: 'dimse',
          association: this.#association,
          peer: this.#peer,
          calledAE: printable(this.#calledAE),
          began: 'C-STORE',
        },
      })
      .then((appended) => {
        if (!appended) this.#opening = undefined;
        return appended;
      });
    return this.#opening;
  }

  /**
   * Called once the connection has closed: waits for its C-STOREs and for
   * the batches holding them to commit, then writes the association's end
   * entry (one per association accepted): `ingest` when it stored
   * anything, else `dimse.echo` or `dimse.associate`, with the counts of
   * what the lake did (`pending`: answered, but their batch failed to
   * commit; they stay in the spool and are tried again); `failed` when
   * any C-STORE was refused or is pending. It names the association as
   * its opening entry does.
   */
  async finish(): Promise<void> {
    await Promise.allSettled([...this.#pending]);
    if (!this.#accepted) return;
    const c = this.#counts;
    const stores = Object.values(c).reduce((a, b) => a + b, 0);
    const refused = c.quarantined + c.conflict + c.failed + c.pending;
    await this.#context.audit({
      actor: this.#actor(),
      action: stores
        ? 'ingest'
        : this.#echoes
          ? 'dimse.echo'
          : 'dimse.associate',
      outcome: refused ? 'failed' : 'ok',
      detail: {
        via: 'dimse',
        association: this.#association,
        peer: this.#peer,
        calledAE: printable(this.#calledAE),
        ingested: c.ingested,
        skipped: c.skipped,
        quarantined: c.quarantined,
        conflicts: c.conflict,
        failed: c.failed,
        ...(c.pending ? { pending: c.pending } : {}),
        echoes: this.#echoes,
        ended: this.#ending,
      },
    });
  }

  /** The audit log's name for the caller: `dimse:<calling AE title>`. */
  #actor(): string {
    return `dimse:${printable(this.#callingAE) || '?'}`;
  }

  #hold(work: Promise<unknown>): void {
    this.#pending.add(work);
    void work.finally(() => this.#pending.delete(work));
  }

  override cEchoRequest(
    request: requests.CEchoRequest,
    callback: (response: responses.CEchoResponse) => void,
  ): void {
    this.#echoes++;
    const response = responses.CEchoResponse.fromRequest(request);
    response.setStatus(Status.Success);
    callback(response);
  }

  override createStoreWritableStream(
    context: association.PresentationContext,
    request: requests.CStoreRequest,
  ): Writable {
    const collector = new DatasetCollector();
    this.#received.set(request, {
      collector,
      transferSyntaxUID: context.getAcceptedTransferSyntaxUid() ?? '',
    });
    return collector;
  }

  override createDatasetFromStoreWritableStream(
    _writable: Writable,
    context: association.PresentationContext,
    callback: (dataset: Dataset) => void,
  ): void {
    // The bytes stay with the collector for cStoreRequest; parsing them
    // into a dcmjs Dataset here would cost time and could alter them.
    callback(new Dataset({}, context.getAcceptedTransferSyntaxUid()));
  }

  override cStoreRequest(
    request: requests.CStoreRequest,
    callback: (response: responses.CStoreResponse) => void,
  ): void {
    let settled: (outcome: Settled) => void = () => {};
    const committed = new Promise<Settled>((resolve) => (settled = resolve));
    // The association's end entry counts what its batches did.
    this.#hold(committed.then((outcome) => this.#counts[outcome]++));
    const work = this.#store(request, settled).then((answer) =>
      this.#answer(request, answer, callback),
    );
    this.#context.track(work);
    this.#hold(work);
  }

  /**
   * Spools one received data set and hands it to the batcher; resolves
   * with its answer once its verdict is known. Never rejects: failures
   * become statuses. `settled` is called once what became of it in the
   * lake is known (at once for a refusal made here).
   */
  async #store(
    request: requests.CStoreRequest,
    settled: (outcome: Settled) => void,
  ): Promise<StoreAnswer> {
    const { spool, batcher, logger } = this.#context;
    const refuse = (status: number, comment: string): StoreAnswer => {
      settled('failed');
      return { status, comment, outcome: 'failed' };
    };
    const received = this.#received.get(request);
    this.#received.delete(request);
    if (!received) return refuse(StoreStatus.CannotUnderstand, 'NO_DATA_SET');
    const n = ++this.#stores;
    try {
      const { collector, transferSyntaxUID } = received;
      if (!collector.writableFinished) await once(collector, 'finish');
      const bytes = encodePartTen(
        {
          sopClassUID: request.getAffectedSopClassUid(),
          sopInstanceUID: request.getAffectedSopInstanceUid(),
          transferSyntaxUID,
          implementationClassUID: Implementation.getImplementationClassUid(),
          implementationVersionName: Implementation.getImplementationVersion(),
          sourceAETitle: this.#callingAE,
        },
        collector.bytes(),
      );
      // Nothing goes into the lake before the association is audited.
      if (!(await this.#opened()))
        return refuse(StoreStatus.OutOfResources, 'AUDIT_FAILED');
      // On disk before it is answered: a crash from here on loses nothing.
      const file = await spool.put(
        this.#association,
        n,
        this.#callingAE,
        bytes,
      );
      return await new Promise<StoreAnswer>((answer) =>
        batcher.submit({
          file,
          source: spooledSource(file),
          bytes,
          answer,
          settled,
        }),
      );
    } catch (err) {
      logger.error(
        { callingAE: this.#callingAE, code: errorCode(err) },
        'a received instance could not be spooled',
      );
      return refuse(StoreStatus.OutOfResources, 'STORE_FAILED');
    }
  }

  #answer(
    request: requests.CStoreRequest,
    answer: StoreAnswer,
    callback: (response: responses.CStoreResponse) => void,
  ): void {
    const { logger } = this.#context;
    const status = `0x${answer.status.toString(16).padStart(4, '0')}`;
    logger.debug(
      { callingAE: this.#callingAE, status, comment: answer.comment },
      'C-STORE answered',
    );
    try {
      const response = responses.CStoreResponse.fromRequest(request);
      response.setStatus(answer.status);
      if (answer.comment) response.setErrorComment(answer.comment);
      if (answer.offending !== undefined)
        // An AT value is written from its tag as a number (dcmjs), though
        // the typings only name strings.
        response
          .getCommandDataset()
          .setElement(
            'OffendingElement',
            answer.offending as unknown as string,
          );
      callback(response);
    } catch (err) {
      logger.error(
        { callingAE: this.#callingAE, code: errorCode(err) },
        'a C-STORE response could not be sent',
      );
    }
  }
}
