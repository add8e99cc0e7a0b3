import { readString } from '@lpacs/dicom';
import type { DicomElement } from '@lpacs/dicom';

/** A private data element the Retain Safe Private option keeps. */
export interface SafePrivateElement {
  /** Private Creator value of its block, e.g. `SIEMENS MR HEADER`. */
  creator: string;
  /** The odd group, e.g. 0x0019. */
  group: number;
  /**
   * The low byte of the element (xx of (gggg,bbxx)): the same whichever
   * block (bb) the creator was reserved at, PS3.5 7.8.1.
   */
  offset: number;
  /** The vendor's name for it. */
  name: string;
}

/**
 * The safe list: diffusion parameters MR research needs, taken to be rows
 * of PS3.15 Table E.3.10-1 (Exemplary Safe Private Attributes, E.3.10
 * Retain Safe Private Option).
 *
 * TODO: not checked against the standard's table. On 2026-12-04 the
 * reference search reached no row of Table E.3.10-1: neither the current
 * edition (dicom.nema.org/medical/dicom/current/output/chtml/part15/
 * sect_E.3.10.html) nor the PS3.15 2008, 2011 and 2017c PDFs, of which
 * it returned title pages only. So no creator, group, offset or VR was
 * compared with the standard. Vendor dictionaries agree on group, offset
 * and meaning (Siemens 0019 xx0C, 0D, 0E, 27; GE 0043 xx39; Philips 2001
 * xx03 and 2005 xxB0-B2, the last FL in dcm4che's). Until a named edition
 * is checked row by row, with each VR, the list is lpacs's, not the
 * standard's.
 *
 * Deliberately absent: the Siemens CSA headers (0029,xx10 and xx20), which
 * hold the whole protocol as free text where operators type names, and
 * every vendor UID, date or text element.
 */
export const SAFE_PRIVATE: readonly SafePrivateElement[] = [
  {
    creator: 'SIEMENS MR HEADER',
    group: 0x0019,
    offset: 0x0c,
    name: 'B_value',
  },
  {
    creator: 'SIEMENS MR HEADER',
    group: 0x0019,
    offset: 0x0d,
    name: 'DiffusionDirectionality',
  },
  {
    creator: 'SIEMENS MR HEADER',
    group: 0x0019,
    offset: 0x0e,
    name: 'DiffusionGradientDirection',
  },
  {
    creator: 'SIEMENS MR HEADER',
    group: 0x0019,
    offset: 0x27,
    name: 'B_matrix',
  },
  {
    creator: 'GEMS_PARM_01',
    group: 0x0043,
    offset: 0x39,
    name: 'Slop_int_6... slop_int_9 (b-value first)',
  },
  {
    creator: 'Philips Imaging DD 001',
    group: 0x2001,
    offset: 0x03,
    name: 'Diffusion B-Factor',
  },
  {
    creator: 'Philips MR Imaging DD 001',
    group: 0x2005,
    offset: 0xb0,
    name: 'Diffusion Direction RL',
  },
  {
    creator: 'Philips MR Imaging DD 001',
    group: 0x2005,
    offset: 0xb1,
    name: 'Diffusion Direction AP',
  },
  {
    creator: 'Philips MR Imaging DD 001',
    group: 0x2005,
    offset: 0xb2,
    name: 'Diffusion Direction FH',
  },
];

const BY_KEY: ReadonlySet<string> = new Set(
  SAFE_PRIVATE.map((e) => key(e.creator, e.group, e.offset)),
);
const GROUPS: ReadonlySet<number> = new Set(SAFE_PRIVATE.map((e) => e.group));

function key(creator: string, group: number, offset: number): string {
  return `${group}|${offset}|${creator}`;
}

/**
 * The private tags of one data set (or item) that the safe list keeps:
 * its safe elements and the creators of their blocks. Creators are
 * compared after trimming padding; case counts, as in PS3.5 7.8.1.
 */
export function safePrivateTags(
  buf: Buffer,
  elements: readonly DicomElement[],
): Set<number> {
  const kept = new Set<number>();
  const creators = new Map<number, string>();
  for (const el of elements) {
    const group = el.tag >>> 16;
    if ((group & 1) === 0 || !GROUPS.has(group)) continue;
    const element = el.tag & 0xffff;
    if (element >= 0x10 && element <= 0xff) {
      const creator = readString(buf, el)?.trim();
      if (creator) creators.set(el.tag, creator);
      continue;
    }
    if (element < 0x1000) continue;
    const creatorTag = ((group << 16) | (element >>> 8)) >>> 0;
    const creator = creators.get(creatorTag);
    if (creator && BY_KEY.has(key(creator, group, element & 0xff))) {
      kept.add(el.tag);
      kept.add(creatorTag);
    }
  }
  return kept;
}
