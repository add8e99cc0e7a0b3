/** How many failures, over what time, close sign-in; and the clock. */
export interface SignInThrottleOptions {
  /** Failed sign-ins allowed per user name, and per client address (5). */
  maxFailures?: number;
  /** How long a failure counts, milliseconds (15 minutes). */
  windowMs?: number;
  /** Milliseconds since the epoch; tests pass their own clock. */
  now?: () => number;
}

/** Why a sign-in is not even tried: which counter is full, and for how long. */
export interface ThrottleRefusal {
  by: 'user' | 'address';
  /** Whole seconds until the oldest counted failure leaves the window. */
  retryAfterSeconds: number;
}

/** Above this many keys, a failure first drops keys with nothing left in the window. */
const SWEEP_ABOVE = 10_000;

/**
 * Counts failed sign-ins per user name and per client address over a
 * sliding window; once either holds `maxFailures`, sign-in is refused
 * without checking the password until the oldest failure ages out. The
 * user name is counted whether or not such a user exists, so a refusal
 * says nothing about which names are real. A successful sign-in clears
 * its user's failures but not its address's, so a guesser cannot reset
 * the address counter by signing in to an account of their own.
 *
 * TODO: the counters live in this process's memory, so a restart of
 * `lpacs serve` forgets them and several API processes count apart;
 * a shared store (a file under state/) would close both gaps.
 */
export class SignInThrottle {
  readonly #max: number;
  readonly #windowMs: number;
  readonly #now: () => number;
  /** Failure times, oldest first. */
  readonly #failures = new Map<string, number[]>();

  constructor(options: SignInThrottleOptions = {}) {
    this.#max = options.maxFailures ?? 5;
    this.#windowMs = options.windowMs ?? 15 * 60_000;
    this.#now = options.now ?? Date.now;
  }

  /**
   * Refuses a sign-in as `user` from `address` while either counter is
   * full; otherwise counts the attempt as a failure at once (so parallel
   * guesses cannot all pass before the first is checked) and returns
   * `succeeded`, to call when the password was right.
   */
  attempt(
    user: string,
    address: string,
  ): { refused: ThrottleRefusal } | { succeeded: () => void } {
    const now = this.#now();
    const keys = { user: userKey(user), address: addressKey(address) };
    for (const by of ['user', 'address'] as const) {
      const times = this.#recent(keys[by], now);
      if (times.length >= this.#max) {
        const wait = Math.ceil((times[0]! + this.#windowMs - now) / 1000);
        return { refused: { by, retryAfterSeconds: Math.max(1, wait) } };
      }
    }
    if (this.#failures.size > SWEEP_ABOVE) this.#sweep(now);
    for (const key of [keys.user, keys.address])
      this.#failures.set(key, [...this.#recent(key, now), now]);
    return {
      succeeded: () => {
        this.#failures.delete(keys.user);
        const times = this.#failures.get(keys.address);
        const i = times?.lastIndexOf(now) ?? -1;
        if (i >= 0) times!.splice(i, 1);
      },
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
}

function userKey(name: string): string {
  return `u\0${name.slice(0, 64)}`;
}

function addressKey(address: string): string {
  return `a\0${address}`;
}
