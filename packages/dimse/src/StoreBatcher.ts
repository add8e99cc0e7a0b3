import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { FileOutcome, IngestSession, Verdict } from '@lpacs/ingest';
import type { Compaction, Logger } from '@lpacs/lake';
import type { Spool, Spooled } from './Spool';
import { StoreStatus, storeStatus } from './storeStatus';
import type { StoreAnswer, StoreOutcome } from './storeStatus';

/** How received instances are gathered into lake batches. */
export interface BatchingOptions {
  /** Files per batch at most; default 1000 (an ingest session's batch). */
  maxFiles?: number;
  /** A batch commits once no instance arrived for this long; default 200 ms. */
  idleMs?: number;
  /** A batch commits once it has been open this long; default 10 s. */
  maxAgeMs?: number;
  /**
   * Merge the lake's batches (IngestSession.compactAlone) once the
   * receiver has been idle `compactIdleMs` (default 5 s) and the lake
   * holds at least this many `instances` batches; 0 never. Default 100.
   */
  compactAfterBatches?: number;
  compactIdleMs?: number;
  /** A batch whose commit failed is tried again after this long; default 5 s. */
  retryMs?: number;
  /** Told of each compaction made (for the audit log). */
  onCompacted?: (result: Compaction[]) => void;
}

/** What became of a spooled instance once its run ended. */
export type Settled = StoreOutcome | 'pending';

/** A received instance, spooled, on its way into a batch. */
export interface Submission {
  file: Spooled;
  /** The input name in reports and quarantine records: `dimse:AE#assoc.n`. */
  source: string;
  /** Its bytes, when still in memory (dropped once handed to the session). */
  bytes?: Buffer;
  /** Called once with the C-STORE's answer, as soon as its verdict is known. */
  answer?: (answer: StoreAnswer) => void;
  /**
   * Called once its run has ended: its verdict as committed (a verdict an
   * other writer's commit revised is the revised one), `failed` when it
   * was refused, or `pending` when it was answered but its batch did not
   * commit (it stays in the spool and is tried again).
   */
  settled?: (outcome: Settled) => void;
}

/** The input name of a spooled file (as its quarantine records name it). */
export function spooledSource(file: Spooled): string {
  return `dimse:${file.callingAE}#${file.association}.${file.n}`;
}

/**
 * Feeds spooled instances to an ingest session as runs of many files, so a
 * push of 2,000 slices makes a few lake batches, not 2,000. A run takes
 * what arrives until `maxFiles` went in, nothing arrived for `idleMs`, it
 * is `maxAgeMs` old, or a flush is asked for (an association released);
 * it then commits. Each file's answer is given as soon as the session's
 * worker has judged it (stored, quarantined, conflict), before the commit:
 * the spool is what makes it safe. A file leaves the spool only once its
 * run has committed.
 */
export class StoreBatcher {
  readonly #session: IngestSession;
  readonly #spool: Spool;
  readonly #logger: Logger;
  readonly #maxFiles: number;
  readonly #idleMs: number;
  readonly #maxAgeMs: number;
  readonly #compactAfter: number;
  readonly #compactIdleMs: number;
  readonly #retryMs: number;
  readonly #onCompacted: ((result: Compaction[]) => void) | undefined;
  readonly #queue: Submission[] = [];
  #active: Promise<void> | undefined;
  #wake: (() => void) | undefined;
  #flush = false;
  #closing = false;
  #compactTimer: NodeJS.Timeout | undefined;
  #retryTimer: NodeJS.Timeout | undefined;
  #retry: Spooled[] = [];
  /** Batches committed, merges made: for logs and tests. */
  readonly stats = { runs: 0, compactions: 0 };

  constructor(
    session: IngestSession,
    spool: Spool,
    logger: Logger,
    o: BatchingOptions = {},
  ) {
    this.#session = session;
    this.#spool = spool;
    this.#logger = logger;
    this.#maxFiles = o.maxFiles ?? 1000;
    this.#idleMs = o.idleMs ?? 200;
    this.#maxAgeMs = o.maxAgeMs ?? 10_000;
    this.#compactAfter = o.compactAfterBatches ?? 100;
    this.#compactIdleMs = o.compactIdleMs ?? 5000;
    this.#retryMs = o.retryMs ?? 5000;
    this.#onCompacted = o.onCompacted;
  }

  /** Queues a spooled instance for the next run. */
  submit(s: Submission): void {
    clearTimeout(this.#compactTimer);
    this.#queue.push(s);
    this.#wake?.();
    this.#kick();
  }

  /** Ends the run under way once what is queued went in (an association released). */
  flush(): void {
    this.#flush = true;
    this.#wake?.();
  }

  /** Waits until everything queued has been through a run. */
  async drain(): Promise<void> {
    while (this.#active) {
      this.flush();
      await this.#active;
    }
  }

  /** Commits what is queued and stops; files not committed stay in the spool. */
  async close(): Promise<void> {
    this.#closing = true;
    clearTimeout(this.#compactTimer);
    clearTimeout(this.#retryTimer);
    await this.drain();
  }

  #kick(): void {
    if (this.#active || (this.#closing && !this.#queue.length)) return;
    this.#active = this.#loop();
  }

  async #loop(): Promise<void> {
    try {
      while (this.#queue.length) await this.#runOnce();
    } finally {
      this.#active = undefined;
    }
    if (!this.#closing) this.#scheduleCompaction();
  }

  /** Resolves true when work or a flush arrives, false after `ms`. */
  #waitForWork(ms: number): Promise<boolean> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#wake = undefined;
        resolve(false);
      }, ms);
      this.#wake = () => {
        clearTimeout(timer);
        this.#wake = undefined;
        resolve(true);
      };
    });
  }

  async #runOnce(): Promise<void> {
    const started = Date.now();
    const fed: Submission[] = [];
    const bySource = new Map<string, Submission>();
    const verdicts = new Map<Submission, Verdict>();
    const aged = () => Date.now() - started >= this.#maxAgeMs;
    // Read back here, so a file that cannot be read is this run's concern.
    const feed = async function* (this: StoreBatcher) {
      for (;;) {
        const next = this.#queue.shift();
        if (next) {
          let bytes = next.bytes;
          next.bytes = undefined;
          try {
            bytes ??= await this.#spool.read(next.file);
          } catch (err) {
            this.#logger.error(
              { code: (err as NodeJS.ErrnoException).code ?? 'UNKNOWN' },
              'a spooled instance cannot be read; it stays in the spool',
            );
            next.settled?.('pending');
            continue;
          }
          fed.push(next);
          bySource.set(next.source, next);
          yield { source: next.source, bytes };
          if (fed.length >= this.#maxFiles || aged()) return;
          continue;
        }
        if (this.#flush || this.#closing || aged()) return;
        if (!(await this.#waitForWork(this.#idleMs))) return;
      }
    }.call(this);
    const judged = (o: FileOutcome, verdict: Verdict) => {
      const s = bySource.get(o.source);
      if (!s) return;
      verdicts.set(s, verdict);
      const answer = s.answer;
      s.answer = undefined;
      answer?.(storeStatus(o, verdict));
    };
    let failed = false;
    try {
      await this.#session.run(feed, {
        onOutcome: judged,
        // Another writer committed the same instance first: the answer is
        // given; the association's end entry counts what the lake did.
        onRevised: (o, verdict) => {
          const s = bySource.get(o.source);
          if (s) verdicts.set(s, verdict);
        },
      });
    } catch (err) {
      failed = true;
      this.#logger.error(
        {
          files: fed.length,
          code: (err as NodeJS.ErrnoException).code ?? 'UNKNOWN',
        },
        'a batch of received instances did not commit; answered ones stay in the spool and are tried again',
      );
    } finally {
      this.#flush = false;
      this.stats.runs++;
    }
    const done: Spooled[] = [];
    const again: Spooled[] = [];
    for (const s of fed) {
      const verdict = verdicts.get(s);
      if (s.answer || verdict === undefined) {
        // Never judged: refused, so it leaves the spool.
        s.answer?.({
          status: StoreStatus.OutOfResources,
          comment: failed ? 'STORE_FAILED' : 'NO_OUTCOME',
          outcome: 'failed',
        });
        s.answer = undefined;
        done.push(s.file);
        s.settled?.('failed');
      } else if (failed) {
        again.push(s.file);
        s.settled?.('pending');
      } else {
        done.push(s.file);
        s.settled?.(verdict);
      }
    }
    try {
      await this.#spool.remove(done);
    } catch (err) {
      // Left in the spool: ingested again at the next start, and skipped.
      this.#logger.error(
        { code: (err as NodeJS.ErrnoException).code ?? 'UNKNOWN' },
        'committed instances could not be removed from the spool',
      );
    }
    if (again.length) this.#retryLater(again);
  }

  /** Feeds files whose batch failed again after `retryMs`. */
  #retryLater(files: Spooled[]): void {
    this.#retry.push(...files);
    if (this.#retryTimer || this.#closing) return;
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = undefined;
      const files = this.#retry;
      this.#retry = [];
      for (const file of files)
        this.submit({ file, source: spooledSource(file) });
    }, this.#retryMs);
    this.#retryTimer.unref();
  }

  #scheduleCompaction(): void {
    clearTimeout(this.#compactTimer);
    if (this.#compactAfter <= 0) return;
    this.#compactTimer = setTimeout(() => {
      if (this.#active || this.#queue.length || this.#closing) return;
      this.#active = this.#compact().finally(() => {
        this.#active = undefined;
        if (this.#queue.length) this.#kick();
      });
    }, this.#compactIdleMs);
    this.#compactTimer.unref();
  }

  /** Merges the lake's batches when there are enough and no other process holds it. */
  async #compact(): Promise<void> {
    const dir = join(this.#session.lakeRoot, 'tables', 'instances');
    const batches = (await readdir(dir).catch(() => [])).filter((n) =>
      n.startsWith('batch='),
    ).length;
    if (batches < this.#compactAfter) return;
    try {
      const result = await this.#session.compactAlone();
      if (!result) {
        this.#logger.info(
          { batches },
          'not compacting: another process holds the lake',
        );
        return;
      }
      this.stats.compactions++;
      this.#onCompacted?.(result);
      this.#logger.info(
        Object.fromEntries(
          result.map((c) => [c.table, `${c.batchesBefore}->${c.batchesAfter}`]),
        ),
        'compacted the lake',
      );
    } catch (err) {
      this.#logger.error(
        { code: (err as NodeJS.ErrnoException).code ?? 'UNKNOWN' },
        'compacting the lake failed',
      );
    }
  }
}
