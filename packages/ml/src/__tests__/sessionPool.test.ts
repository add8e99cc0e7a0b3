import assert from 'node:assert/strict';
import { readdirSync, rmSync } from 'node:fs';
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

  it('opens poolSize sessions, each in its own thread, and runs batches on them', async () => {
    const threads = () => new Set(readdirSync('/proc/self/task'));
    const before = threads();
    const pool = await SessionPool.open(
      join(models, 'ct-brightness', 'model.onnx'),
      { intraOpNumThreads: 1, niceness: 0, poolSize: 2 },
      silentLogger,
    );
    try {
      // One worker thread per session (one intra-op thread runs on it).
      assert.equal([...threads()].filter((t) => !before.has(t)).length, 2);
      assert.equal(pool.size, 2);
      assert.equal(pool.capacity, 4);
      // Images of one value v: mean v, scores sigmoid(8v - 2) and
      // sigmoid(2 - 8v) (datasets/make-model.py), for v = 0, 0.25, 0.5, 1
      // in two batches of two each, sent at once.
      const values = [0, 0.25, 0.5, 1];
      const batch = (a: number, b: number) => {
        const data = new Float32Array(2 * 32 * 32);
        data.fill(a, 0, 1024);
        data.fill(b, 1024);
        return pool.run('image', 'scores', data, [2, 1, 32, 32]);
      };
      const results = await Promise.all([
        batch(values[0]!, values[1]!),
        batch(values[2]!, values[3]!),
        batch(values[3]!, values[0]!),
        batch(values[1]!, values[2]!),
      ]);
      const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));
      const order = [0, 1, 2, 3, 3, 0, 1, 2];
      results.forEach((r, k) => {
        assert.deepEqual(r.dims, [2, 2]);
        for (const j of [0, 1]) {
          const v = values[order[k * 2 + j]!]!;
          assert.ok(Math.abs(r.data[j * 2]! - sigmoid(8 * v - 2)) < 1e-6);
          assert.ok(Math.abs(r.data[j * 2 + 1]! - sigmoid(2 - 8 * v)) < 1e-6);
        }
      });
    } finally {
      await pool.close();
    }
    assert.equal([...threads()].filter((t) => !before.has(t)).length, 0);
  });
});
