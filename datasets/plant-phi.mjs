// Plants a unique marker in every attribute of PS3.15 Table E.1-1 that can
// hold one, at the top level, three sequence levels deep, in private
// blocks (inside sequences too), multi-valued, and under two character
// sets, and writes the files with dcmtk's dump2dcm (a writer independent of
// lpacs). markers.json says which markers must not survive de-identification
// under lpacs's research default, computed from the standard's own table.
//
// node datasets/plant-phi.mjs --out DIR   (--help prints the options)
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const here = dirname(fileURLToPath(import.meta.url));
const standard = join(here, '..', 'packages', 'dicom', 'standard');
const USAGE = `usage: node datasets/plant-phi.mjs --out DIR

Writes 8 DICOM files (dcmtk's dump2dcm) with a unique marker in every
attribute of PS3.15 Table E.1-1 that can hold one: at the top level,
three sequence levels deep, in private blocks, in overlays and curves,
multi-valued, under two character sets, in mislabelled bytes and in
character set terms; and DIR/markers.json, which says for each marker
whether it must vanish under lpacs's research de-identification default.

  --out DIR   where to write (required; made if missing)
  -h, --help  print this text`;
let values;
try {
  ({ values } = parseArgs({
    options: {
      out: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  }));
} catch (err) {
  // parseArgs names the option: "Unknown option '--x'", a missing value.
  console.error(
    `plant-phi: ${err.message.replace(/\. To specify a positional argument.*$/s, '')} (see --help)`,
  );
  process.exit(2);
}
if (values.help) {
  console.log(USAGE);
  process.exit(0);
}
if (!values.out) {
  console.error('plant-phi: --out DIR is required (see --help)');
  process.exit(2);
}
const out = values.out;
mkdirSync(out, { recursive: true });

const profile = JSON.parse(
  readFileSync(join(standard, 'confidentiality_profile_attributes.json')),
);
const dictionary = new Map(
  JSON.parse(readFileSync(join(standard, 'attributes.json'))).map((a) => [
    a.tag,
    a,
  ]),
);
const profileTags = new Set(profile.map((r) => r.tag));

// The research default's option columns (README, "De-identification").
const OPTIONS = ['rtnLongModifDatesOpt', 'rtnPatCharsOpt', 'cleanDescOpt'];
function effective(row) {
  const codes = OPTIONS.map((o) => row[o]).filter(Boolean);
  if (codes.includes('K')) return 'K';
  if (codes.includes('C')) return 'C';
  return row.basicProfile;
}

const PATIENT = 'PHIMKNAME';
let counter = 0;
const markers = [];

/**
 * A searchable value for a VR, or undefined. Dates all fall within 300
 * days: lpacs shifts by at least 366, so a shifted date can never equal
 * another planted one and pass for a leak.
 */
function markerFor(vr, action) {
  const n = String(++counter).padStart(5, '0');
  if (action === 'C' && ['LO', 'SH', 'ST', 'LT', 'UT', 'UC', 'CS'].includes(vr))
    return { value: `CT ${PATIENT} ${vr}`, needle: PATIENT };
  switch (vr) {
    case 'AE':
    case 'CS':
    case 'SH':
    case 'LO':
    case 'ST':
    case 'LT':
    case 'UT':
    case 'UC':
      return { value: `PHIMK${n}`, needle: `PHIMK${n}` };
    case 'PN':
      return { value: `PHIMK${n}^GIVEN`, needle: `PHIMK${n}` };
    case 'UR':
      return { value: `http://phimk${n}.example/`, needle: `phimk${n}` };
    case 'UI':
      return {
        value: `1.2.826.0.1.3680043.999.${n}`,
        needle: `1.2.826.0.1.3680043.999.${n}`,
      };
    case 'DA': {
      const d = new Date(Date.UTC(1931, 0, 1) + (counter % 300) * 86_400_000);
      const v = d.toISOString().slice(0, 10).replace(/-/g, '');
      return { value: v, needle: v };
    }
    case 'DT': {
      const d = new Date(Date.UTC(1931, 0, 1) + (counter % 300) * 86_400_000);
      const v = `${d.toISOString().slice(0, 10).replace(/-/g, '')}101010`;
      return { value: v, needle: v };
    }
    case 'TM':
      return { value: `101010.${n}`, needle: `101010.${n}` };
    case 'DS':
    case 'IS':
      return { value: `8765${n}`, needle: `8765${n}` };
    default:
      return undefined; // binary VRs: nothing searchable to plant
  }
}

/** `(gggg,eeee) VR [value]` in dump2dcm's syntax. */
function line(tag, vr, value, depth) {
  return `${'  '.repeat(depth)}${tag.toLowerCase()} ${vr} [${value}]`;
}

function sequence(tag, items, depth) {
  const pad = '  '.repeat(depth);
  const lines = [
    `${pad}${tag.toLowerCase()} SQ (Sequence with explicit length #=${items.length})`,
  ];
  for (const item of items) {
    lines.push(
      `${pad}  (fffe,e000) na (Item with explicit length #=${item.length})`,
    );
    lines.push(...item);
    lines.push(`${pad}  (fffe,e00d) na (ItemDelimitationItem for re-encoding)`);
  }
  lines.push(`${pad}(fffe,e0dd) na (SequenceDelimitationItem for re-encoding)`);
  return lines;
}

/** Every plantable row of the table as dump lines at a depth, recording markers. */
function plantedLines(file, where, depth) {
  const lines = [];
  for (const row of profile) {
    if (!/^\([0-9A-F]{4},[0-9A-F]{4}\)$/.test(row.tag)) continue;
    if (row.tag.startsWith('(0000') || row.tag.startsWith('(0002')) continue;
    // The patient's name stays the header's, which cleaned text must lose.
    if (row.tag === '(0010,0010)') continue;
    const entry = dictionary.get(row.tag);
    if (!entry) continue;
    const action = effective(row);
    const vr = entry.valueRepresentation;
    if (vr === 'SQ') {
      const m = markerFor('LO', 'X');
      lines.push(
        ...sequence(
          row.tag,
          [[line('(0008,0100)', 'SH', m.value.slice(0, 16), depth + 2)]],
          depth,
        ),
      );
      markers.push({
        file,
        where: `${where} ${row.tag} item`,
        tag: row.tag,
        needle: m.value.slice(0, 16),
        // X/Z/U* sequences are kept for their references (lpacs resolves
        // them so); their items follow their own rules, tested at depth 3.
        mustVanish: !['K', 'C', 'U', 'X/Z/U*'].includes(action),
        action,
      });
      continue;
    }
    if (action === 'K' || (action === 'C' && vr === 'TM')) continue; // kept by design
    const m = markerFor(vr, action);
    if (!m) continue;
    lines.push(line(row.tag, vr, m.value, depth));
    markers.push({
      file,
      where: `${where} ${row.tag}`,
      tag: row.tag,
      needle: m.needle,
      mustVanish: true,
      action,
    });
  }
  lines.push(...unlistedLines(file, where, depth));
  return lines;
}

/**
 * Elements the table does not list that lpacs does not keep as they came
 * (docs/deid.md, "Elements the table does not list"): every UI element but
 * those whose keyword names a SOP class or transfer syntax (remapped),
 * every UR element but a code's, Coding Scheme URL and URN Code Value
 * (removed), and text and a date written as OB, a VR PS3.6 does not
 * give them (removed).
 */
function unlistedLines(file, where, depth) {
  const lines = [];
  const plant = (tag, vr, value, needle, action) => {
    lines.push(
      vr === 'OB'
        ? `${'  '.repeat(depth)}${tag.toLowerCase()} OB ${hexBytes(value)}`
        : line(tag, vr, value, depth),
    );
    markers.push({
      file,
      where: `${where} ${tag} (not in the table)`,
      tag,
      needle,
      mustVanish: true,
      action,
    });
  };
  for (const [tag, entry] of dictionary) {
    if (profileTags.has(tag) || !/^\([0-9A-F]{4},[0-9A-F]{4}\)$/.test(tag))
      continue;
    if (tag.startsWith('(0000') || tag.startsWith('(0002')) continue;
    // Pixel Data Provider URL stands for Pixel Data (PS3.3 C.7.6.3, 1C):
    // removed, it leaves an image without pixels, an error dciodvfy
    // would add to these files.
    if (tag === '(0028,7FE0)') continue;
    const vr = entry.valueRepresentation;
    const kept =
      vr === 'UI'
        ? /SOPClass|TransferSyntax/.test(entry.keyword)
        : ['(0008,010E)', '(0008,0120)'].includes(tag);
    if ((vr !== 'UI' && vr !== 'UR') || kept) continue;
    const m = markerFor(vr, 'U');
    plant(tag, vr, m.value, m.needle, vr === 'UI' ? 'U' : 'X');
  }
  // PS3.6 gives Manufacturer's Model Name and Software Versions LO, Date
  // of Gain Calibration DA.
  for (const [tag, text] of [
    ['(0008,1090)', `SOMATOM ${PATIENT} `],
    ['(0018,1020)', 'VA40A\\'],
    ['(0014,3076)', ''],
  ]) {
    const needle = `PHIMK${String(++counter).padStart(5, '0')}`;
    plant(tag, 'OB', `${text}${needle}`, needle, 'X');
  }
  return lines;
}

/** Bytes of latin1 text in dump2dcm's OB syntax, padded to an even length. */
function hexBytes(text) {
  const bytes = Buffer.from(text.length % 2 ? `${text} ` : text, 'latin1');
  return [...bytes].map((b) => b.toString(16).padStart(2, '0')).join('\\');
}

const BASE = [
  ['(0008,0016)', 'UI', '1.2.840.10008.5.1.4.1.1.7'],
  ['(0008,0060)', 'CS', 'OT'],
  ['(0010,0010)', 'PN', `${PATIENT}^JOHN`],
  ['(0010,0020)', 'LO', 'PHIMKPATIENTID'],
];

/** The base attributes a file needs, minus any tag the planted lines carry. */
function header(sop, charset, skip) {
  const lines = [];
  if (charset) lines.push(line('(0008,0005)', 'CS', charset, 0));
  const base = [
    ...BASE,
    ['(0008,0018)', 'UI', sop],
    ['(0020,000D)', 'UI', `${sop}.1`],
    ['(0020,000E)', 'UI', `${sop}.2`],
  ];
  for (const [tag, vr, value] of base)
    if (!skip.has(tag)) lines.push(line(tag, vr, value, 0));
  return lines;
}

function tagOf(l) {
  return /^\s*(\([0-9a-f]{4},[0-9a-f]{4}\))/.exec(l)?.[1]?.toUpperCase();
}

/** Sorts top-level blocks (a line, or a sequence with its items) by tag. */
function sortTop(lines) {
  const blocks = [];
  for (const l of lines) {
    if (!l.startsWith(' ') && !l.startsWith('(fffe')) blocks.push([l]);
    else blocks.at(-1).push(l);
  }
  blocks.sort((a, b) => (tagOf(a[0]) < tagOf(b[0]) ? -1 : 1));
  const seen = new Set();
  return blocks
    .filter((b) => !seen.has(tagOf(b[0])) && seen.add(tagOf(b[0])))
    .flat();
}

function write(name, lines, encoding = 'latin1') {
  const dump = join(out, `${name}.txt`);
  writeFileSync(dump, lines.join('\n') + '\n', encoding);
  const file = join(out, `${name}.dcm`);
  execFileSync('dump2dcm', ['+te', '-q', '--update-meta-info', dump, file]);
  return file;
}

// 1. Every attribute at the top level.
const top = plantedLines('top', 'top level', 0);
write(
  'top',
  sortTop([...header('2.25.1001', null, new Set(top.map(tagOf))), ...top]),
);

// 2. The same three levels deep inside kept sequences.
const KEEP_SQ = [
  '(0008,1140)',
  '(0008,114A)',
  '(0040,A375)',
  '(0018,9346)',
].filter(
  (t) => !profileTags.has(t) && dictionary.get(t)?.valueRepresentation === 'SQ',
);
if (KEEP_SQ.length < 1) throw new Error('no kept sequence to nest in');
const outer = KEEP_SQ[0];
const inner = plantedLines('nested', 'depth 3', 3);
const nested = sequence(
  outer,
  [sequence(outer, [sequence(outer, [sortNested(inner, 3)], 2)], 1)],
  0,
);
function sortNested(lines, depth) {
  const pad = '  '.repeat(depth);
  const blocks = [];
  for (const l of lines) {
    if (
      l.startsWith(pad) &&
      !l.startsWith(pad + ' ') &&
      !l.trim().startsWith('(fffe')
    )
      blocks.push([l]);
    else blocks.at(-1).push(l);
  }
  blocks.sort((a, b) => (tagOf(a[0]) < tagOf(b[0]) ? -1 : 1));
  const seen = new Set();
  return blocks
    .filter((b) => !seen.has(tagOf(b[0])) && seen.add(tagOf(b[0])))
    .flat();
}
write(
  'nested',
  sortTop([
    ...header('2.25.1002', null, new Set()),
    ...nested.map((l, i) => (i === 0 ? l : l)),
  ]),
);

// 3. Private blocks: creator, values, a private sequence with a private block inside.
const priv = [
  line('(0009,0010)', 'LO', 'PHIMKCREATOR', 0),
  line('(0009,1001)', 'LO', 'PHIMKPRIVATE1', 0),
  line('(0009,1002)', 'SH', 'PHIMKPRIVATE2', 0),
  ...sequence(
    '(0009,1003)',
    [
      [
        line('(0011,0010)', 'LO', 'PHIMKCREATOR2', 2),
        line('(0011,1001)', 'LO', 'PHIMKPRIVATE3', 2),
      ],
    ],
    0,
  ),
  ...sequence(
    outer,
    [
      [
        line('(0013,0010)', 'LO', 'PHIMKCREATOR3', 2),
        line('(0013,1001)', 'LO', 'PHIMKPRIVATE4', 2),
      ],
    ],
    0,
  ),
];
for (const needle of [
  'PHIMKCREATOR',
  'PHIMKPRIVATE1',
  'PHIMKPRIVATE2',
  'PHIMKCREATOR2',
  'PHIMKPRIVATE3',
  'PHIMKCREATOR3',
  'PHIMKPRIVATE4',
])
  markers.push({
    file: 'private',
    where: 'private block',
    tag: 'private',
    needle,
    mustVanish: true,
    action: 'X',
  });
write('private', sortTop([...header('2.25.1003', null, new Set()), ...priv]));

// 4. Multi-valued and accents under ISO_IR 100 (Latin-1 bytes).
const latin = [
  line('(0010,0010)', 'PN', 'MÜLLERPHIMK^JÖRG', 0),
  line('(0010,1000)', 'LO', 'PHIMKOTHER1\\PHIMKOTHER2', 0),
  line('(0008,1048)', 'PN', 'PHIMKDOC1^A\\PHIMKDOC2^B', 0),
];
for (const needle of [
  'MÜLLERPHIMK',
  'PHIMKOTHER1',
  'PHIMKOTHER2',
  'PHIMKDOC1',
  'PHIMKDOC2',
])
  markers.push({
    file: 'latin1',
    where: 'ISO_IR 100',
    tag: 'multi',
    needle,
    mustVanish: true,
    action: 'Z',
    encoding: 'latin1',
  });
write(
  'latin1',
  sortTop([
    ...header('2.25.1004', 'ISO_IR 100', new Set(['(0010,0010)'])),
    ...latin,
  ]),
  'latin1',
);

// 5. UTF-8 under ISO_IR 192.
const utf8 = [
  line('(0010,0010)', 'PN', '张伟PHIMK^王', 0),
  line('(0008,0080)', 'LO', 'Hôpital PHIMKINST', 0),
];
markers.push({
  file: 'utf8',
  where: 'ISO_IR 192',
  tag: '(0010,0010)',
  needle: '张伟PHIMK',
  mustVanish: true,
  action: 'Z',
  encoding: 'utf8',
});
markers.push({
  file: 'utf8',
  where: 'ISO_IR 192',
  tag: '(0008,0080)',
  needle: 'PHIMKINST',
  mustVanish: true,
  action: 'X',
  encoding: 'utf8',
});
write(
  'utf8',
  sortTop([
    ...header('2.25.1005', 'ISO_IR 192', new Set(['(0010,0010)'])),
    ...utf8,
  ]),
  'utf8',
);

// 6. Overlays (60xx) and curves (50xx), whose labels, descriptions,
// comments and bitmaps may all hold text; Table E.1-1 lists Overlay Data,
// Overlay Comments and the curve group (X), and lpacs removes both kinds
// of group whole.
/** Text as OW words in dump2dcm's hex syntax (little-endian byte order). */
function words(text) {
  const bytes = Buffer.from(text.length % 2 ? `${text} ` : text, 'latin1');
  const out = [];
  for (let i = 0; i < bytes.length; i += 2)
    out.push(((bytes[i + 1] << 8) | bytes[i]).toString(16).padStart(4, '0'));
  return out.join('\\');
}
const graphics = [];
for (const [group, kind] of [
  ['6000', 'OVL'],
  ['6002', 'OVL'],
  ['5000', 'CRV'],
]) {
  const plant = (element, vr, text) => {
    const needle = `PHIMK${kind}${group}${element}`;
    const value = text ?? needle;
    graphics.push(
      vr === 'OW'
        ? `(${group.toLowerCase()},${element}) OW ${words(value)}`
        : line(`(${group},${element})`, vr, value, 0),
    );
    markers.push({
      file: 'graphics',
      where: `${kind === 'OVL' ? 'overlay' : 'curve'} group ${group}`,
      tag: `(${group},${element})`,
      needle,
      mustVanish: true,
      action: 'X',
    });
  };
  if (kind === 'OVL') {
    graphics.push(
      line(`(${group},0010)`, 'US', '2', 0),
      line(`(${group},0011)`, 'US', '8', 0),
      line(`(${group},0040)`, 'CS', 'G', 0),
      line(`(${group},0050)`, 'SS', '1\\1', 0),
      line(`(${group},0100)`, 'US', '1', 0),
      line(`(${group},0102)`, 'US', '0', 0),
    );
    plant('0022', 'LO'); // Overlay Description
    plant('1500', 'LO'); // Overlay Label
    plant('4000', 'LT'); // Overlay Comments
    plant('3000', 'OW'); // Overlay Data: the marker's bytes as the bitmap
  } else {
    graphics.push(
      line(`(${group},0005)`, 'US', '1', 0),
      line(`(${group},0010)`, 'US', '8', 0),
      line(`(${group},0020)`, 'CS', 'TAC', 0),
      line(`(${group},0103)`, 'US', '0', 0),
    );
    plant('0022', 'LO'); // Curve Description
    plant('2500', 'LO'); // Curve Label
    plant('3000', 'OW'); // Curve Data
  }
}
// Even groups outside the standard's 00-1E (PS3.5 7.6): no standard
// element is there, but dcmtk's dictionary reads 6000-60FF as overlays
// and a writer may number its overlay or curve so; lpacs removes them as
// the same kind, at the top level and inside a sequence item.
for (const [group, kind] of [
  ['6020', 'OVL'],
  ['60FE', 'OVL'],
  ['5020', 'CRV'],
  ['50FE', 'CRV'],
]) {
  for (const element of ['0022', kind === 'OVL' ? '1500' : '2500']) {
    const needle = `PHIMK${kind}${group}${element}`;
    graphics.push(line(`(${group},${element})`, 'LO', needle, 0));
    markers.push({
      file: 'graphics',
      where: `${kind === 'OVL' ? 'overlay' : 'curve'} group ${group}`,
      tag: `(${group},${element})`,
      needle,
      mustVanish: true,
      action: 'X',
    });
  }
}
const inItem = [];
for (const group of ['6000', '6020', '60FE', '50FE']) {
  const needle = `PHIMKITEM${group}0022`;
  inItem.push(line(`(${group},0022)`, 'LO', needle, 2));
  markers.push({
    file: 'graphics',
    where: `Referenced Image Sequence item, group ${group}`,
    tag: `(0008,1140)[0].(${group},0022)`,
    needle,
    mustVanish: true,
    action: 'X',
  });
}
graphics.push(
  ...sequence(
    '(0008,1140)',
    [
      [
        line('(0008,1150)', 'UI', '1.2.840.10008.5.1.4.1.1.2', 2),
        line('(0008,1155)', 'UI', '2.25.1007', 2),
        ...inItem,
      ],
    ],
    0,
  ),
);
write(
  'graphics',
  sortTop([...header('2.25.1006', null, new Set()), ...graphics]),
);

// 7. Mislabelled text: a name in Latin-1 under ISO_IR 100 that the Study
// Description repeats in UTF-8 bytes, a common mislabelling.
/** UTF-8 bytes as the latin1 characters write() writes them out as. */
const utf8Bytes = (text) => Buffer.from(text, 'utf8').toString('latin1');
markers.push({
  file: 'mislabelled',
  where: 'UTF-8 under ISO_IR 100 (0008,1030)',
  tag: '(0008,1030)',
  needle: 'PHIMKMOJI',
  mustVanish: true,
  action: 'C',
});
write(
  'mislabelled',
  sortTop([
    ...header('2.25.1008', 'ISO_IR 100', new Set(['(0010,0010)'])),
    line('(0008,1030)', 'LO', utf8Bytes('CT DÜRRPHIMKMOJI'), 0),
    line('(0010,0010)', 'PN', 'DÜRRPHIMKMOJI^JÜRGEN', 0),
  ]),
  'latin1',
);

// 8. Specific Character Set values that are no Defined Term of PS3.3
// C.12.1.1.2, at the top level and in an item: text, not a set.
for (const [tag, needle] of [
  ['(0008,0005)', 'PHIMKCHARSET'],
  ['(0008,1140)[0].(0008,0005)', 'PHIMKITEMCS'],
])
  markers.push({
    file: 'charset-terms',
    where: `Specific Character Set ${tag}`,
    tag,
    needle,
    mustVanish: true,
    action: 'keep',
  });
write(
  'charset-terms',
  sortTop([
    ...header('2.25.1009', 'ISO_IR 100\\PHIMKCHARSET', new Set()),
    ...sequence(
      '(0008,1140)',
      [
        [
          line('(0008,0005)', 'CS', 'ISO_IR 192\\PHIMKITEMCS', 2),
          line('(0008,1150)', 'UI', '1.2.840.10008.5.1.4.1.1.2', 2),
          line('(0008,1155)', 'UI', '2.25.1010', 2),
        ],
      ],
      0,
    ),
  ]),
);

for (const file of ['nested', 'private'])
  markers.push({
    file,
    where: 'PatientID',
    tag: '(0010,0020)',
    needle: 'PHIMKPATIENTID',
    mustVanish: true,
    action: 'Z/D',
  });
for (const file of ['top', 'nested', 'private'])
  markers.push({
    file,
    where: 'PatientName',
    tag: '(0010,0010)',
    needle: PATIENT,
    mustVanish: true,
    action: 'Z',
  });
writeFileSync(
  join(out, 'markers.json'),
  JSON.stringify({ markers }, null, 1) + '\n',
);
console.log(
  `plant-phi: ${markers.length} markers (${markers.filter((m) => m.mustVanish).length} must vanish) in ${new Set(markers.map((m) => m.file)).size} files under ${out}`,
);
