const MONTH =
  '(?:JAN|FEB|MAR|APR|MAY|JUN|JUL|AUG|SEP|SEPT|OCT|NOV|DEC)[A-Z]*\\.?';

/** A month's name in full or in three letters (SEPT too), as a word. */
const MONTH_WORD =
  '(?:JAN(?:UARY)?|FEB(?:RUARY)?|MAR(?:CH)?|APR(?:IL)?|MAY|JUNE?|JULY?|AUG(?:UST)?|SEPT?(?:EMBER)?|OCT(?:OBER)?|NOV(?:EMBER)?|DEC(?:EMBER)?)(?![A-Z])\\.?';
/** Day and month numbers: 1 to 31 and 1 to 12, with or without a 0. */
const DAY = '(?:0?[1-9]|[12]\\d|3[01])';
const MON = '(?:0?[1-9]|1[0-2])';
/** A day number written as one: 15, 15th, 1st. */
const DAY_TH = `${DAY}(?:ST|ND|RD|TH)?`;
/** Units a count or a ratio of two is given in ("5/10 mm", "1/2 mGy"). */
const UNIT =
  '\\s*(?:%|°|[mµuk]?(?:m|g|l|s|gy|sv|bq|ci|a|as|hz|ev|mol)|cc|sec|min|hrs?|h|kvp?|hu|t|deg|fps|px|slices?|cm[23]?|mm[23]?)(?![A-Z])';

/**
 * Shapes of identifiers in free text: dates in numeric and month-name
 * forms, with a year and without one, phone and social security numbers,
 * e-mail addresses, URLs, ages, and any run of 5 or more digits.
 */
const PATTERNS = [
  /\b\d{4}[-./]\d{1,2}[-./]\d{1,2}\b/g,
  /\b\d{1,2}[-./]\d{1,2}[-./]\d{2,4}\b/g,
  new RegExp(`\\b\\d{1,2}[-\\s./]*${MONTH}[-\\s./,]*\\d{2,4}\\b`, 'gi'),
  new RegExp(
    `\\b${MONTH}[-\\s./]*\\d{1,2}(?:st|nd|rd|th)?[-\\s.,/]*\\d{2,4}\\b`,
    'gi',
  ),
  // Month and day without a year: 3/15 and 15/3 (not the fractions 1/2,
  // 1/3, 2/3, 1/4, 3/4, nor a ratio with a unit, 5/10 mm, nor T1/T2),
  // 15.03. and 15.3. (a day or month of two digits and the dot after,
  // not a decimal 1.5.), 15 Mar, 15th of March, 15-MAR, Mar 15, March
  // 15th (not O-MAR 2, Smart MAR 3: metal artifact reduction). 03-15
  // goes as a token of four digits (below); 3-15 stays (a range).
  new RegExp(
    `(?<![\\w./])(?!(?:1/[234]|2/[34]|3/4)(?!\\d))(?:${MON}/${DAY}|${DAY}/${MON})(?![\\w/]|[.,]\\d|${UNIT})`,
    'gi',
  ),
  new RegExp(
    `(?<![\\w.])(?=\\d\\d|\\d\\.\\d\\d)${DAY}\\.${MON}\\.(?![\\w])`,
    'gi',
  ),
  new RegExp(`\\b${DAY_TH}[-\\s./]*(?:OF\\s+)?${MONTH_WORD}`, 'gi'),
  new RegExp(
    `(?<![\\w-]|SMART\\s)${MONTH_WORD}[-\\s/]*${DAY_TH}(?![\\w]|[.,]\\d)`,
    'gi',
  ),
  /\b\d{3}-\d{2}-\d{4}\b/g,
  /(?:\+\d{1,3}[\s.-]?)?\(?\d{3}\)?[\s.-]?\d{3}[\s.-]?\d{4}\b/g,
  /[\w.+-]+@[\w-]+(?:\.[\w-]+)+/g,
  /@[\w-]+(?:\.[\w-]+)+/g,
  /\bhttps?:\/\/\S+/gi,
  // Street addresses.
  /\b\d{1,5}\s+(?:\w+\s+){1,3}(?:ROAD|RD|STREET|ST|AVENUE|AVE|LANE|LN|DRIVE|DR|BLVD|BOULEVARD|WAY|COURT|CT|PLACE|PL)\b\.?/gi,
  // Ages, whatever the number, where the words say it is one: 93-year-old,
  // 93 years old, 93-yr-old, 93yo, 93 y/o, 93 y.o., 93yoF, age 93, aged
  // 93, 93Y and 093Y (a Patient's Age as DICOM writes it, PS3.5 6.2).
  // Years alone (93 years, 93 yrs, 93 y) only over 89: fewer are a
  // follow-up or a history as often, and only ages over 89 identify the
  // patient among all (HIPAA 164.514(b)(2)(i)(C)).
  /\b\d{1,3}\s*-?\s*(?:YEARS?|YRS?|Y)\s*-?\s*OLD\b/gi,
  /\b\d{1,3}\s*(?:Y\/O|Y\.\s?O\b\.?|YO)(?:\s?[MF])?(?![A-Z\d])/gi,
  /\bAGED?\s*[:=]?\s*\d{1,3}(?!\d|[.,]\d)(?:\s*(?:YEARS?|YRS?|Y)\b)?/gi,
  /\b\d{1,3}Y\b/gi,
  /\b(?:9\d|1[0-4]\d)\s*(?:YEARS?|YRS?|Y)\b/gi,
  // Identifiers: a token with four digits or more, digits spaced out.
  /[\w-]*\d[\w-]*\d[\w-]*\d[\w-]*\d[\w-]*/g,
  /\b(?:\d\s){3,}\d\b/g,
  /\d{5,}/g,
];

function escape(term: string): string {
  return term.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Letters NFKD does not split into a base letter and marks. */
const STROKES: Readonly<Record<string, string>> = {
  Ø: 'O',
  ø: 'o',
  Đ: 'D',
  đ: 'd',
  Ð: 'D',
  ð: 'd',
  Ł: 'L',
  ł: 'l',
  Ħ: 'H',
  ħ: 'h',
  // Turkish dotless i, which no case folding makes i (İ NFKD splits).
  ı: 'i',
  Ŧ: 'T',
  ŧ: 't',
};

/**
 * Combining marks a fold drops: all but the kana voicing marks (a kana
 * with them is another syllable, and names of two kana are matched
 * anywhere: ガ and カ are not one name).
 */
const MARKS = /(?![\u3099\u309a])\p{M}/gu;

/**
 * A letter with the marks that follow it (halfwidth kana voicing marks
 * too: ﾀﾞ folds to ダ), or marks alone.
 */
const CLUSTER =
  /[^\p{M}\uff9e\uff9f][\p{M}\uff9e\uff9f]*|[\p{M}\uff9e\uff9f]+/gsu;

/** Each cluster's fold, computed once per cluster. */
const folds = new Map<string, string>();

function foldCluster(c: string): string {
  let f = folds.get(c);
  if (f === undefined) {
    f =
      STROKES[c] ??
      // NFKD then NFC again: a Hangul syllable comes back whole.
      c.normalize('NFKD').replace(MARKS, '').normalize('NFC');
    if (folds.size >= 4096) folds.clear();
    folds.set(c, f);
  }
  return f;
}

/**
 * A text folded for matching, and where each of its UTF-16 units comes
 * from: unit i of `text` comes from `from[i]` to `to[i]` of the input
 * (undefined when the fold is the input itself; empty when not asked
 * for, as fold does not).
 */
interface Folded {
  text: string;
  from?: number[];
  to?: number[];
}

const ASCII = /^[\x00-\x7f]*$/;

function foldWithOrigin(text: string, origin = true): Folded {
  if (ASCII.test(text)) return { text };
  let out = '';
  const from: number[] = [];
  const to: number[] = [];
  for (const m of text.matchAll(CLUSTER)) {
    const f = foldCluster(m[0]);
    out += f;
    if (origin)
      for (let i = 0; i < f.length; i++) {
        from.push(m.index);
        to.push(m.index + m[0].length);
      }
  }
  return out === text ? { text } : { text: out, from, to };
}

/**
 * A text as a person may type it, in any script: each letter without its
 * combining marks (Ü U, É E, Ñ N, Ễ E, Ø O, Đ D, Ł L, ı i, İ I; Greek ό ο,
 * ΐ ι; Cyrillic ё е, й и, а́ а), and compatibility forms as their letters
 * (ﬁ fi, fullwidth Ａ A, halfwidth ｶ カ). Case is left to the patterns'
 * i flag (Unicode simple case folding: Σ, σ and ς alike). Letters that
 * are not one letter plus marks (ß, Æ, Œ, Þ) stay, as do kana voicing
 * marks (see MARKS) and Hangul syllables.
 */
export function fold(text: string): string {
  return foldWithOrigin(text, false).text;
}

/** Transliterations of two letters: German, Danish, Norwegian, French, Icelandic. */
const TWO_LETTERS: ReadonlyArray<[RegExp, string]> = [
  [/[ÄÆ]/g, 'AE'],
  [/[ÖŒØ]/g, 'OE'],
  [/Ü/g, 'UE'],
  [/Å/g, 'AA'],
  [/Þ/g, 'TH'],
  // Capital sharp s, which toUpperCase leaves as it is (ß it writes SS).
  [/ẞ/g, 'SS'],
];

/**
 * The spellings of an identifier a person may type, as fold writes them
 * (cleanText matches in the fold of the text): the fold of the value
 * itself (MÜLLER as MULLER; ß stays ß), its transliteration in two
 * letters (MUELLER; STRASSE for STRAßE, as toUpperCase writes ß), and, of
 * a transliterated value of four letters or more, the other way
 * (MUELLER as MULLER, which the fold of a typed MÜLLER gives).
 */
export function spellings(term: string): string[] {
  const out = new Set([fold(term)]);
  let upper = term.toUpperCase();
  for (const [letters, two] of TWO_LETTERS) upper = upper.replace(letters, two);
  upper = fold(upper);
  out.add(upper);
  const one = upper.replace(/([AOU])E/g, '$1');
  if (one !== upper && one.length >= 4) out.add(one);
  return [...out];
}

/**
 * Apostrophes and hyphens inside a name, and the spaces of a value, are
 * typed kept, dropped or as a space: O'BRIEN, OBRIEN, O BRIEN, O’BRIEN.
 */
const TYPED_SEPARATORS = /[\s'\u2019\u02bc\u2018`\u00b4-]+/gu;
const ANY_SEPARATOR = "[\\s'\u2019\u02bc\u2018`\u00b4-]{0,3}";

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

/**
 * Distinct NFC terms of 2 characters or more, longest first, each in
 * every spelling, with separators matched as typed (TYPED_SEPARATORS).
 */
function terms(values: readonly string[]): string[] {
  const out = new Set<string>();
  for (const value of values) {
    const term = value.normalize('NFC').trim();
    if (term.length < 2) continue;
    for (const spelling of spellings(term))
      out.add(
        spelling
          .split(TYPED_SEPARATORS)
          // SS typed as ß (or ẞ, its capital under the i flag).
          .map((w) => escape(w).replace(/SS/gi, '(?:SS|ß)'))
          .join(ANY_SEPARATOR),
      );
  }
  return [...out].sort((a, b) => b.length - a.length);
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
 * a date (with or without a year), an age, a phone or social security
 * number, an address on the internet or
 * a long number. Identifiers are matched in every spelling a person may
 * type (see spellings and fold). What remains is the clinical wording ("CT CHEST W/O
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
  if (pattern) out = removeMatches(out, pattern);
  for (const p of PATTERNS) out = out.replace(p, ' ');
  return out.replace(/\s+/g, ' ').trim();
}

/**
 * The NFC text with what the pattern matches in its fold made spaces:
 * the input's own characters go, each with its marks (a match in the
 * fold of Ива́нов cuts the stress mark too).
 */
function removeMatches(text: string, pattern: RegExp): string {
  const folded = foldWithOrigin(text);
  if (!folded.from || !folded.to) return text.replace(pattern, ' ');
  let out = '';
  let at = 0;
  for (const m of folded.text.matchAll(pattern)) {
    if (!m[0].length) continue;
    const start = folded.from[m.index]!;
    if (start < at) continue;
    out += text.slice(at, start) + ' ';
    at = folded.to[m.index + m[0].length - 1]!;
  }
  return out + text.slice(at);
}

/** Recent cleanIdentifiers results per pattern. */
const cleanedKept = new WeakMap<RegExp, Map<string, string>>();

/**
 * Removes the object's own identifiers (the pattern), in every spelling,
 * from kept text outside the descriptors (see keptText), and nothing
 * else: no dates or numbers by their shape, which a software version or
 * a model name holds ("syngo CT 2012B"). A value with nothing to remove
 * is returned as it came.
 */
export function cleanIdentifiers(text: string, pattern: RegExp): string {
  let memo = cleanedKept.get(pattern);
  if (!memo) cleanedKept.set(pattern, (memo = new Map()));
  let out = memo.get(text);
  if (out === undefined) {
    if (memo.size >= MEMO_SIZE) memo.clear();
    const nfc = text.normalize('NFC');
    const removed = removeMatches(nfc, pattern);
    out = removed === nfc ? text : removed.replace(/\s+/g, ' ').trim();
    memo.set(text, out);
  }
  return out;
}

/**
 * True when the pattern matches in a value as a word of its own: with no
 * letter or digit next to the match ("QQVORTAN_WINDOW", "P-QQMRN5521"),
 * not inside a longer word (a name XIA inside AXIAL).
 */
export function holdsIdentifier(value: string, pattern: RegExp): boolean {
  let memo = heldBy.get(pattern);
  if (!memo) heldBy.set(pattern, (memo = new Map()));
  let held = memo.get(value);
  if (held === undefined) {
    if (memo.size >= MEMO_SIZE) memo.clear();
    held = holds(value, pattern);
    memo.set(value, held);
  }
  return held;
}

/** Recent holdsIdentifier answers per pattern: a series repeats its codes. */
const heldBy = new WeakMap<RegExp, Map<string, boolean>>();

function holds(value: string, pattern: RegExp): boolean {
  const folded = fold(value.normalize('NFC'));
  for (const m of folded.matchAll(pattern)) {
    // A code of one or two letters or digits (CT, SR, MR, a laterality
    // L) is a defined term, not an echo of a name part or an ID that
    // happens to read the same (a name CQ500-CT-310, Test^S R): emptying
    // it would blank Modality and say nothing of the patient.
    if (m[0].replace(/[^\p{L}\p{N}]/gu, '').length < 3) continue;
    const before = folded[m.index - 1] ?? '';
    const after = folded[m.index + m[0].length] ?? '';
    if (!/[\p{L}\p{N}]/u.test(before + after)) return true;
  }
  return false;
}
