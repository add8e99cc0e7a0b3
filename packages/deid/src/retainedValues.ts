import {
  CAPPED_AGE,
  OLDEST_AGE,
  ageFromAS,
  isTime,
  shiftDA,
  shiftDT,
} from './dates';

/**
 * True for a UID as PS3.5 9.1 defines one: components of digits joined by
 * dots, none with a leading zero (but a lone 0), at most 64 characters.
 * A value read with readStrings has its NUL padding removed already.
 */
export function isValidUid(value: string): boolean {
  return (
    value.length > 0 &&
    value.length <= 64 &&
    /^(?:0|[1-9]\d*)(?:\.(?:0|[1-9]\d*))*$/.test(value)
  );
}

/**
 * The Enumerated Values PS3.3 gives the coded attributes a retain option
 * keeps (Table E.1-1's rtnPatCharsOpt column): any other value is not
 * one the attribute can hold, so it may be anything, a name or an ID.
 */
export const ENUMERATED_VALUES: ReadonlyMap<number, readonly string[]> =
  new Map([
    // Patient's Sex, PS3.3 C.7.1.1 (Patient Module)
    [0x00100040, ['M', 'F', 'O']],
    // Patient's Sex Neutered, PS3.3 C.2.4 (Patient Medical Module)
    [0x00102203, ['ALTERED', 'UNALTERED']],
    // Smoking Status, PS3.3 C.2.4
    [0x001021a0, ['YES', 'NO', 'UNKNOWN']],
  ]);

/** Pregnancy Status (0010,21C0), US: Enumerated Values 0001-0004 (PS3.3 C.2.4). */
export const PREGNANCY_STATUS = 0x001021c0;
export const PREGNANCY_STATUS_VALUES: readonly number[] = [1, 2, 3, 4];

/**
 * Timezone Offset From UTC (0008,0201), SH, kept under Retain
 * Longitudinal Temporal Information Full Dates: `&ZZXX` (PS3.3 C.12.1).
 */
const TimezoneOffsetFromUTC = 0x00080201;

/** An AS value exactly as PS3.5 6.2 writes it: three digits and a unit. */
const AS_FORM = /^\d{3}[DWMY]$/;

/**
 * The PatientAge (or other AS value) a retain option may keep for a value
 * as it came: the value itself when it has AS's form (PS3.5 6.2: `nnnD`,
 * `nnnW`, `nnnM` or `nnnY`); a number of units devices write outside that
 * form (`95Y`, `095 y`, `1150M`, digits alone as years; see ageFromAS)
 * written in it (`045Y`, whole years when the count has more than three
 * digits); and `090Y` for every age of more than 89 whole years (HIPAA
 * 164.514(b)(2)(i)(C)). Undefined for anything else (`95 YRS`, a name,
 * an ID with an age beside it): such a value is not kept.
 */
export function keptAge(value: string): string | undefined {
  const v = value.trim();
  const years = ageFromAS(v);
  if (years === undefined) return undefined;
  if (years > OLDEST_AGE) return CAPPED_AGE;
  if (AS_FORM.test(v)) return v;
  const m = /^(\d+)\s*([DWMY]?)$/i.exec(v)!;
  const n = Number(m[1]);
  return n <= 999
    ? `${String(n).padStart(3, '0')}${(m[2] || 'Y').toUpperCase()}`
    : `${String(years).padStart(3, '0')}Y`;
}

/** Numbers of PS3.5 6.2: DS (16 bytes at most) and IS (12, a 32-bit integer). */
const DS_FORM = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/;
const IS_FORM = /^[+-]?\d+$/;
/** CS: upper case letters, digits, space and underscore, 16 bytes at most. */
const CS_FORM = /^[A-Z0-9 _]{0,16}$/;

/**
 * Why a value of a string VR does not have its VR's form (PS3.5 6.2),
 * or undefined when it has (an empty value always has). Text VRs (SH,
 * LO, ST, LT, UT, UC) have no form to check. Never holds the value.
 */
function formFault(vr: string, v: string): string | undefined {
  if (v === '') return undefined;
  switch (vr) {
    case 'AS':
      return AS_FORM.test(v) ? undefined : 'not an age of AS form (nnnD/W/M/Y)';
    case 'DS':
      return v.length <= 16 && DS_FORM.test(v)
        ? undefined
        : 'not a decimal number (DS)';
    case 'IS': {
      const ok =
        v.length <= 12 && IS_FORM.test(v) && Math.abs(Number(v)) < 2 ** 31;
      return ok ? undefined : 'not an integer (IS)';
    }
    // The ACR-NEMA forms PS3.5 6.2 asks readers to accept too
    // (`YYYY.MM.DD`, `HH:MM:SS`) are dates and times as well.
    case 'DA':
      return shiftDA(v, 0) !== undefined ? undefined : 'not a date (DA)';
    case 'TM':
      return isTime(v) || (/^[\d:.]+$/.test(v) && isTime(v.replace(/:/g, '')))
        ? undefined
        : 'not a time (TM)';
    case 'DT':
      return v.length <= 26 && shiftDT(v, 0) !== undefined
        ? undefined
        : 'not a date and time (DT)';
    case 'CS':
      return CS_FORM.test(v)
        ? undefined
        : 'not a code string (CS: A-Z, 0-9, space, _; 16 characters at most)';
    case 'UI':
      return isValidUid(v) ? undefined : 'not a UID (PS3.5 9.1)';
    default:
      return undefined;
  }
}

/**
 * Why the values of an element a retain option keeps are not values it
 * can hold: one does not have its VR's form (PS3.5 6.2), or is not one
 * of the attribute's Enumerated Values (ENUMERATED_VALUES, PS3.3).
 * Undefined when every value is one it can hold. The reason names the
 * kind of fault, never the value.
 */
export function retainedFault(
  tag: number,
  vr: string,
  values: readonly string[],
): string | undefined {
  const enumerated = ENUMERATED_VALUES.get(tag);
  for (const v of values) {
    const fault = formFault(vr, v);
    if (fault) return fault;
    if (tag === TimezoneOffsetFromUTC && v !== '' && !/^[+-]\d{4}$/.test(v))
      return 'not an offset from UTC (&ZZXX, PS3.3 C.12.1)';
    if (enumerated && v !== '' && !enumerated.includes(v))
      return `not one of its Enumerated Values (${enumerated.join(', ')}, PS3.3)`;
  }
  return undefined;
}
