import assert from 'node:assert/strict';
import { createHmac, randomBytes } from 'node:crypto';
import {
  existsSync,
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
import {
  LakeCipher,
  maskKey,
  maskKeysToRead,
  maskNaming,
  masksMadeFrom,
  openLakeCipher,
  parseKek,
  prepareMaskNaming,
} from '../index';

const work = mkdtempSync(join(tmpdir(), 'lpacs-mask-names-'));
after(() => rmSync(work, { recursive: true, force: true }));

const MODEL = 'ab'.repeat(32);
const SOP = '2.25.123456789012345678901234567890';
const SERIES = '2.25.987654321098765432109876543210';

/** An encrypted lake's settings and data key, its KEK in LPACS_KEK. */
async function encryptedLake(name: string): Promise<string> {
  const root = join(work, name);
  mkdirSync(join(root, 'keys'), { recursive: true });
  const key = randomBytes(32);
  process.env.LPACS_KEK = key.toString('hex');
  await LakeCipher.create(
    join(root, 'keys', 'data-keys.json'),
    parseKek(key, 'test'),
  );
  writeFileSync(
    join(root, 'lake.json'),
    JSON.stringify({
      encryption: {
        algorithm: 'AES-256-GCM',
        dataKeys: 'keys/data-keys.json',
        kek: 'not stored',
      },
    }),
  );
  return root;
}

/** The keyed stem, by the rule in docs/encryption.md, from node:crypto. */
function keyed(secret: Buffer, model: string, uid: string): string {
  return createHmac('sha256', secret)
    .update(`${model}\0${uid}`)
    .digest('hex')
    .slice(0, 32);
}

/** Every name under `dir`, folders too. */
function namesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' });
}

describe('mask names', () => {
  it('are the UIDs in a lake in the clear, which gets no names key', async () => {
    const root = join(work, 'clear');
    mkdirSync(root);
    const naming = await prepareMaskNaming(root);
    assert.equal(naming.encrypted, false);
    assert.equal(
      maskKey(naming, MODEL, SOP, 3, 'npy'),
      `masks/${MODEL}/${SOP}-3.npy`,
    );
    assert.deepEqual(maskKeysToRead(naming, MODEL, SERIES, 0, 'seg'), [
      `masks/${MODEL}/${SERIES}-0.seg.dcm`,
    ]);
    assert.equal(existsSync(join(root, 'keys', 'mask-names.key')), false);
  });

  it('are keyed in an encrypted lake: HMAC-SHA256 under a sealed names key, per model', async () => {
    const root = await encryptedLake('keyed');
    const naming = await prepareMaskNaming(root);
    const sealed = readFileSync(join(root, 'keys', 'mask-names.key'));
    assert.equal(sealed.subarray(0, 4).toString('latin1'), 'LPE1');
    const file = JSON.parse(
      openLakeCipher(root)!.open(sealed, 'names key').toString('utf8'),
    ) as { secret: string; renamed: boolean };
    assert.equal(file.renamed, true);
    const secret = Buffer.from(file.secret, 'hex');
    assert.equal(secret.length, 32);
    assert.equal(
      maskKey(naming, MODEL, SOP, 0, 'npy'),
      `masks/${MODEL}/${keyed(secret, MODEL, SOP)}-0.npy`,
    );
    assert.equal(
      maskKey(naming, MODEL, SOP, 2, 'seg'),
      `masks/${MODEL}/${keyed(secret, MODEL, SOP)}-2.seg.dcm`,
    );
    const other = 'cd'.repeat(32);
    assert.notEqual(
      maskKey(naming, other, SOP, 0, 'npy').split('/')[2],
      maskKey(naming, MODEL, SOP, 0, 'npy').split('/')[2],
      'one instance is not linked across models by name',
    );
    // Readers look only at the keyed name once the lake is renamed.
    assert.deepEqual(maskKeysToRead(maskNaming(root), MODEL, SOP, 0, 'npy'), [
      maskKey(naming, MODEL, SOP, 0, 'npy'),
    ]);
    // A second call keeps the key.
    const again = await prepareMaskNaming(root);
    assert.equal(again.secret, file.secret);
  });

  it("renames an encrypted lake's masks named after UIDs, which readers find meanwhile", async () => {
    const root = await encryptedLake('legacy');
    const dir = join(root, 'masks', MODEL);
    mkdirSync(dir, { recursive: true });
    const cipher = openLakeCipher(root)!;
    const bytes = {
      [`${SOP}-0.npy`]: cipher.seal(Buffer.from('npy of the instance')),
      [`${SOP}-0.seg.dcm`]: cipher.seal(Buffer.from('seg of the instance')),
      [`${SERIES}-0.npy`]: cipher.seal(Buffer.from('npy of the series')),
    };
    for (const [name, b] of Object.entries(bytes))
      writeFileSync(join(dir, name), b);
    // A mask a crash left half-written.
    writeFileSync(join(dir, `${SOP}-1.npy.0a1b2c3d.tmp`), 'partial');
    const before = maskNaming(root);
    assert.equal(before.legacy, true);
    assert.deepEqual(maskKeysToRead(before, MODEL, SOP, 0, 'npy'), [
      `masks/${MODEL}/${SOP}-0.npy`,
    ]);
    const naming = await prepareMaskNaming(root);
    assert.equal(naming.legacy, false);
    const names = namesUnder(join(root, 'masks'));
    assert.deepEqual(
      names.filter((n) => n.includes('2.25.')),
      [],
      names.join(' '),
    );
    const secret = Buffer.from(naming.secret!, 'hex');
    const s = keyed(secret, MODEL, SOP);
    const t = keyed(secret, MODEL, SERIES);
    assert.deepEqual(readdirSync(dir).sort(), [
      ...[`${s}-0.npy`, `${s}-0.seg.dcm`, `${t}-0.npy`].sort(),
    ]);
    assert.deepEqual(
      readFileSync(join(dir, `${s}-0.npy`)),
      bytes[`${SOP}-0.npy`],
    );
    assert.deepEqual(
      readFileSync(join(dir, `${s}-0.seg.dcm`)),
      bytes[`${SOP}-0.seg.dcm`],
    );
    assert.deepEqual(
      readFileSync(join(dir, `${t}-0.npy`)),
      bytes[`${SERIES}-0.npy`],
    );
    // Erasure finds them by UID.
    assert.deepEqual(
      (await masksMadeFrom(root, naming, new Set([SOP]))).sort(),
      [join(dir, `${s}-0.npy`), join(dir, `${s}-0.seg.dcm`)].sort(),
    );
    assert.deepEqual(await masksMadeFrom(root, naming, new Set([SERIES])), [
      join(dir, `${t}-0.npy`),
    ]);
  });
});
