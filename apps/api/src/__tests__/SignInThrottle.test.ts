import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SignInThrottle } from '../access/SignInThrottle';

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
