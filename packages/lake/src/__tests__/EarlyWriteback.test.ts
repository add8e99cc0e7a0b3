import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { EarlyWriteback } from '../EarlyWriteback';

describe('EarlyWriteback', () => {
  it('flushes once per threshold of bytes, never two flushes at once', async () => {
    const flushes: Array<() => void> = [];
    const writeback = new EarlyWriteback('/unused', 100, () => {
      return new Promise<void>((done) => flushes.push(done));
    });
    writeback.wrote(60);
    assert.equal(flushes.length, 0, '60 of 100 bytes: no flush yet');
    writeback.wrote(60);
    assert.equal(flushes.length, 1, '120 bytes: one flush');
    writeback.wrote(50);
    assert.equal(flushes.length, 1, 'a flush in flight: none started');
    flushes[0]!();
    await new Promise((r) => setImmediate(r));
    // The 50 bytes written during the flush are still to flush.
    writeback.wrote(40);
    assert.equal(flushes.length, 1, '90 bytes since the last flush began');
    writeback.wrote(10);
    assert.equal(flushes.length, 2, '100 bytes: the next flush');
  });

  it('goes on after a flush fails; the commit flushes for durability', async () => {
    let calls = 0;
    const writeback = new EarlyWriteback('/unused', 10, () => {
      calls++;
      return Promise.reject(new Error('EIO'));
    });
    writeback.wrote(10);
    await new Promise((r) => setImmediate(r));
    writeback.wrote(10);
    assert.equal(calls, 2);
  });
});
