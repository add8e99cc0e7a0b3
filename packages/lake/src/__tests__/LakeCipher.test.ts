import assert from 'node:assert/strict';
import { createDecipheriv, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { LakeCipher, LakeErrorCode, parseKek, readKek } from '../index';

const root = mkdtempSync(join(tmpdir(), 'lpacs-cipher-'));
after(() => rmSync(root, { recursive: true, force: true }));

/** AES-256-GCM decryption straight from node:crypto, by the documented layout. */
function gcmOpen(
  key: Buffer,
  nonce: Buffer,
  body: Buffer,
  tag: Buffer,
  aad: Buffer,
) {
  const d = createDecipheriv('aes-256-gcm', key, nonce);
  d.setAAD(aad);
  d.setAuthTag(tag);
  return Buffer.concat([d.update(body), d.final()]);
}

describe('LakeCipher', () => {
  const kek = parseKek(randomBytes(32), 'test');
  const path = join(root, 'data-keys.json');

  it('seals in the layout docs/encryption.md gives, readable with node:crypto alone', async () => {
    const cipher = await LakeCipher.create(path, kek);
    const plain = randomBytes(1000);
    const sealed = cipher.seal(plain);
    assert.equal(sealed.length, plain.length + 40);
    assert.equal(sealed.subarray(0, 4).toString('latin1'), 'LPE1');
    // The data key, unwrapped by hand: nonce(12) | ciphertext | tag(16),
    // authenticated with "lpacs data key <id>".
    const file = JSON.parse(readFileSync(path, 'utf8')) as {
      current: string;
      keys: Array<{ id: string; wrapped: string }>;
    };
    const entry = file.keys[0]!;
    assert.equal(sealed.subarray(4, 12).toString('hex'), entry.id);
    const wrapped = Buffer.from(entry.wrapped, 'base64');
    const dataKey = gcmOpen(
      kek.key,
      wrapped.subarray(0, 12),
      wrapped.subarray(12, wrapped.length - 16),
      wrapped.subarray(wrapped.length - 16),
      Buffer.from(`lpacs data key ${entry.id}`),
    );
    assert.equal(dataKey.length, 32);
    const opened = gcmOpen(
      dataKey,
      sealed.subarray(12, 24),
      sealed.subarray(24, sealed.length - 16),
      sealed.subarray(sealed.length - 16),
      sealed.subarray(0, 24),
    );
    assert.deepEqual(opened, plain);
    assert.deepEqual(cipher.open(sealed, 'x'), plain);
    assert.notDeepEqual(cipher.seal(plain), sealed, 'a fresh nonce each time');
  });

  it('refuses a sealed file with any byte changed, header or body or tag', () => {
    const cipher = LakeCipher.load(path, kek);
    const sealed = cipher.seal(Buffer.from('de-identified bytes'));
    for (const at of [5, 14, 30, sealed.length - 1]) {
      const bad = Buffer.from(sealed);
      bad[at] = bad[at]! ^ 1;
      assert.throws(() => cipher.open(bad, 'objects/x.dcm'), {
        code: LakeErrorCode.Corrupt,
        message: /objects\/x\.dcm/,
      });
    }
  });

  it('streams what it sealed, and ends the stream with an error when changed', async () => {
    const cipher = LakeCipher.load(path, kek);
    const plain = randomBytes(300_000);
    const file = join(root, 'object.bin');
    writeFileSync(file, cipher.seal(plain));
    const read = async () => {
      const { stream, size } = await cipher.openStream(file, 'object');
      const chunks: Buffer[] = [];
      for await (const c of stream) chunks.push(c as Buffer);
      return { size, bytes: Buffer.concat(chunks) };
    };
    const ok = await read();
    assert.equal(ok.size, plain.length);
    assert.deepEqual(ok.bytes, plain);
    const bad = readFileSync(file);
    bad[1000] = bad[1000]! ^ 0x80;
    writeFileSync(file, bad);
    await assert.rejects(read());
  });

  it('takes a KEK as 64 hex digits, base64 or 32 raw bytes, and nothing else', () => {
    const key = randomBytes(32);
    for (const form of [
      Buffer.from(key.toString('hex') + '\n'),
      Buffer.from(key.toString('base64')),
      key,
    ])
      assert.deepEqual(parseKek(form, 't').key, key);
    assert.throws(() => parseKek(randomBytes(31), 'short'), {
      code: LakeErrorCode.KekInvalid,
      message: /short.*32 bytes/,
    });
    assert.throws(() => parseKek(Buffer.from('00'.repeat(31)), 'hex'), {
      code: LakeErrorCode.KekInvalid,
      message: /hex/,
    });
    // A key file that is not there: named, with the system's code.
    const missing = join(root, 'no.kek');
    assert.throws(() => readKek({ LPACS_KEK_FILE: missing }), {
      code: LakeErrorCode.KekInvalid,
      message: `cannot read the key-encryption key file ${missing} (--kek-file or LPACS_KEK_FILE): ENOENT`,
    });
  });

  it('fails a wrong KEK with KEK_WRONG and a missing one with KEK_REQUIRED', async () => {
    assert.throws(
      () => LakeCipher.load(path, parseKek(randomBytes(32), 'LPACS_KEK')),
      { code: LakeErrorCode.KekWrong, message: /LPACS_KEK/ },
    );
    assert.throws(() => LakeCipher.load(path, undefined), {
      code: LakeErrorCode.KekRequired,
    });
  });
});
