import { createHmac } from 'node:crypto';
import { relative } from 'node:path';
import { LakeLayout, readObjectSync } from '@lpacs/lake';

/**
 * What an audit entry names for a value a caller typed that is not one of
 * the lake's identifiers (an MRN pasted where a pseudonym belongs, a
 * password typed as a user name), never the value itself: `hmac:` and the
 * first 16 hex digits of HMAC-SHA256 keyed with the site secret (purpose
 * `audit target`, as SiteKeys composes its purposes). The same value gives
 * the same digest, so repeated attempts show; a guess cannot be tested
 * against it without the site secret, as it could against a plain hash
 * of a short number. `not shown` in a lake with no site secret yet
 * (nothing ingested) or whose secret does not open here.
 */
export function typedTarget(lakeRoot: string, value: string): string {
  let hex: string;
  try {
    const layout = new LakeLayout(lakeRoot);
    hex = readObjectSync(lakeRoot, relative(lakeRoot, layout.siteKey))
      .toString('utf8')
      .trim();
  } catch {
    return 'not shown';
  }
  const digest = createHmac('sha256', Buffer.from(hex, 'hex'))
    .update(`audit target\0${value}`)
    .digest('hex');
  return `hmac:${digest.slice(0, 16)}`;
}
