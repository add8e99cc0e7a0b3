import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { JsonDocument } from '@lpacs/access';
import { addressGroup } from './clientAddress';

/** How many failures, over what time, close sign-in; where they are kept; the clock. */
export interface SignInThrottleOptions {
  /** Failed sign-ins allowed per user name, and per client address (5). */
  maxFailures?: number;
  /** How long a failure counts, milliseconds (15 minutes). */
  windowMs?: number;
  /**
   * The lake whose `state/sign-in-failures.json` keeps the failures, so
   * that a restart of the server does not forget them. Without it they
   * live in this object only.
   */
  lake?: string;
  /** Milliseconds since the epoch; tests pass their own clock. */
  now?: () => number;
}

/** Why a sign-in is not even tried: which counter is full, and for how long. */
export interface ThrottleRefusal {
  by: 'user' | 'address';
  /** Whole seconds until the oldest counted failure leaves the window. */
  retryAfterSeconds: number;
}

/** An attempt let through: say how it ended. */
export interface ThrottledAttempt {
  /** The password was right: forget the user name's failures. */
  succeeded(): Promise<void>;
  /** The password was wrong: the failure is on disk when this settles. */
  failed(): Promise<void>;
}

/** Failure times (ms since the epoch, oldest first) per hashed counter key. */
type Failures = Record<string, number[]>;
interface Doc {
  failures: Failures;
}
/** Changes written together, and the write. */
interface Batch {
  changes: Array<(failures: Failures) => void>;
  written: Promise<void>;
}

/** Above this many keys, a failure first drops keys with nothing left in the window. */
const SWEEP_ABOVE = 10_000;

/**
 * A counter's key as kept in memory and on disk: a SHA-256 (128 bits of
 * it), so the file holds no user names (a password typed into the name
 * field, say) and no addresses.
 */
function counterKey(kind: 'u' | 'a', value: string): string {
  return createHash('sha256')
    .update(`${kind}\0${value}`)
    .digest('base64url')
    .slice(0, 22);
}

/**
 * Counts failed sign-ins per user name and per client address over a
 * sliding window; once either holds `maxFailures`, sign-in is refused
 * without checking the password until the oldest failure ages out. The
 * user name is counted whether or not such a user exists, so a refusal
 * says nothing about which names are real. Addresses are counted as
 * addressGroup puts them: an IPv6 client by its /64. A successful sign-in
 * clears its user's failures but not its address's, so a guesser cannot
 * reset the address counter by signing in to an account of their own.
 *
 * With `lake`, every failure is written to `state/sign-in-failures.json`
 * before the caller answers 401, and the file is read when the throttle
 * is made, so neither a restart nor a crash of the server resets the
 * counts. Failures that arrive while a write is under way are written
 * together in the next one. A sign-in that succeeds writes nothing unless
 * its user name had failures to clear; a refusal writes nothing. Each
 * write drops the failures older than the window, so the file holds at
 * most `maxFailures` times per counter touched in the last window.
 * Several servers on one lake write to the one file (each write merges
 * into what is there), but each counts in its own memory until it is
 * restarted.
 */
export class SignInThrottle {
  readonly #max: number;
  readonly #windowMs: number;
  readonly #now: () => number;
  /** Failure times, oldest first, including attempts still being checked. */
  readonly #failures = new Map<string, number[]>();
  readonly #doc: JsonDocument<Doc> | undefined;
  /** The write not started yet, and the last one (settled or under way). */
  #next: Batch | undefined;
  #writing: Promise<void> = Promise.resolve();

  constructor(options: SignInThrottleOptions = {}) {
    this.#max = options.maxFailures ?? 5;
    this.#windowMs = options.windowMs ?? 15 * 60_000;
    this.#now = options.now ?? Date.now;
    if (options.lake) {
      this.#doc = new JsonDocument<Doc>(
        options.lake,
        join(options.lake, 'state', 'sign-in-failures.json'),
        () => ({ failures: {} }),
      );
      const now = this.#now();
      for (const [key, times] of Object.entries(this.#doc.read().failures)) {
        const recent = times.filter((t) => t > now - this.#windowMs);
        if (recent.length) this.#failures.set(key, recent);
      }
    }
  }

  /**
   * Refuses a sign-in as `user` from `address` while either counter is
   * full; otherwise counts the attempt as a failure at once (so parallel
   * guesses cannot all pass before the first is checked) and returns the
   * attempt, on which to call `succeeded` or `failed` once the password
   * was checked.
   */
  attempt(
    user: string,
    address: string,
  ): { refused: ThrottleRefusal } | ThrottledAttempt {
    const now = this.#now();
    const keys = {
      user: counterKey('u', user.slice(0, 64)),
      address: counterKey('a', addressGroup(address)),
    };
    for (const by of ['user', 'address'] as const) {
      const times = this.#recent(keys[by], now);
      if (times.length >= this.#max) {
        const wait = Math.ceil((times[0]! + this.#windowMs - now) / 1000);
        return { refused: { by, retryAfterSeconds: Math.max(1, wait) } };
      }
    }
    if (this.#failures.size > SWEEP_ABOVE) this.#sweep(now);
    const userHadFailures = this.#recent(keys.user, now).length > 0;
    for (const key of [keys.user, keys.address])
      this.#failures.set(key, [...this.#recent(key, now), now]);
    return {
      succeeded: () => {
        this.#failures.delete(keys.user);
        const times = this.#failures.get(keys.address);
        const i = times?.lastIndexOf(now) ?? -1;
        if (i >= 0) times!.splice(i, 1);
        if (!userHadFailures) return Promise.resolve();
        return this.#persist((failures) => delete failures[keys.user]);
      },
      failed: () =>
        this.#persist((failures) => {
          for (const key of [keys.user, keys.address])
            failures[key] = [...(failures[key] ?? []), now];
        }),
    };
  }

  #recent(key: string, now: number): number[] {
    const times = (this.#failures.get(key) ?? []).filter(
      (t) => t > now - this.#windowMs,
    );
    if (times.length) this.#failures.set(key, times);
    else this.#failures.delete(key);
    return times;
  }

  #sweep(now: number): void {
    for (const key of [...this.#failures.keys()]) this.#recent(key, now);
  }

  /**
   * Adds `change` to the next write and settles once that is done: the
   * changes made while one write is under way go in the one after it.
   */
  #persist(change: (failures: Failures) => void): Promise<void> {
    const doc = this.#doc;
    if (!doc) return Promise.resolve();
    if (!this.#next) {
      const batch: Batch = { changes: [], written: Promise.resolve() };
      batch.written = this.#writing.then(async () => {
        this.#next = undefined; // later changes wait for the next write
        const now = this.#now();
        await doc.update(({ failures }) => {
          for (const apply of batch.changes) apply(failures);
          for (const [key, times] of Object.entries(failures)) {
            const recent = times
              .filter((t) => t > now - this.#windowMs)
              .slice(-this.#max);
            if (recent.length) failures[key] = recent;
            else delete failures[key];
          }
        });
      });
      this.#writing = batch.written.catch(() => undefined);
      this.#next = batch;
    }
    this.#next.changes.push(change);
    return this.#next.written;
  }
}
