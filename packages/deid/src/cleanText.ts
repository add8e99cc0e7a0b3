const MONTH =
  '(?:JAN|FEB|MAR|APR|MAY|JUN|JUL|AUG|SEP|SEPT|OCT|NOV|DEC)[A-Z]*\\.?';

/**
 * Shapes of identifiers in free text: dates in numeric and month-name
 * forms, phone and social security numbers, e-mail addresses, URLs, and
 * any run of 5 or more digits.
 */
const PATTERNS = [
  /\b\d{4}[-./]\d{1,2}[-./]\d{1,2}\b/g,
  /\b\d{1,2}[-./]\d{1,2}[-./]\d{2,4}\b/g,
  new RegExp(`\\b\\d{1,2}[-\\s./]*${MONTH}[-\\s./,]*\\d{2,4}\\b`, 'gi'),
  new RegExp(
    `\\b${MONTH}[-\\s./]*\\d{1,2}(?:st|nd|rd|th)?[-\\s.,/]*\\d{2,4}\\b`,
    'gi',
  ),
  /\b\d{3}-\d{2}-\d{4}\b/g,
  /(?:\+\d{1,3}[\s.-]?)?\(?\d{3}\)?[\s.-]?\d{3}[\s.-]?\d{4}\b/g,
  /[\w.+-]+@[\w-]+(?:\.[\w-]+)+/g,
  /@[\w-]+(?:\.[\w-]+)+/g,
  /\bhttps?:\/\/\S+/gi,
  // Street addresses, and ages over 89 (identifying under HIPAA 164.514).
  /\b\d{1,5}\s+(?:\w+\s+){1,3}(?:ROAD|RD|STREET|ST|AVENUE|AVE|LANE|LN|DRIVE|DR|BLVD|BOULEVARD|WAY|COURT|CT|PLACE|PL)\b\.?/gi,
  /\b(?:9\d|1[0-4]\d)\s*(?:YEARS?|YRS?|Y\/?O)\b/gi,
  // Identifiers: a token with four digits or more, digits spaced out.
  /[\w-]*\d[\w-]*\d[\w-]*\d[\w-]*\d[\w-]*/g,
  /\b(?:\d\s){3,}\d\b/g,
  /\d{5,}/g,
];

function escape(term: string): string {
  return term.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * One case-insensitive pattern for an object's identifying values, longest
 * first so "DOE^JOHN" goes before "DOE"; undefined when there are none.
 * Values are compared in Unicode NFC, so composed and decomposed spellings
 * of one name match. `words` match only as whole words (letters and digits
 * on neither side).
 */
export function identifierPattern(
  identifiers: readonly string[],
  words: readonly string[] = [],
): RegExp | undefined {
  // Every file of a series carries the same identifiers: one pattern
  // serves them all, and cleanText's results are kept per pattern.
  // Frozen lists (readIdentity's, shared by such files) are known by
  // identity, as they cannot change; any other by its values.
  const same = byList.get(identifiers);
  if (same && same.words === words) return same.pattern;
  // JSON, not a join: no separator could be told from a value's own.
  const key = JSON.stringify([identifiers, words]);
  let pattern = patterns.get(key);
  if (pattern === undefined && !patterns.has(key)) {
    if (patterns.size >= MEMO_SIZE) patterns.clear();
    pattern = buildPattern(identifiers, words);
    patterns.set(key, pattern);
  }
  if (Object.isFrozen(identifiers) && Object.isFrozen(words))
    byList.set(identifiers, { words, pattern });
  return pattern;
}

/** Patterns of frozen identifier lists, by the lists themselves. */
const byList = new WeakMap<
  readonly string[],
  { words: readonly string[]; pattern: RegExp | undefined }
>();

/** Recent patterns by their identifiers; cleared when full. */
const patterns = new Map<string, RegExp | undefined>();
const MEMO_SIZE = 1024;

/** Recent cleanText results per pattern (NO_PATTERN: none). */
const cleaned = new WeakMap<RegExp | object, Map<string, string>>();
const NO_PATTERN = {};

/** Distinct NFC terms of 2 characters or more, longest first. */
function terms(values: readonly string[]): string[] {
  return [
    ...new Set(
      values.map((t) => t.normalize('NFC').trim()).filter((t) => t.length >= 2),
    ),
  ]
    .sort((a, b) => b.length - a.length)
    .map(escape);
}

function buildPattern(
  identifiers: readonly string[],
  words: readonly string[],
): RegExp | undefined {
  const parts = [];
  const anywhere = terms(identifiers);
  if (anywhere.length) parts.push(anywhere.join('|'));
  const whole = terms(words);
  if (whole.length)
    parts.push(`(?<![\\p{L}\\p{N}])(?:${whole.join('|')})(?![\\p{L}\\p{N}])`);
  return parts.length ? new RegExp(parts.join('|'), 'giu') : undefined;
}

/**
 * The Clean (C) action for free-text descriptors (PS3.15 E.3.5): removes
 * every identifying value the object itself carries (names and their
 * parts, IDs, the birth date in any common form), then anything shaped like
 * a date, a phone or social security number, an address on the internet or
 * a long number. What remains is the clinical wording ("CT CHEST W/O
 * CONTRAST"). Free text can still hold identifiers of no known shape, which
 * is why only a few descriptors are cleaned and kept (see Deidentifier).
 */
export function cleanText(
  text: string,
  identifiers: RegExp | readonly string[] | undefined,
): string {
  const pattern = Array.isArray(identifiers)
    ? identifierPattern(identifiers)
    : (identifiers as RegExp | undefined);
  // A series repeats its descriptors in every file.
  let memo = cleaned.get(pattern ?? NO_PATTERN);
  if (!memo) cleaned.set(pattern ?? NO_PATTERN, (memo = new Map()));
  let out = memo.get(text);
  if (out === undefined) {
    if (memo.size >= MEMO_SIZE) memo.clear();
    out = clean(text, pattern);
    memo.set(text, out);
  }
  return out;
}

function clean(text: string, pattern: RegExp | undefined): string {
  // Shapes first, so removing a name cannot break up an e-mail address.
  let out = text.normalize('NFC');
  for (const p of PATTERNS) out = out.replace(p, ' ');
  if (pattern) out = out.replace(pattern, ' ');
  for (const p of PATTERNS) out = out.replace(p, ' ');
  return out.replace(/\s+/g, ' ').trim();
}
