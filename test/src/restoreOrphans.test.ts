import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { CT, filesUnder, parquetRows, runCli, tempDir } from './helpers';

// A backup taken while an ingest runs copies objects the ingest's workers
// stored for a batch that commits after the snapshot's tables were read:
// no row of the snapshot names them. Such an object is planted here (the
// bytes of a corpus file no ingest committed, named by its SHA-256 as a
// worker stores it), so the race is deterministic. The restored lake must
// hold exactly the objects its instance rows name.

const work = tempDir('restore-orphans');
after(() => work.remove());

/** `objects/xx/<sha>.dcm` keys of the files under a lake's objects/. */
function objectKeys(lake: string): string[] {
  return filesUnder(join(lake, 'objects'))
    .map((f) => f.slice(lake.length + 1))
    .sort();
}

describe('lpacs restore of a snapshot with objects no row names', () => {
  it('leaves them out and says how many', async () => {
    const lake = join(work.path, 'lake');
    const ingest = await runCli([
      ...['ingest', join(CT, 'P0001'), '--lake', lake],
    ]);
    assert.equal(ingest.code, 0, ingest.stderr);
    // Two objects a later batch would have named.
    const planted: string[] = [];
    for (const file of filesUnder(join(CT, 'P0002')).slice(0, 2)) {
      const bytes = readFileSync(file);
      const sha = createHash('sha256').update(bytes).digest('hex');
      const key = `objects/${sha.slice(0, 2)}/${sha}.dcm`;
      mkdirSync(join(lake, 'objects', sha.slice(0, 2)), { recursive: true });
      writeFileSync(join(lake, key), bytes);
      planted.push(key);
    }
    const backups = join(work.path, 'backups');
    const backup = await runCli(['backup', backups, '--lake', lake]);
    assert.equal(backup.code, 0, backup.stderr);
    // The backup holds them (it copies objects/ as it finds it).
    for (const key of planted)
      assert.ok(filesUnder(backups).some((f) => f.endsWith(key.slice(11))));

    const restored = join(work.path, 'restored');
    const restore = await runCli(['restore', backups, '--lake', restored]);
    assert.equal(restore.code, 0, restore.stderr);
    assert.match(
      restore.stdout,
      /; 2 objects no row names left out \(stored by a writer whose rows are not in the snapshot\)\n$/,
    );
    const named = (
      await parquetRows(
        `SELECT DISTINCT object_key FROM read_parquet('${restored}/tables/instances/*/*.parquet')`,
      )
    )
      .map((r) => String(r.object_key))
      .sort();
    assert.equal(named.length, filesUnder(join(CT, 'P0001')).length);
    assert.deepEqual(objectKeys(restored), named);
    // Each object's bytes still hash to its name.
    for (const key of named) {
      const sha = createHash('sha256')
        .update(readFileSync(join(restored, key)))
        .digest('hex');
      assert.equal(key, `objects/${sha.slice(0, 2)}/${sha}.dcm`);
    }
    // The restore's audit entry counts them too.
    const audit = await runCli([
      ...['audit', '--action', 'restore', '--json', '--lake', restored],
    ]);
    const [entry] = JSON.parse(audit.stdout) as Array<{
      detail: Record<string, unknown>;
    }>;
    assert.equal(entry?.detail.orphansLeftOut, 2);
  });
});
