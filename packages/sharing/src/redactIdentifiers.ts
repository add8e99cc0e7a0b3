/*
 * A lake's identifiers have two forms: pseudonymous PatientIDs (LP and 16
 * base32 letters) and UIDs (PS3.5 9.1: digits and dots). A token is taken
 * whole, so a UID that is the prefix of another is not cut out of it.
 */
const TOKEN =
  /(?<![A-Za-z0-9])LP[A-Z2-7]{16}(?![A-Za-z0-9])|(?<![0-9.])[0-9]+(?:\.[0-9]+)+(?![0-9]|\.[0-9])/g;

/** What an erased identifier becomes: it matches nothing in a filter. */
export const REDACTED = 'ERASED';

/**
 * `text` with every PatientID or UID of `erased` replaced by REDACTED:
 * a cohort's name or filter, a share's purpose, may name what an erasure
 * removed. JSON stays JSON, since neither form holds a quote.
 */
export function redactIdentifiers(text: string, erased: Set<string>): string {
  return text.replace(TOKEN, (token) => (erased.has(token) ? REDACTED : token));
}
