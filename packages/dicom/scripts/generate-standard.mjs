// Generates the data dictionary and the de-identification action table from
// the machine-readable standard in ../standard (PS3.6 and PS3.15 Table E.1-1).
// Run: node packages/dicom/scripts/generate-standard.mjs
// The output is committed; a test checks it is current.
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const standard = join(root, 'standard');
const out = join(root, 'src', 'generated');

const PROVENANCE =
  'DICOM PS3.6 and PS3.15 (edition current in January 2025), extracted by ' +
  'innolitics/dicom-standard commit 7f4749d of 2025-01-28, MIT licence ' +
  '(see packages/dicom/standard/LICENSE.innolitics.txt)';
const OPTION_KEYS = [
  'rtnLongFullDatesOpt',
  'rtnLongModifDatesOpt',
  'cleanDescOpt',
  'rtnUIDsOpt',
  'rtnDevIdOpt',
  'rtnPatCharsOpt',
  'rtnInstIdOpt',
  'cleanGraphOpt',
  'cleanStructContOpt',
  'rtnSafePrivOpt',
];
const ACTIONS = new Set(['X', 'Z', 'D', 'K', 'C', 'U']);
const COMBINED = new Set(['X/Z', 'X/D', 'X/Z/D', 'Z/D', 'X/Z/U*']);

function fail(message) {
  console.error(`generate-standard: ${message}`);
  process.exit(1);
}

/**
 * '(0010,0010)' -> { mask, value } with X digits as wildcards. A group
 * written `ggXX` (50XX, 60XX, 7FXX) is a repeating group: PS3.5 7.6 allows
 * those only in the even groups gg00-gg1E, so its low byte must have bit 0
 * and bits 5-7 clear (mask 0xE1); (6020,0022) or (60FE,1500) is then no
 * element of the dictionary but an unknown public one. Other X digits
 * (0020,31XX), (0028,04X0), (1000,XXX0), (1010,XXXX) are in the element
 * number, which PS3.6 leaves free.
 */
function parseTag(text) {
  const m = /^\(([0-9A-FX]{4}),([0-9A-FX]{4})\)$/i.exec(text.trim());
  if (!m) return undefined;
  const hex = (m[1] + m[2]).toUpperCase();
  let mask = 0;
  let value = 0;
  for (const ch of hex) {
    mask = mask * 16 + (ch === 'X' ? 0 : 15);
    value = value * 16 + (ch === 'X' ? 0 : parseInt(ch, 16));
  }
  if (/^[0-9A-F]{2}XX$/.test(hex.slice(0, 4))) mask += 0xe1 << 16;
  return { mask: mask >>> 0, value: value >>> 0, hex };
}

/** Implicit VR decoding needs one VR; the ambiguous ones pick PS3.5 A.1's. */
function singleVr(vr, hex) {
  if (vr === 'US or SS or OW' || vr === 'US or OW') return 'US';
  if (vr === 'US or SS') return 'US';
  if (vr === 'OB or OW') return hex.startsWith('7FE0') ? 'OW' : 'OB';
  if (/^[A-Z]{2}$/.test(vr)) return vr;
  return undefined;
}

const attributes = JSON.parse(
  readFileSync(join(standard, 'attributes.json'), 'utf8'),
);
const exact = {
  // PS3.6 omits the command group; PS3.7 Table E.1-1 defines these two,
  // which Table E.1-1 of PS3.15 lists.
  '00001000': ['UI', 'AffectedSOPInstanceUID', '1', 0],
  '00001001': ['UI', 'RequestedSOPInstanceUID', '1', 0],
};
const patterns = [];
for (const a of attributes) {
  const tag = parseTag(a.tag);
  if (!tag) fail(`unreadable dictionary tag ${a.tag}`);
  const vr = singleVr(a.valueRepresentation, tag.hex);
  if (!vr) continue; // item and delimitation tags (FFFE,E0xx) carry no VR
  const entry = [vr, a.keyword, a.valueMultiplicity, a.retired === 'Y' ? 1 : 0];
  if (tag.mask === 0xffffffff) exact[tag.hex] = entry;
  else patterns.push([tag.mask, tag.value, ...entry]);
}

const profile = JSON.parse(
  readFileSync(
    join(standard, 'confidentiality_profile_attributes.json'),
    'utf8',
  ),
);
const rules = [];
let privateRule;
for (const row of profile) {
  const check = (code, where) => {
    if (code === undefined) return;
    if (!ACTIONS.has(code) && !COMBINED.has(code))
      fail(`row ${row.tag} ${where}: unknown action ${JSON.stringify(code)}`);
  };
  check(row.basicProfile, 'basicProfile');
  const options = {};
  for (const key of OPTION_KEYS) {
    check(row[key], key);
    if (row[key] !== undefined) options[key] = row[key];
  }
  if (/GGGG,EEEE\) WHERE GGGG IS ODD/i.test(row.tag)) {
    privateRule = { basic: row.basicProfile, options };
    continue;
  }
  const tag = parseTag(row.tag);
  if (!tag) fail(`row ${JSON.stringify(row.tag)}: cannot read its tag`);
  let keyword;
  if (tag.mask === 0xffffffff) keyword = exact[tag.hex]?.[1];
  else
    keyword = patterns.find(
      (p) => p[0] === tag.mask && p[1] === tag.value,
    )?.[3];
  if (keyword === undefined && tag.mask !== 0xffffffff) {
    // (50XX,XXXX) names a whole repeating group: any entry inside resolves it.
    const inside = patterns.some((p) => (p[1] & tag.mask) >>> 0 === tag.value);
    if (inside) keyword = `RepeatingGroup${tag.hex.slice(0, 4)}`;
  }
  if (keyword === undefined)
    fail(`row ${row.tag} (${row.name}) does not resolve in the dictionary`);
  rules.push({
    mask: tag.mask,
    value: tag.value,
    keyword,
    name: row.name,
    inStdIod: row.stdCompIOD === 'Y',
    basic: row.basicProfile,
    options,
  });
}
if (!privateRule) fail('the odd-group (private) row is missing');

const check = process.argv.includes('--check');
/** Writes a generated file, or with --check fails when it differs. */
function emit(path, text) {
  if (!check) return writeFileSync(path, text);
  if (readFileSync(path, 'utf8') !== text)
    fail(
      `${path} is stale: run node packages/dicom/scripts/generate-standard.mjs`,
    );
}

const header = `// Generated by packages/dicom/scripts/generate-standard.mjs: do not edit.\n// Source: ${PROVENANCE}.\n`;
emit(
  join(out, 'dictionary.ts'),
  `${header}import type { DictionaryEntry, DictionaryPattern } from '../types';\n\n` +
    `/** PS3.6 data elements keyed by 8 hex digits: [VR, keyword, VM, retired]. */\n` +
    `export const DICTIONARY: Readonly<Record<string, DictionaryEntry>> = ${JSON.stringify(exact)};\n\n` +
    `/** Repeating-group elements: [mask, value, VR, keyword, VM, retired]. */\n` +
    `export const DICTIONARY_PATTERNS: readonly DictionaryPattern[] = ${JSON.stringify(patterns)};\n`,
);
emit(
  join(out, 'confidentialityProfile.ts'),
  `${header}import type { ProfileRule, ProfileActions } from '../types';\n\n` +
    `/** Where the table comes from, recorded in every de-identified object. */\n` +
    `export const PROFILE_EDITION = ${JSON.stringify(PROVENANCE)};\n\n` +
    `/** PS3.15 Table E.1-1, one rule per row (${rules.length} rows and the private-group row). */\n` +
    `export const PROFILE_RULES: readonly ProfileRule[] = ${JSON.stringify(rules)};\n\n` +
    `/** The row "(gggg,eeee) where gggg is odd": private attributes. */\n` +
    `export const PRIVATE_RULE: ProfileActions = ${JSON.stringify(privateRule)};\n`,
);
console.log(
  `generate-standard: ${check ? 'up to date: ' : ''}${Object.keys(exact).length} elements, ` +
    `${patterns.length} patterns, ${rules.length + 1} profile rows`,
);
