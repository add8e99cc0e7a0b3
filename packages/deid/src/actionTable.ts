import {
  PRIVATE_RULE,
  PROFILE_RULES,
  isPrivateTag,
  lookupTag,
  tagHex,
} from '@lpacs/dicom';
import type {
  IodType,
  ProfileAction,
  ProfileActions,
  ProfileRule,
} from '@lpacs/dicom';
import { CLEANED_TEXT_VRS } from './keptText';
import { isValidUid } from './retainedValues';
import type { DeidOptions } from './options';
import { selectedOptions } from './options';

/** What happens to one element; `keep` covers tags the table does not list. */
export type ElementAction = ProfileAction | 'keep';

/**
 * Picks the action of a row under the options in force: K beats C beats
 * basic, except that the Modified Dates option's C beats another
 * option's K. Table E.1-1 gives eleven device dates (DateOfLastCalibration,
 * DateOfManufacture, ...) K under Retain Device Identity and C under
 * Retain Longitudinal Temporal Information with Modified Dates: with both
 * on, the date is kept, as the device option asks, and shifted like every
 * other date of the patient, as the dates option asks; kept unshifted
 * beside shifted dates it would tell the patient's shift.
 */
function effective(
  row: ProfileActions,
  columns: readonly string[],
): ProfileAction {
  if (
    columns.includes('rtnLongModifDatesOpt') &&
    row.options.rtnLongModifDatesOpt === 'C'
  )
    return 'C';
  let best: ProfileAction = row.basic;
  for (const column of columns) {
    const code = row.options[column as keyof ProfileActions['options']];
    if (code === 'K') return 'K';
    if (code === 'C') best = 'C';
  }
  return best;
}

/**
 * Table E.1-1 compiled for one set of options: exact tags in a map,
 * repeating groups as masks, private groups by their own row.
 */
export class ActionTable {
  readonly #exact = new Map<number, ProfileAction>();
  readonly #patterns: Array<
    [mask: number, value: number, action: ProfileAction]
  > = [];
  readonly #private: ProfileAction;
  /** The Basic Profile's own code of each exact tag, without the options. */
  readonly #basic = new Map<number, ProfileAction>();
  /**
   * Exact tags whose Basic Profile code is D or has a D in it (X/D, Z/D,
   * X/Z/D): a type 1 attribute in some IOD, so an option's C on it must
   * leave a value (see needsValue).
   */
  readonly #needsValue = new Set<number>();
  /** Pattern lookups are memoised: a site sees a few thousand distinct tags. */
  readonly #memo = new Map<number, ElementAction>();

  constructor(
    options: DeidOptions,
    rules: readonly ProfileRule[] = PROFILE_RULES,
  ) {
    const columns = selectedOptions(options).map((s) => s.column);
    for (const rule of rules) {
      const action = effective(rule, columns);
      if (rule.mask !== 0xffffffff) {
        this.#patterns.push([rule.mask, rule.value, action]);
        continue;
      }
      this.#exact.set(rule.value, action);
      this.#basic.set(rule.value, rule.basic);
      if (rule.basic.split('/').includes('D')) this.#needsValue.add(rule.value);
    }
    this.#private = effective(PRIVATE_RULE, columns);
  }

  /** The action for a tag, or `keep` when the table does not list it. */
  actionFor(tag: number): ElementAction {
    if (isPrivateTag(tag)) return this.#private;
    const exact = this.#exact.get(tag) ?? this.#memo.get(tag);
    if (exact) return exact;
    let found: ElementAction = 'keep';
    for (const [mask, value, action] of this.#patterns) {
      if ((tag & mask) >>> 0 === value) {
        found = action;
        break;
      }
    }
    if (this.#memo.size < 65536) this.#memo.set(tag, found);
    return found;
  }

  /**
   * The Basic Profile's code for a tag the table lists by its exact tag,
   * whatever the options say (X when it lists none: a retain option's K
   * is on exact tags only); what an element a retain option keeps gets
   * when its value is not one the attribute can hold (see retainedFault).
   */
  basicFor(tag: number): ProfileAction {
    return this.#basic.get(tag) ?? 'X';
  }

  /**
   * True when the Basic Profile gives the tag D (alone or combined): the
   * table asks for a dummy there because some IOD makes the attribute
   * type 1, so a value cleaned away under an option (C) is written as
   * the dummy rather than left empty.
   */
  needsValue(tag: number): boolean {
    return this.#needsValue.has(tag);
  }

  /** How many rows the table holds, for reports. */
  get size(): number {
    return this.#exact.size + this.#patterns.length + 1;
  }

  /** For debugging: the tag listing, e.g. `00100010 -> Z`. */
  describe(tag: number): string {
    return `${tagHex(tag)} -> ${this.actionFor(tag)}`;
  }
}

/** Dates and times, which Retain Longitudinal Temporal Information governs. */
const TEMPORAL_VRS: ReadonlySet<string> = new Set(['DA', 'DT', 'TM']);

/**
 * VRs whose values the de-identifier reads as what they are when the
 * table does not list the element: text cleaned of identifiers, dates
 * shifted or emptied, UIDs remapped, URIs removed. An element PS3.6
 * gives one of them but written with another VR escapes that reading.
 */
const JUDGED_VRS: ReadonlySet<string> = new Set([
  ...CLEANED_TEXT_VRS,
  ...TEMPORAL_VRS,
  'UI',
  'UR',
]);

/** The root of every UID the standard itself defines (PS3.5 9.1, PS3.6 A). */
const STANDARD_ROOT = '1.2.840.10008.';

/**
 * True for a UID the standard defines (a SOP class, a transfer syntax,
 * a coding scheme, a well-known frame of reference, ...): the same in
 * every object of every site, so it identifies nothing. A value under the
 * standard's root that is no UID (PS3.5 9.1: `1.2.840.10008.SMITH`) is
 * not one: it may hold anything.
 */
export function isStandardUid(uid: string): boolean {
  return uid.startsWith(STANDARD_ROOT) && isValidUid(uid);
}

/**
 * The PS3.6 keywords of UI elements whose values name a SOP class or a
 * transfer syntax (SOPClassUID, ReferencedSOPClassUID,
 * AvailableTransferSyntaxUID, ...): a definition of how an object is
 * read, the standard's or a vendor's, never a patient's, study's or
 * site's instance. Such values stay, private ones too: SOPClassUID must
 * still equal the file meta's, and a vendor's class names the product,
 * as Manufacturer (kept) does.
 */
const CLASS_KEYWORD = /SOPClass|TransferSyntax/;

/**
 * URIs the table does not list that are kept: parts of a code (PS3.3
 * 8.8, C.12.1.1.x), the coding scheme's address and a code in URN form,
 * which name a published definition, as Code Value and Coding Scheme
 * Designator (kept) do, and are cleaned as codes under Clean
 * Descriptors. Every other URI points at a place (a retrieve URL, a
 * file, a contact): it goes.
 */
const KEPT_URIS: ReadonlySet<number> = new Set([
  0x0008010e, // CodingSchemeURL
  0x00080120, // URNCodeValue
]);

/**
 * What lpacs does with a public element Table E.1-1 does not list (its
 * action is `keep`), which the table would otherwise let through as it
 * is: an element PS3.6 does not define (an even group, not a repeating
 * group of the dictionary) is removed (`X`: unknown content cannot be
 * judged), a person name among them, and a person name of a defined
 * element (VR PN as written, or as PS3.6 gives it) is emptied (`Z`: a
 * name is never research data, whatever attribute holds it). An element
 * PS3.6 gives a VR of JUDGED_VRS (text, a date or time, a UID, a URI)
 * written with a VR that contradicts it (a model name as OB, a date as
 * LO; text VRs among themselves do not contradict) is removed (`X`,
 * `wrongVr`): read by the VR written, its value would escape what its
 * own VR gets. A date or time (DA, DT, TM) the table does not list
 * (Study Update DateTime, Date of Gain Calibration, Expiry Date, ...)
 * follows the lake's Retain Longitudinal Temporal Information: shifted
 * with the patient's other dates under modified dates (`C`: an unshifted
 * date beside shifted ones gives the shift away), kept under full dates,
 * emptied without the option (`Z`, as the table's own dates are). A UID
 * (UI) is remapped with the keyed map (`U`: a reference to another
 * object must follow that object's new UID), each value but one the
 * standard defines (isStandardUid), unless the element names a SOP class
 * or transfer syntax (CLASS_KEYWORD) or Retain UIDs is on. A URI (UR) is
 * removed (`X`), but a code's (KEPT_URIS). Undefined for every other
 * element, which stays. Group lengths and private elements are not
 * asked about.
 */
export function unlistedAction(
  tag: number,
  vr: string,
  longitudinal: DeidOptions['longitudinal'] = 'off',
  retainUIDs = false,
):
  | { action: 'Z'; count: 'unlistedName' }
  | { action: 'X'; count: 'unknownElement' | 'wrongVr' | 'unlistedUri' }
  | { action: 'C' | 'Z'; count: 'unlistedDate' }
  | { action: 'U'; count: 'unlistedUid' }
  | undefined {
  const entry = lookupTag(tag);
  // Unknown first: a name in an element PS3.6 does not define goes too.
  if (!entry) return { action: 'X', count: 'unknownElement' };
  const own = entry[0];
  if (vr === 'PN' || own === 'PN')
    return { action: 'Z', count: 'unlistedName' };
  if (
    vr !== own &&
    JUDGED_VRS.has(own) &&
    !(CLEANED_TEXT_VRS.has(own) && CLEANED_TEXT_VRS.has(vr))
  )
    return { action: 'X', count: 'wrongVr' };
  if (TEMPORAL_VRS.has(vr)) {
    if (longitudinal === 'full') return undefined;
    return {
      action: longitudinal === 'modified' ? 'C' : 'Z',
      count: 'unlistedDate',
    };
  }
  if (vr === 'UI')
    return retainUIDs || CLASS_KEYWORD.test(entry[1])
      ? undefined
      : { action: 'U', count: 'unlistedUid' };
  if (vr === 'UR' && !KEPT_URIS.has(tag))
    return { action: 'X', count: 'unlistedUri' };
  return undefined;
}

/**
 * Resolves a combined code of Table E.1-1 (X/Z, X/D, X/Z/D, Z/D, X/Z/U*)
 * to one action. With the attribute's type in the object's IOD (`type`,
 * from iodTypesFor: top-level attributes of a SOP class the IOD table
 * maps), the code's own rule (PS3.15 E.1.1): X where the type is 3, Z
 * where it is 2 or 2C, D where it is 1 or 1C; X/D gives D on a type 2,
 * X/Z gives Z on a type 1 and Z/D gives Z on a type 3 (neither code has
 * the other choice). On a sequence Z is an empty sequence and D one
 * without items (a dummy item would need the item's content from the
 * IOD). Without a type (an unknown SOP class, an attribute inside a
 * sequence, one the IOD's modules do not list) the choice that conforms
 * whatever the type is: for a value Z for X/Z and D for the others (a
 * type 3 may be present with any valid value), for a sequence X for X/Z,
 * X/D and X/Z/D, Z for Z/D. X/Z/U* (Referenced Image Sequence, Source
 * Image Sequence) keeps the sequence with its UIDs remapped at any type,
 * so references between objects still resolve: conformant for every
 * type, though the profile asks X of a type 3 (docs/deid.md, Action
 * codes).
 */
export function resolve(
  action: ElementAction,
  vr: string,
  type?: IodType,
): ElementAction {
  const sequence = vr === 'SQ';
  if (type) {
    const three = type === '3';
    const two = type === '2' || type === '2C';
    switch (action) {
      case 'X/Z':
        return three ? 'X' : 'Z';
      case 'X/D':
        return three ? 'X' : 'D';
      case 'X/Z/D':
        return three ? 'X' : two ? 'Z' : 'D';
      case 'Z/D':
        return three || two ? 'Z' : 'D';
      case 'X/Z/U*':
        break; // kept with its UIDs remapped whatever the type: see below
      default:
        return action;
    }
  }
  switch (action) {
    case 'X/Z':
    case 'X/D':
    case 'X/Z/D':
      return sequence ? 'X' : action === 'X/Z' ? 'Z' : 'D';
    case 'Z/D':
      return sequence ? 'Z' : 'D';
    case 'X/Z/U*':
      return sequence ? 'keep' : vr === 'UI' ? 'U' : 'Z';
    default:
      return action;
  }
}
