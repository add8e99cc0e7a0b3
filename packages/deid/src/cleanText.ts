/** Dates, times and long digit runs: likely identifiers in free text. */
const PATTERNS = [
  /\b\d{4}[-./]\d{1,2}[-./]\d{1,2}\b/g,
  /\b\d{1,2}[-./]\d{1,2}[-./]\d{2,4}\b/g,
  /\b(19|20)\d{6}\b/g,
  /\d{5,}/g,
  /[\w.+-]+@[\w-]+\.[\w.]+/g,
];

function escape(term: string): string {
  return term.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * One case-insensitive pattern for an object's identifying values, longest
 * first so "DOE^JOHN" goes before "DOE"; undefined when there are none.
 */
export function identifierPattern(
  identifiers: readonly string[],
): RegExp | undefined {
  const terms = [...new Set(identifiers.filter((t) => t.length >= 2))].sort(
    (a, b) => b.length - a.length,
  );
  return terms.length
    ? new RegExp(terms.map(escape).join('|'), 'gi')
    : undefined;
}

/**
 * The Clean (C) action for free-text descriptors (PS3.15 E.3.5): removes
 * every identifying value the object itself carries (names, IDs, dates),
 * then anything shaped like a date, a long number or an e-mail address.
 * What remains is the clinical wording ("CT CHEST W/O CONTRAST").
 */
export function cleanText(
  text: string,
  identifiers: RegExp | readonly string[] | undefined,
): string {
  const pattern = Array.isArray(identifiers)
    ? identifierPattern(identifiers)
    : (identifiers as RegExp | undefined);
  let out = pattern ? text.replace(pattern, ' ') : text;
  for (const p of PATTERNS) out = out.replace(p, ' ');
  return out.replace(/\s+/g, ' ').trim();
}
