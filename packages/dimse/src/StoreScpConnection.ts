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
import type { FileOutcome, IngestSession, Verdict } from '@lpacs/ingest';
import type { Logger } from '@lpacs/lake';
import { DatasetCollector } from './DatasetCollector';
import { encodePartTen } from './encodePartTen';
import { negotiateAssociation } from './negotiateAssociation';
import type { AssociationPolicy } from './negotiateAssociation';
import { StoreStatus, storeStatus } from './storeStatus';
import type { StoreAnswer, StoreOutcome } from './storeStatus';
import type { DimseAuditEvent } from './types';

const { RejectResult, RejectSource, Status } = constants;

/** What every connection of one SCP shares. */
export interface ConnectionContext {
  session: IngestSession;
  policy: AssociationPolicy;
  logger: Logger;
  /** The next input name for the ingest report: `dimse:AE#n`. */
  nextSource(callingAE: string): string;
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
 * C-ECHO, and ingests each C-STORE data set before it answers, so a success
 * status means the instance is committed to the lake.
 *
 * TODO: each instance is its own `session.run`, hence its own lake batch
 * (a Parquet file per table and a journalled, fsynced commit): about
 * 27 ms per sample MR slice (2.6 MB) on the dev box, against about 8 ms
 * when 20 go in one run, and a 2,000-slice push leaves 2,000 tiny
 * Parquet files per table. Batching the instances of an association needs
 * the answers held until the batch commits, so the SCU must allow
 * asynchronous operations (PS3.7 D.3.3.3) or wait on a short batch timer.
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
  readonly #counts: Record<StoreOutcome, number> = {
    ingested: 0,
    skipped: 0,
    quarantined: 0,
    conflict: 0,
    failed: 0,
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
    this.#context.logger.info(
      { callingAE: this.#callingAE, ...this.#counts },
      'association released',
    );
    this.sendAssociationReleaseResponse();
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
   * Called once the connection has closed: waits for its C-STOREs, then
   * writes the association's end entry (one per association accepted):
   * `ingest` when it stored anything, else `dimse.echo` or
   * `dimse.associate`, with the counts per outcome; `failed` when any
   * C-STORE was answered with a failure status. It names the association
   * as its opening entry does.
   */
  async finish(): Promise<void> {
    await Promise.allSettled([...this.#pending]);
    if (!this.#accepted) return;
    const c = this.#counts;
    const stores = Object.values(c).reduce((a, b) => a + b, 0);
    const refused = c.quarantined + c.conflict + c.failed;
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
    const work = this.#store(request).then((answer) =>
      this.#answer(request, answer, callback),
    );
    this.#context.track(work);
    this.#hold(work);
  }

  /** Ingests one received data set; never rejects, failures become statuses. */
  async #store(request: requests.CStoreRequest): Promise<StoreAnswer> {
    const { session, logger } = this.#context;
    const received = this.#received.get(request);
    this.#received.delete(request);
    if (!received) {
      return {
        status: StoreStatus.CannotUnderstand,
        comment: 'NO_DATA_SET',
        outcome: 'failed',
      };
    }
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
      if (!(await this.#opened())) {
        return {
          status: StoreStatus.OutOfResources,
          comment: 'AUDIT_FAILED',
          outcome: 'failed',
        };
      }
      let answer: StoreAnswer | undefined;
      const settle = (o: FileOutcome, verdict: Verdict) =>
        (answer = storeStatus(o, verdict));
      await session.run(
        [{ source: this.#context.nextSource(this.#callingAE), bytes }],
        // Revised when another writer committed the same instance first.
        { onOutcome: settle, onRevised: settle },
      );
      return (
        answer ?? {
          status: StoreStatus.OutOfResources,
          comment: 'NO_OUTCOME',
          outcome: 'failed',
        }
      );
    } catch (err) {
      logger.error(
        { callingAE: this.#callingAE, code: errorCode(err) },
        'a received instance could not be stored',
      );
      return {
        status: StoreStatus.OutOfResources,
        comment: 'STORE_FAILED',
        outcome: 'failed',
      };
    }
  }

  #answer(
    request: requests.CStoreRequest,
    answer: StoreAnswer,
    callback: (response: responses.CStoreResponse) => void,
  ): void {
    const { logger } = this.#context;
    this.#counts[answer.outcome]++;
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
