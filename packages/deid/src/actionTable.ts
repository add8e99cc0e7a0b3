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
import type { DeidOptions } from './options';
import { selectedOptions } from './options';

/** What happens to one element; `keep` covers tags the table does not list. */
export type ElementAction = ProfileAction | 'keep';

/** Picks the action of a row under the options in force (K beats C beats basic). */
function effective(
  row: ProfileActions,
  columns: readonly string[],
): ProfileAction {
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
 * What lpacs does with a public element Table E.1-1 does not list (its
 * action is `keep`), which the table would otherwise let through as it
 * is: an element PS3.6 does not define (an even group, not a repeating
 * group of the dictionary) is removed (`X`: unknown content cannot be
 * judged), a person name among them, and a person name of a defined
 * element (VR PN as written, or as PS3.6 gives it) is emptied (`Z`: a
 * name is never research data, whatever attribute holds it). A date or
 * time (DA, DT, TM) the table does not list (Study Update DateTime,
 * Date of Gain Calibration, Expiry Date, ...) follows the lake's
 * Retain Longitudinal Temporal Information: shifted with the patient's
 * other dates under modified dates (`C`: an unshifted date beside
 * shifted ones gives the shift away), kept under full dates, emptied
 * without the option (`Z`, as the table's own dates are).
 * Undefined for every other element, which stays. Group lengths and
 * private elements are not asked about.
 */
export function unlistedAction(
  tag: number,
  vr: string,
  longitudinal: DeidOptions['longitudinal'] = 'off',
):
  | { action: 'Z'; count: 'unlistedName' }
  | { action: 'X'; count: 'unknownElement' }
  | { action: 'C' | 'Z'; count: 'unlistedDate' }
  | undefined {
  const entry = lookupTag(tag);
  // Unknown first: a name in an element PS3.6 does not define goes too.
  if (!entry) return { action: 'X', count: 'unknownElement' };
  if (vr === 'PN' || entry[0] === 'PN')
    return { action: 'Z', count: 'unlistedName' };
  if (TEMPORAL_VRS.has(vr) || (vr === 'UN' && TEMPORAL_VRS.has(entry[0]))) {
    if (longitudinal === 'full') return undefined;
    return {
      action: longitudinal === 'modified' ? 'C' : 'Z',
      count: 'unlistedDate',
    };
  }
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
