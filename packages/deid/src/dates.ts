const DAY_MS = 86_400_000;

function pad(n: number, width: number): string {
  return String(n).padStart(width, '0');
}

/** Adds days to a calendar date; undefined for impossible dates. */
function addDays(y: number, m: number, d: number, days: number) {
  const t = Date.UTC(y, m - 1, d);
  const check = new Date(t);
  if (check.getUTCMonth() !== m - 1 || check.getUTCDate() !== d)
    return undefined;
  const out = new Date(t + days * DAY_MS);
  return {
    y: out.getUTCFullYear(),
    m: out.getUTCMonth() + 1,
    d: out.getUTCDate(),
  };
}

/**
 * Shifts one DA value by whole days, keeping its form: `YYYYMMDD`, or the
 * ACR-NEMA `YYYY.MM.DD` rewritten as `YYYYMMDD` (PS3.5 6.2 DA note).
 * Undefined when the value is not a date, so the caller can remove it.
 */
export function shiftDA(value: string, days: number): string | undefined {
  const m = /^(\d{4})\.?(\d{2})\.?(\d{2})$/.exec(value.trim());
  if (!m) return undefined;
  const r = addDays(Number(m[1]), Number(m[2]), Number(m[3]), days);
  if (!r || r.y < 1 || r.y > 9999) return undefined;
  return `${pad(r.y, 4)}${pad(r.m, 2)}${pad(r.d, 2)}`;
}

/**
 * Shifts one DT value by whole days, keeping its precision, its time and
 * its UTC offset (`YYYY[MM[DD[HH[MM[SS[.F]]]]]][&ZZXX]`, PS3.5 6.2).
 * A year-only or year-month value is shifted from its first day and keeps
 * its precision.
 */
export function shiftDT(value: string, days: number): string | undefined {
  const m =
    /^(\d{4})(?:(\d{2})(?:(\d{2})(\d{2}(?:\d{2}(?:\d{2}(?:\.\d{1,6})?)?)?)?)?)?([+-]\d{4})?$/.exec(
      value.trim(),
    );
  if (!m || (m[4] && !isTime(m[4]))) return undefined;
  const r = addDays(
    Number(m[1]),
    Number(m[2] ?? '01'),
    Number(m[3] ?? '01'),
    days,
  );
  if (!r || r.y < 1 || r.y > 9999) return undefined;
  let out = pad(r.y, 4);
  if (m[2]) out += pad(r.m, 2);
  if (m[3]) out += pad(r.d, 2);
  return out + (m[4] ?? '') + (m[5] ?? '');
}

/**
 * True for a TM value of PS3.5 6.2: `HH[MM[SS[.F{1,6}]]]`, hours below 24,
 * minutes below 60, seconds below 61 (a leap second).
 */
export function isTime(value: string): boolean {
  const m = /^(\d{2})(?:(\d{2})(?:(\d{2})(?:\.\d{1,6})?)?)?$/.exec(
    value.trim(),
  );
  return (
    m !== null &&
    Number(m[1]) < 24 &&
    Number(m[2] ?? 0) < 60 &&
    Number(m[3] ?? 0) < 61
  );
}

/** Whole years between two DA values, or undefined when either is unusable. */
export function yearsBetween(birth: string, at: string): number | undefined {
  const b = /^(\d{4})\.?(\d{2})\.?(\d{2})/.exec(birth);
  const a = /^(\d{4})\.?(\d{2})\.?(\d{2})/.exec(at);
  if (!a || !b) return undefined;
  let years = Number(a[1]) - Number(b[1]);
  if (a[2]! + a[3]! < b[2]! + b[3]!) years -= 1;
  return years >= 0 && years < 150 ? years : undefined;
}

/**
 * Age in whole years from an AS value: `nnnD|W|M|Y` (PS3.5 6.2), read
 * leniently as cappedAge reads it (`95Y`, `1150M`, `095 y`, digits alone
 * taken as years), so that the index's age_years and the PatientAge the
 * object keeps (090Y for more than 89 years) say the same.
 */
export function ageFromAS(value: string): number | undefined {
  const m = /^\s*(\d{1,6})\s*([DWMY]?)\s*$/i.exec(value);
  if (!m) return undefined;
  const n = Number(m[1]);
  const perYear = { D: 365.25, W: 52.1775, M: 12, Y: 1, '': 1 }[
    m[2]!.toUpperCase() as 'D' | 'W' | 'M' | 'Y' | ''
  ];
  return Math.floor(n / perYear);
}

/** The oldest age kept as it is: HIPAA 164.514(b)(2)(i)(C) aggregates ages over 89. */
export const OLDEST_AGE = 89;
/** What an older PatientAge becomes in the object. */
export const CAPPED_AGE = '090Y';

/**
 * `090Y` when an age value amounts to more than 89 whole years, in any unit
 * (years, months, weeks or days; read leniently: `95Y`, `095 y`, or
 * digits alone taken as years), else undefined (kept as it is).
 */
export function cappedAge(value: string): string | undefined {
  const years = ageFromAS(value);
  // Whole years: 1079M is 89, 1080M is 90.
  return years !== undefined && years > OLDEST_AGE ? CAPPED_AGE : undefined;
}
