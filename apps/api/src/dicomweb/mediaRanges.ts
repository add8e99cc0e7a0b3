import { DicomWebError } from './DicomWebError';

/** One entry of an Accept header (RFC 9110 12.5.1). */
export interface MediaRange {
  /** Lower-case `type/subtype`, e.g. `multipart/related`. */
  type: string;
  /** Lower-case parameter names; values unquoted. */
  params: Record<string, string>;
  q: number;
}

/** Splits on `sep` outside double quotes. */
function splitOutsideQuotes(text: string, sep: string): string[] {
  const out: string[] = [];
  let quoted = false;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    if (text[i] === '"') quoted = !quoted;
    else if (text[i] === sep && !quoted) {
      out.push(text.slice(start, i));
      start = i + 1;
    }
  }
  out.push(text.slice(start));
  return out.map((s) => s.trim()).filter((s) => s !== '');
}

/**
 * The media ranges of an Accept header in the order sent, q=0 ones
 * included (they refuse what they name); an absent header accepts anything.
 * @throws DicomWebError 400 when a q value is not a number from 0 to 1.
 */
export function mediaRanges(accept: string | undefined): MediaRange[] {
  if (!accept || accept.trim() === '')
    return [{ type: '*/*', params: {}, q: 1 }];
  return splitOutsideQuotes(accept, ',').map((entry) => {
    const [type = '', ...rest] = splitOutsideQuotes(entry, ';');
    const params: Record<string, string> = {};
    for (const p of rest) {
      const eq = p.indexOf('=');
      if (eq < 0) continue;
      const value = p.slice(eq + 1).trim();
      params[p.slice(0, eq).trim().toLowerCase()] = value.replace(
        /^"(.*)"$/,
        '$1',
      );
    }
    const q = params.q === undefined ? 1 : Number(params.q);
    if (!(q >= 0 && q <= 1)) {
      throw new DicomWebError(
        400,
        `Accept header has a bad q value "${params.q}"`,
      );
    }
    delete params.q;
    return { type: type.toLowerCase(), params, q };
  });
}

/** True when a range such as `image/*` or `*` + `/*` covers `type`. */
export function covers(range: string, type: string): boolean {
  if (range === '*/*' || range === '*') return true;
  if (range.endsWith('/*')) return type.startsWith(range.slice(0, -1));
  return range === type;
}
