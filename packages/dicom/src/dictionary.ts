import { DICTIONARY, DICTIONARY_PATTERNS } from './generated/dictionary';
import { isPrivateCreator, isPrivateTag, tagHex } from './tags';
import type { DictionaryEntry } from './types';

/** The PS3.6 entry of a tag, exact or repeating-group; undefined if none. */
export function lookupTag(tag: number): DictionaryEntry | undefined {
  const exact = DICTIONARY[tagHex(tag)];
  if (exact) return exact;
  for (const p of DICTIONARY_PATTERNS) {
    if ((tag & p[0]) >>> 0 === p[1]) return [p[2], p[3], p[4], p[5]];
  }
  return undefined;
}

/** The VR used to read a tag in an implicit-VR data set (PS3.5 A.1). */
export function implicitVr(tag: number): string {
  if ((tag & 0xffff) === 0) return 'UL'; // group length, PS3.5 7.2
  if (isPrivateCreator(tag)) return 'LO';
  if (isPrivateTag(tag)) return 'UN';
  return lookupTag(tag)?.[0] ?? 'UN';
}

/** The keyword of a tag, or undefined for private and unknown tags. */
export function keywordOf(tag: number): string | undefined {
  return lookupTag(tag)?.[1];
}

let keywords: Map<string, DictionaryEntry> | undefined;

/** The PS3.6 entry of a keyword (repeating groups included); undefined if none. */
export function lookupKeyword(keyword: string): DictionaryEntry | undefined {
  if (!keywords) {
    keywords = new Map();
    for (const e of Object.values(DICTIONARY)) keywords.set(e[1], e);
    for (const p of DICTIONARY_PATTERNS)
      if (!keywords.has(p[3])) keywords.set(p[3], [p[2], p[3], p[4], p[5]]);
  }
  return keywords.get(keyword);
}

/** True when `keyword` names a PS3.6 data element (repeating groups included). */
export function isKeyword(keyword: string): boolean {
  return lookupKeyword(keyword) !== undefined;
}
