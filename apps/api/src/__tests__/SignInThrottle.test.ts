import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { SignInThrottle } from '../access/SignInThrottle';
import type { ThrottledAttempt } from '../access/SignInThrottle';

const MINUTE = 60_000;

/** A throttle whose clock the test moves; starts at an arbitrary instant. */
function throttleAt(start = 1_800_000_000_000) {
  let now = start;
  const throttle = new SignInThrottle({ now: () => now });
  return { throttle, advance: (ms: number) => (now += ms) };
}

/** Five failed attempts (each counted, none succeeding). */
function failFive(t: SignInThrottle, user: (i: number) => string, at: string) {
  for (let i = 0; i < 5; i++)
    assert.ok(!('refused' in t.attempt(user(i), at)), `attempt ${i + 1}`);
}

describe('SignInThrottle', () => {
  it('refuses the sixth try of a name within 15 minutes, from any address', () => {
    const { throttle, advance } = throttleAt();
    failFive(throttle, () => 'sam', '10.0.0.1');
    advance(MINUTE);
    const r = throttle.attempt('sam', '10.0.0.2');
    // The first failure was 1 minute ago: it leaves the window in 14.
    assert.deepEqual(r, { refused: { by: 'user', retryAfterSeconds: 840 } });
    advance(14 * MINUTE - 1000);
    assert.ok('refused' in throttle.attempt('sam', '10.0.0.3'));
    advance(1000);
    assert.ok('succeeded' in throttle.attempt('sam', '10.0.0.3'));
  });

  it('refuses an address that failed five times whatever name it tries', () => {
    const { throttle } = throttleAt();
    failFive(throttle, (i) => `guess${i}`, '10.0.0.9');
    assert.deepEqual(throttle.attempt('rita', '10.0.0.9'), {
      refused: { by: 'address', retryAfterSeconds: 900 },
    });
    assert.ok('succeeded' in throttle.attempt('rita', '10.0.0.8'));
  });

  it('counts a name that does not exist like one that does', () => {
    const { throttle } = throttleAt();
    failFive(throttle, () => 'nobody-by-this-name', '10.0.0.1');
    assert.ok('refused' in throttle.attempt('nobody-by-this-name', '10.0.0.2'));
  });

  it("forgets a user's failures on success, not the address's", () => {
    const { throttle } = throttleAt();
    for (let i = 0; i < 4; i++) throttle.attempt('sam', '10.0.0.1');
    const right = throttle.attempt('sam', '10.0.0.1');
    assert.ok('succeeded' in right);
    right.succeeded();
    // The user starts again from zero: four more failures pass.
    for (let i = 0; i < 4; i++)
      assert.ok('succeeded' in throttle.attempt('sam', '10.0.0.2'));
    // The address kept its four failures (the success was taken back).
    assert.ok('succeeded' in throttle.attempt('other', '10.0.0.1'));
    assert.ok('refused' in throttle.attempt('third', '10.0.0.1'));
  });

  it('counts attempts still being checked, so parallel guesses stop at five', () => {
    const { throttle } = throttleAt();
    const answers = Array.from({ length: 20 }, () =>
      throttle.attempt('sam', '10.0.0.1'),
    );
    assert.equal(answers.filter((a) => 'succeeded' in a).length, 5);
  });
});

describe('SignInThrottle by IPv6 /64', () => {
  it('counts the addresses of one /64 as one address', () => {
    const { throttle } = throttleAt();
    // Five failures from five addresses of 2001:db8:1:2::/64.
    failFive(throttle, (i) => `guess${i}`, '2001:db8:1:2:aaaa::1');
    assert.deepEqual(throttle.attempt('rita', '2001:db8:1:2:bbbb::2'), {
      refused: { by: 'address', retryAfterSeconds: 900 },
    });
    assert.ok('refused' in throttle.attempt('rita', '2001:db8:1:2::ffff'));
    // The next /64 is another address.
    assert.ok('succeeded' in throttle.attempt('rita', '2001:db8:1:3::1'));
  });

  it('counts ::ffff:10.0.0.1 as 10.0.0.1', () => {
    const { throttle } = throttleAt();
    failFive(throttle, (i) => `guess${i}`, '::ffff:10.0.0.1');
    assert.ok('refused' in throttle.attempt('rita', '10.0.0.1'));
    assert.ok('succeeded' in throttle.attempt('rita', '10.0.0.2'));
  });
});

describe('SignInThrottle kept in the lake', () => {
  const lake = mkdtempSync(join(tmpdir(), 'lpacs-throttle-'));
  after(() => rmSync(lake, { recursive: true, force: true }));
  const file = join(lake, 'state', 'sign-in-failures.json');
  let now = 1_800_000_000_000;
  const throttle = () => new SignInThrottle({ lake, now: () => now });
  const failures = () =>
    (
      JSON.parse(readFileSync(file, 'utf8')) as {
        failures: Record<string, number[]>;
      }
    ).failures;
  const attempt = (t: SignInThrottle, user: string, at: string) => {
    const a = t.attempt(user, at);
    assert.ok(!('refused' in a), `${user} from ${at} was refused`);
    return a;
  };

  it('remembers failures in a new throttle (a restarted server)', async () => {
    const first = throttle();
    for (let i = 1; i <= 5; i++)
      await attempt(first, 'sam', `10.0.0.${i}`).failed();
    // Before restart: 5 on sam, 1 on each of five addresses.
    assert.deepEqual(
      Object.values(failures())
        .map((t) => t.length)
        .sort(),
      [1, 1, 1, 1, 1, 5],
    );
    const text = readFileSync(file, 'utf8');
    assert.ok(!text.includes('sam') && !text.includes('10.0.0.'), text);

    now += 10 * MINUTE;
    assert.deepEqual(throttle().attempt('sam', '10.0.0.9'), {
      refused: { by: 'user', retryAfterSeconds: 300 },
    });
    // An attempt let through but never answered is not on disk.
    attempt(throttle(), 'kim', '10.0.0.9');
    now += 5 * MINUTE;
    assert.ok('succeeded' in throttle().attempt('sam', '10.0.0.9'));
  });

  it('writes the failures that come together, and drops expired ones', async () => {
    now += 60 * MINUTE;
    const t = throttle();
    const names = Array.from({ length: 12 }, (_, i) => `p${i}`);
    // Twelve names from twelve /64s, all answered wrong at once.
    await Promise.all(
      names.map((n, i) => attempt(t, n, `2001:db8:${i}::1`).failed()),
    );
    // 12 name counters and 12 address counters, one failure each; the
    // failures of an hour ago are gone.
    const left = failures();
    assert.equal(Object.keys(left).length, 24);
    assert.ok(Object.values(left).every((x) => x.length === 1 && x[0] === now));
  });

  it("clears a user's failures from the file when they sign in", async () => {
    now += 60 * MINUTE;
    const t = throttle();
    for (let i = 1; i <= 4; i++) await attempt(t, 'ann', '10.9.0.1').failed();
    // ann's counter and the address's hold four each.
    assert.deepEqual(
      Object.values(failures()).map((x) => x.length),
      [4, 4],
    );
    const right: ThrottledAttempt = attempt(t, 'ann', '10.9.0.1');
    await right.succeeded();
    assert.deepEqual(
      Object.values(failures()).map((x) => x.length),
      [4],
    );
    // A restart sees ann at zero (five more tries) and the address at 4.
    const again = throttle();
    assert.ok('succeeded' in again.attempt('ann', '10.9.0.2'));
    assert.ok('succeeded' in again.attempt('bob', '10.9.0.1'));
    assert.ok('refused' in again.attempt('cat', '10.9.0.1'));
  });
});
