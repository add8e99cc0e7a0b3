import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { after, before, describe, it } from 'node:test';
import { silentLogger } from '@lpacs/lake';
import { SessionPool } from '../SessionPool';
import { makeModels } from './helpers';

let models: string;

before(() => {
  models = makeModels();
});
after(() => rmSync(models, { recursive: true, force: true }));

const now = () => performance.timeOrigin + performance.now();

describe('a session pool', () => {
  it('runs the next batch while this thread is busy, and takes two per session', async () => {
    const pool = await SessionPool.open(
      join(models, 'ct-brightness', 'model.onnx'),
      { intraOpNumThreads: 1, niceness: 0 },
      silentLogger,
    );
    try {
      assert.equal(pool.capacity, 2);
      const run = () =>
        pool.run('image', 'scores', new Float32Array(32 * 32), [1, 1, 32, 32]);
      const [a, b, c] = [run(), run(), run()];
      // This thread cannot receive a result or send a batch until the loop
      // ends: a batch that needed it could only start afterwards.
      const busyUntil = now() + 1000;
      while (now() < busyUntil);
      const [ra, rb, rc] = await Promise.all([a, b, c]);
      assert.ok(ra.endedAt < busyUntil, 'the first batch ran meanwhile');
      assert.ok(
        rb.startedAt >= ra.endedAt && rb.endedAt < busyUntil,
        `the second batch ran meanwhile, after the first: ${rb.startedAt - busyUntil} ms`,
      );
      assert.ok(
        rc.startedAt > busyUntil,
        'the third waited here for room at the session',
      );
      const ran = [ra, rb, rc].reduce((t, r) => t + r.endedAt - r.startedAt, 0);
      assert.ok(Math.abs(pool.busySeconds - ran / 1000) < 1e-9);
    } finally {
      await pool.close();
    }
  });
});
