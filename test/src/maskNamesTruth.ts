import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { LakeCipher } from '@lpacs/lake';

/**
 * Where an encrypted lake keeps the mask `model` made over frame `frame`
 * of the instance or series `uid`, by the rule docs/encryption.md gives:
 * the names key read from `keys/mask-names.key` (opened with the lake's
 * data key), the name the first 128 bits of HMAC-SHA256 over
 * "<model>\0<uid>" in hex, computed here with node:crypto.
 */
export function keyedMaskPath(
  lake: string,
  cipher: LakeCipher,
  model: string,
  uid: string,
  frame: number,
  kind: 'npy' | 'seg.dcm',
): string {
  const file = join(lake, 'keys', 'mask-names.key');
  const { secret } = JSON.parse(
    cipher.open(readFileSync(file), file).toString('utf8'),
  ) as { secret: string };
  const stem = createHmac('sha256', Buffer.from(secret, 'hex'))
    .update(`${model}\0${uid}`)
    .digest('hex')
    .slice(0, 32);
  return join(lake, 'masks', model, `${stem}-${frame}.${kind}`);
}
