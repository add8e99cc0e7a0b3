import { DicomWebError } from './DicomWebError';
import { covers, mediaRanges } from './mediaRanges';
import type { MediaRange } from './mediaRanges';

/** Explicit VR Little Endian: what uncompressed frames are sent as. */
export const EXPLICIT_LE = '1.2.840.10008.1.2.1';

function notAcceptable(
  accept: string | undefined,
  offer: string,
): DicomWebError {
  return new DicomWebError(
    406,
    `cannot answer Accept "${(accept ?? '').slice(0, 200)}": this resource is available as ${offer}`,
  );
}

function syntaxOk(range: MediaRange, syntaxes: readonly string[]): boolean {
  const wanted = range.params['transfer-syntax'];
  return (
    wanted === undefined ||
    wanted === '*' ||
    syntaxes.every((s) => s === wanted)
  );
}

/**
 * Checks that the client takes `multipart/related; type=<part>` with the
 * parts in `syntaxes` (objects are sent as stored, never transcoded).
 * @returns true for multipart, false when a single bare part was asked for
 * and `single` allows it.
 * @throws DicomWebError 406 otherwise.
 */
export function negotiateMultipart(
  accept: string | undefined,
  part: string,
  syntaxes: readonly string[],
  single = false,
): boolean {
  for (const range of mediaRanges(accept)) {
    if (range.type === '*/*' || range.type === 'multipart/*') return true;
    if (range.type === 'multipart/related') {
      const type = range.params.type?.toLowerCase();
      if ((type === undefined || type === part) && syntaxOk(range, syntaxes))
        return true;
    }
    if (single && range.type === part && syntaxOk(range, syntaxes))
      return false;
  }
  const offer = `multipart/related; type="${part}"; transfer-syntax=${syntaxes[0] ?? EXPLICIT_LE}`;
  throw notAcceptable(accept, offer);
}

/**
 * The first of `offers` the client takes, by its preference order.
 * @throws DicomWebError 406 when it takes none of them.
 */
export function negotiate(
  accept: string | undefined,
  offers: readonly string[],
): string {
  for (const range of mediaRanges(accept)) {
    const match = offers.find((o) => covers(range.type, o));
    if (match) return match;
  }
  throw notAcceptable(accept, offers.join(' or '));
}
