import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import {
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { Lake, backupLake, restoreLake } from '../index';

const root = mkdtempSync(join(tmpdir(), 'lpacs-backup-blobs-'));
after(() => rmSync(root, { recursive: true, force: true }));

describe('backup of files with the same content', () => {
  it('copies each content once, whatever the parallel lanes, and restores every file', async () => {
    const lake = join(root, 'lake');
    (await Lake.open(lake)).close();
    // Sixteen releases whose data dictionaries are byte-identical (a
    // new user's lake with two releases failed 4 backups in 5: two lanes
    // renamed one blob's temporary file).
    const text = '# Data dictionary\n\nSame in every release.\n';
    for (let i = 0; i < 16; i++) {
      mkdirSync(join(lake, 'releases', `r${i}`), { recursive: true });
      writeFileSync(
        join(lake, 'releases', `r${i}`, 'DATA_DICTIONARY.md'),
        text,
      );
    }
    const sha = createHash('sha256').update(text).digest('hex');
    for (let run = 0; run < 5; run++) {
      const dest = join(root, `backup-${run}`);
      const report = await backupLake(lake, dest);
      const manifest = JSON.parse(
        readFileSync(
          join(dest, 'snapshots', `${report.snapshot}.json`),
          'utf8',
        ),
      ) as { files: Array<{ path: string; sha256: string }> };
      const dictionaries = manifest.files.filter((f) =>
        f.path.endsWith('DATA_DICTIONARY.md'),
      );
      assert.equal(dictionaries.length, 16);
      assert.ok(dictionaries.every((f) => f.sha256 === sha));
      // One blob of that content, and no temporary file left beside it.
      const blobs = readdirSync(join(dest, 'blobs'));
      assert.equal(blobs.filter((b) => b.startsWith(sha)).length, 1);
      assert.deepEqual(
        blobs.filter((b) => b.endsWith('.part')),
        [],
      );
      const restored = join(root, `restored-${run}`);
      await restoreLake(dest, restored);
      for (let i = 0; i < 16; i++)
        assert.equal(
          readFileSync(
            join(restored, 'releases', `r${i}`, 'DATA_DICTIONARY.md'),
            'utf8',
          ),
          text,
        );
    }
  });
});
