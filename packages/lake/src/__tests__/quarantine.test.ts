import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { Lake, LakeCipher, LakeErrorCode, parseKek } from '../index';

const root = mkdtempSync(join(tmpdir(), 'lpacs-quarantine-'));
after(() => rmSync(root, { recursive: true, force: true }));

const reason = (code: string) => ({
  code,
  message: 'refused for the test',
  source: 'incoming/file.dcm',
  at: '2026-01-01T00:00:00.000Z',
});

describe('Lake quarantine entries', () => {
  it('gives back a kept original and its size, and only entries that kept one', async () => {
    const lake = await Lake.open(join(root, 'clear'));
    try {
      const bytes = randomBytes(1000);
      const id = await lake.quarantine(bytes, reason('TRUNCATED'));
      const bare = await lake.quarantine(undefined, reason('BAD_ARCHIVE'));
      // The id rule, from Lake.quarantine's contract.
      assert.equal(
        id,
        createHash('sha256').update(bytes).digest('hex').slice(0, 32),
      );
      assert.deepEqual(await lake.quarantinedOriginal(id), bytes);
      assert.equal(await lake.quarantinedOriginal(bare), undefined);
      assert.deepEqual([...(await lake.quarantinedSizes())], [[id, 1000]]);
    } finally {
      lake.close();
    }
  });

  it('sizes a sealed original as received, not as stored', async () => {
    const dir = join(root, 'sealed');
    mkdirSync(join(dir, 'keys'), { recursive: true });
    const kek = randomBytes(32);
    await LakeCipher.create(
      join(dir, 'keys', 'data-keys.json'),
      parseKek(kek, 'test'),
    );
    writeFileSync(
      join(dir, 'lake.json'),
      JSON.stringify({
        encryption: {
          algorithm: 'AES-256-GCM',
          dataKeys: 'keys/data-keys.json',
          kek: 'test',
        },
      }),
    );
    process.env.LPACS_KEK = kek.toString('hex');
    delete process.env.LPACS_KEK_FILE;
    const lake = await Lake.open(dir);
    try {
      const bytes = randomBytes(700);
      const id = await lake.quarantine(bytes, reason('TRUNCATED'));
      const file = join(dir, 'quarantine', id, 'file.dcm');
      assert.equal(statSync(file).size, 700 + 40); // header 24 + tag 16
      assert.ok(!readFileSync(file).includes(bytes.subarray(0, 64)));
      assert.deepEqual([...(await lake.quarantinedSizes())], [[id, 700]]);
      assert.deepEqual(await lake.quarantinedOriginal(id), bytes);
    } finally {
      lake.close();
      delete process.env.LPACS_KEK;
    }
  });

  it('drops an entry whole, and refuses an id that is not one', async () => {
    const dir = join(root, 'drop');
    const lake = await Lake.open(dir);
    try {
      const id = await lake.quarantine(randomBytes(10), reason('NOT_DICOM'));
      // A folder an id with a path in it would reach.
      mkdirSync(join(dir, 'keep'));
      for (const bad of ['../keep', '..', id.slice(0, 12), id.toUpperCase()])
        await assert.rejects(lake.dropQuarantined(bad), {
          code: LakeErrorCode.NotFound,
        });
      assert.ok(existsSync(join(dir, 'keep')));
      assert.equal(await lake.dropQuarantined(id), true);
      assert.ok(!existsSync(join(dir, 'quarantine', id)));
      assert.equal(await lake.dropQuarantined(id), false);
      assert.deepEqual(await lake.quarantined(), []);
      await assert.rejects(lake.quarantinedOriginal(id), {
        code: LakeErrorCode.NotFound,
      });
    } finally {
      lake.close();
    }
  });
});
