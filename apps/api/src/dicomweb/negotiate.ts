import { DicomWebError } from './DicomWebError';
import { covers, mediaRanges } from './mediaRanges';
import type { MediaRange } from './mediaRanges';

/** Explicit VR Little Endian: what uncompressed frames are sent as. */
export const EXPLICIT_LE = '1.2.840.10008.1.2.1';

/** The media types a DICOM JSON answer (QIDO-RS, metadata, STOW-RS) has. */
export const DICOM_JSON_TYPES = [
  'application/dicom+json',
  'application/json',
] as const;

/** One representation the server can send. */
interface Offer {
  type: string;
  /** A multipart offer's part type (its `type` parameter). */
  part?: string;
  /** The transfer syntaxes of its parts; any `transfer-syntax` when empty. */
  syntaxes?: readonly string[];
}

function notAcceptable(
  accept: string | undefined,
  offer: string,
): DicomWebError {
  return new DicomWebError(
    406,
    `cannot answer Accept "${(accept ?? '').slice(0, 200)}": this resource is available as ${offer}`,
  );
}

/**
 * How specifically `range` names `offer` (RFC 9110 12.5.1: a type beats
 * `type/*`, which beats `*` + `/*`; each parameter matched counts), or -1
 * when it does not cover it. Only the parameters DICOMweb gives a meaning
 * (`type`, `transfer-syntax`) are compared; others (charset) are ignored.
 */
function specificity(range: MediaRange, offer: Offer): number {
  if (!covers(range.type, offer.type)) return -1;
  let score = range.type === '*/*' || range.type === '*' ? 0 : 1;
  if (!range.type.endsWith('/*')) score++;
  const part = range.params.type?.toLowerCase();
  if (part !== undefined) {
    if (part !== offer.part) return -1;
    score++;
  }
  const syntax = range.params['transfer-syntax'];
  if (syntax !== undefined && syntax !== '*') {
    if (!(offer.syntaxes ?? []).every((s) => s === syntax)) return -1;
    score++;
  }
  return score;
}

/**
 * The offer the client takes, by RFC 9110 12.5.1: each offer's quality is
 * the q of the most specific range naming it (so `type;q=0` refuses a
 * type that `*` + `/*` would take); the highest wins, then the one named
 * earliest in the header, then the server's order.
 * @throws DicomWebError 406 when every offer's quality is 0.
 */
function choose(
  accept: string | undefined,
  offers: readonly Offer[],
  describe: string,
): number {
  const ranges = mediaRanges(accept);
  let best = -1;
  let bestQ = 0;
  let bestAt = Infinity;
  offers.forEach((offer, i) => {
    let q = 0;
    let at = Infinity;
    let most = -1;
    ranges.forEach((range, j) => {
      const s = specificity(range, offer);
      if (s > most) {
        most = s;
        q = range.q;
        at = j;
      }
    });
    if (q > bestQ || (q === bestQ && q > 0 && at < bestAt)) {
      best = i;
      bestQ = q;
      bestAt = at;
    }
  });
  if (best < 0) throw notAcceptable(accept, describe);
  return best;
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
  const offers: Offer[] = [{ type: 'multipart/related', part, syntaxes }];
  if (single) offers.push({ type: part, syntaxes });
  const describe = `multipart/related; type="${part}"; transfer-syntax=${syntaxes[0] ?? EXPLICIT_LE}`;
  return choose(accept, offers, describe) === 0;
}

/**
 * The first of `offers` the client takes, by its preference order.
 * @throws DicomWebError 406 when it takes none of them.
 */
export function negotiate(
  accept: string | undefined,
  offers: readonly string[],
): string {
  const at = choose(
    accept,
    offers.map((type) => ({ type })),
    offers.join(' or '),
  );
  return offers[at]!;
}

/**
 * The media type of a DICOM JSON answer (QIDO-RS results, WADO-RS
 * metadata, a STOW-RS response): `application/dicom+json`, or
 * `application/json` when that is what the client prefers.
 * @throws DicomWebError 406 when the client takes neither (e.g. only
 * `multipart/related; type="application/dicom+xml"`, which lpacs does
 * not write), 400 for a bad q value.
 */
export function negotiateDicomJson(accept: string | undefined): string {
  return negotiate(accept, DICOM_JSON_TYPES);
}
