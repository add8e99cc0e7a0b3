import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TABLE_NAMES } from '@lpacs/lake';
import type { Catalog } from '@lpacs/lake';
import { Readiness, readyAnswer } from '../http/Readiness';

/** A catalog whose query answers as `answer` says, counting the calls. */
function fakeCatalog(answer: (sql: string) => Promise<unknown>) {
  const asked: string[] = [];
  const catalog = {
    query: (sql: string) => {
      asked.push(sql);
      return answer(sql);
    },
  } as unknown as Catalog;
  return { catalog, asked };
}

describe('Readiness', () => {
  it('reads every table and keeps the result for cacheMs', async () => {
    const { catalog, asked } = fakeCatalog(async () => [{ n: 1 }]);
    const r = new Readiness(catalog, { cacheMs: 60_000 });
    assert.deepEqual(await r.state(), { ready: true });
    assert.deepEqual(await r.state(), { ready: true });
    assert.deepEqual(
      asked,
      TABLE_NAMES.map((t) => `SELECT count(*) AS n FROM ${t}_batches`),
    );
  });

  it('names the table that does not read, and checks again after cacheMs', async () => {
    let broken = true;
    const { catalog, asked } = fakeCatalog(async (sql) => {
      if (broken && sql.includes('series_batches'))
        throw new Error("No magic bytes found at end of file 'x.parquet'");
      return [{ n: 1 }];
    });
    const r = new Readiness(catalog, { cacheMs: 50 });
    const down = await r.state();
    assert.deepEqual(readyAnswer(down), {
      status: 503,
      body: 'not ready: LAKE_UNREADABLE: the series table cannot be read (the server log names the file)\n',
    });
    // patients, studies, series: the check stops at the first failure.
    assert.equal(asked.length, 3);
    broken = false;
    assert.equal((await r.state()).ready, false, 'still the cached result');
    await new Promise((res) => setTimeout(res, 60));
    assert.deepEqual(readyAnswer(await r.state()), {
      status: 200,
      body: 'ready\n',
    });
  });

  it('answers LAKE_SLOW within limitMs and runs one check at a time', async () => {
    let release: () => void = () => {};
    const hung = new Promise<void>((res) => (release = res));
    const { catalog, asked } = fakeCatalog(async () => {
      await hung;
      return [{ n: 1 }];
    });
    const r = new Readiness(catalog, { cacheMs: 60_000, limitMs: 100 });
    // Its timer is unref'd (a server's sockets keep the loop running).
    const alive = setInterval(() => {}, 1000);
    const t0 = Date.now();
    const [a, b] = await Promise.all([r.state(), r.state()]);
    const took = Date.now() - t0;
    clearInterval(alive);
    assert.ok(took >= 95 && took < 1000, `${took} ms`);
    for (const s of [a, b])
      assert.deepEqual(readyAnswer(s), {
        status: 503,
        body: "not ready: LAKE_SLOW: the lake's tables did not answer within 100 ms\n",
      });
    assert.equal(asked.length, 1, 'the second caller waits on the same check');
    release();
    // The check that was running finishes and its result stands.
    await new Promise((res) => setTimeout(res, 20));
    assert.deepEqual(await r.state(), { ready: true });
    assert.equal(asked.length, TABLE_NAMES.length);
  });

  it('answers STOPPING once the catalog is closed', async () => {
    const { catalog } = fakeCatalog(async () => {
      throw new Error('catalog is closed');
    });
    assert.equal(
      readyAnswer(await new Readiness(catalog).state()).body,
      'not ready: STOPPING: the server is stopping\n',
    );
  });
});
