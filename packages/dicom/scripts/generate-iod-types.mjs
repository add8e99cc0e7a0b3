// Generates, from GDCM's machine-readable PS3.3 and PS3.4 (Debian's
// libgdcm3.0: /usr/share/gdcm-3.0/XML/Part3.xml and Part4.xml), the type
// (1, 1C, 2, 2C, 3) of every attribute whose Table E.1-1 Basic Profile code
// is combined (X/Z, X/D, X/Z/D, Z/D, X/Z/U*) at the top level of each
// storage IOD, and which SOP Class UID uses which IOD. The de-identifier
// resolves those codes by it (packages/deid/src/actionTable.ts, resolve).
// Run: node packages/dicom/scripts/generate-iod-types.mjs
//   --check   regenerate in memory and fail when the committed file differs
//   --xml DIR read Part3.xml and Part4.xml from DIR instead
// The output (src/generated/iodTypes.json) is committed; a test runs --check
// when the source is installed (libgdcm-tools brings libgdcm3.0).
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const OUT = join(root, 'src', 'generated', 'iodTypes.json');
const args = process.argv.slice(2);
const check = args.includes('--check');
const xmlAt = args.indexOf('--xml');
const XML = xmlAt >= 0 ? args[xmlAt + 1] : '/usr/share/gdcm-3.0/XML';
const PACKAGE = 'libgdcm3.0';
const COMBINED = new Set(['X/Z', 'X/D', 'X/Z/D', 'Z/D', 'X/Z/U*']);
/** Strictest first: the order in which types are compared. */
const TYPES = ['1', '1C', '2', '2C', '3'];

function fail(message) {
  console.error(`generate-iod-types: ${message}`);
  process.exit(1);
}

if (!existsSync(join(XML, 'Part3.xml'))) {
  // The test reads this line to skip with the reason (exit code 2).
  console.log(
    `generate-iod-types: SKIP ${join(XML, 'Part3.xml')} is absent (Debian package ${PACKAGE}, installed with libgdcm-tools by datasets/install-tools.sh)`,
  );
  process.exit(2);
}

const ENTITIES = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };
function decode(text) {
  return text.replace(/&(#x[0-9a-f]+|#\d+|\w+);/gi, (m, e) => {
    if (e[0] === '#')
      return String.fromCodePoint(
        e[1] === 'x' || e[1] === 'X'
          ? parseInt(e.slice(2), 16)
          : parseInt(e.slice(1), 10),
      );
    return ENTITIES[e] ?? m;
  });
}

/** The start and end tags of an XML file, comments and text left out. */
function* tags(xml) {
  const re =
    /<!--[\s\S]*?-->|<\?[\s\S]*?\?>|<(\/?)([\w-]+)((?:\s+[\w:-]+\s*=\s*"[^"]*")*)\s*(\/?)>/g;
  for (const m of xml.matchAll(re)) {
    if (!m[2]) continue;
    const attrs = {};
    for (const a of m[3].matchAll(/([\w:-]+)\s*=\s*"([^"]*)"/g))
      attrs[a[1]] = decode(a[2]);
    yield { close: m[1] === '/', name: m[2], attrs, empty: m[4] === '/' };
  }
}

const part3Text = readFileSync(join(XML, 'Part3.xml'), 'utf8');
const part4Text = readFileSync(join(XML, 'Part4.xml'), 'utf8');
const uidsText = readFileSync(join(XML, 'UIDs.xml'), 'utf8');
const sha256 = (text) => createHash('sha256').update(text).digest('hex');

// --- PS3.3: IOD tables, module and macro tables -------------------------
let edition;
const iods = []; // { table, name, modules: [{ ref, name, usage }] }
const tables = new Map(); // table number -> { name, entries, includes }
const moduleByRef = new Map(); // section (C.7.3.1) -> table
let current;
for (const t of tags(part3Text)) {
  if (t.name === 'tables' && !t.close) edition = t.attrs.edition;
  if (
    (t.name === 'iod' || t.name === 'module' || t.name === 'macro') &&
    t.close
  ) {
    current = undefined;
    continue;
  }
  if (t.name === 'iod' && !t.close) {
    current = {
      kind: 'iod',
      table: t.attrs.table,
      name: t.attrs.name,
      modules: [],
    };
    iods.push(current);
  } else if ((t.name === 'module' || t.name === 'macro') && !t.close) {
    current = {
      kind: t.name,
      table: t.attrs.table,
      name: t.attrs.name,
      entries: [],
      includes: [],
    };
    if (!tables.has(t.attrs.table)) tables.set(t.attrs.table, current);
    if (t.attrs.ref && !moduleByRef.has(t.attrs.ref))
      moduleByRef.set(t.attrs.ref, current);
  } else if (current && t.name === 'entry' && !t.close) {
    if (current.kind === 'iod') {
      current.modules.push({
        ref: t.attrs.ref,
        name: t.attrs.name,
        usage: t.attrs.usage,
      });
    } else if (!t.attrs.name?.startsWith('>')) {
      // Top-level rows only: a name starting with '>' is inside a sequence.
      current.entries.push({
        tag: `${t.attrs.group}${t.attrs.element}`.toUpperCase(),
        name: t.attrs.name,
        type: t.attrs.type,
      });
    }
  } else if (current && current.kind !== 'iod' && t.name === 'include') {
    if (!t.attrs.ref.startsWith('>')) current.includes.push(t.attrs.ref);
  }
}
if (!edition) fail('Part3.xml has no edition');

/** The table an include names: by its table number, else by quoted name. */
function includedTable(ref) {
  const number = /Table\s*([A-Z]?[\d.]+-?[\w.]*?)\.?(?:\)|\s|$)/.exec(ref);
  if (number && tables.has(number[1])) return tables.get(number[1]);
  const quoted = /'\s*([^']+?)\s*'/.exec(ref);
  if (quoted) {
    const want = quoted[1].toLowerCase();
    for (const table of tables.values())
      if (table.name.toLowerCase().startsWith(want)) return table;
  }
  return undefined;
}

// The combined-code attributes of Table E.1-1 (the repository's copy).
const profile = JSON.parse(
  readFileSync(
    join(root, 'standard', 'confidentiality_profile_attributes.json'),
    'utf8',
  ),
);
const combined = new Map(); // 8 hex digits -> code
for (const row of profile) {
  if (!COMBINED.has(row.basicProfile)) continue;
  const m = /^\(([0-9A-F]{4}),([0-9A-F]{4})\)$/i.exec(row.tag);
  if (!m) fail(`combined code on a tag pattern: ${row.tag}`);
  combined.set((m[1] + m[2]).toUpperCase(), row.basicProfile);
}

const unresolvedIncludes = new Set();
const unresolvedModules = new Set();
/** Top-level types of one table and the tables it includes. */
function collect(table, into, seen = new Set()) {
  if (seen.has(table)) return;
  seen.add(table);
  for (const e of table.entries) {
    if (!combined.has(e.tag)) continue;
    if (!TYPES.includes(e.type))
      fail(`${table.table} ${e.name} (${e.tag}): unreadable type ${e.type}`);
    const was = into[e.tag];
    if (was === undefined || TYPES.indexOf(e.type) < TYPES.indexOf(was))
      into[e.tag] = e.type;
  }
  for (const ref of table.includes) {
    const inc = includedTable(ref);
    if (inc) collect(inc, into, seen);
    else unresolvedIncludes.add(`${table.table}: ${ref}`);
  }
}

const normal = (name) =>
  name
    .replace(/\s+IOD Modules$/i, '')
    .replace(/\bStorage\b/i, '')
    .replace(/[-\s]+/g, ' ')
    .trim()
    .toLowerCase();

const iodTypes = {};
const iodByName = new Map();
for (const iod of iods) {
  if (!/^A\./.test(iod.table)) continue; // composite IODs (PS3.3 Annex A)
  const types = {};
  for (const m of iod.modules) {
    const module = moduleByRef.get(m.ref);
    if (!module) {
      unresolvedModules.add(`${iod.table} ${m.name} (${m.ref})`);
      continue;
    }
    collect(module, types);
  }
  const name = iod.name.replace(/\s+IOD Modules$/i, '');
  iodTypes[name] = {
    table: iod.table,
    types: Object.fromEntries(Object.entries(types).sort()),
  };
  iodByName.set(normal(iod.name), name);
}

// --- PS3.4: SOP Class UID -> IOD, by name ---------------------------------
// GDCM's Part4.xml gives names and UIDs but leaves most IOD columns empty;
// these SOP classes are named otherwise than their IOD's table in PS3.3.
const ALIASES = {
  'computed radiography image': 'cr image',
  'ultrasound image': 'us image',
  'ultrasound multi frame image': 'us multi frame image',
  'secondary capture image': 'sc image',
  'multi frame single bit secondary capture image':
    'multi frame single bit sc image',
  'multi frame grayscale byte secondary capture image':
    'multi frame grayscale byte sc image',
  'multi frame grayscale word secondary capture image':
    'multi frame grayscale word sc image',
  'multi frame true color secondary capture image':
    'multi frame true color sc image',
  'digital x ray image for presentation': 'digital x ray image',
  'digital x ray image for processing': 'digital x ray image',
  'digital mammography x ray image for presentation':
    'digital mammography x ray image',
  'digital mammography x ray image for processing':
    'digital mammography x ray image',
  'digital intra oral x ray image for presentation':
    'digital intra oral x ray image',
  'digital intra oral x ray image for processing':
    'digital intra oral x ray image',
  '12 lead ecg waveform': '12 lead ecg',
  'general ecg waveform': 'general ecg',
  'ambulatory ecg waveform': 'ambulatory ecg',
  'hemodynamic waveform': 'hemodynamic',
  'cardiac electrophysiology waveform': 'basic cardiac ep',
  'basic voice audio waveform': 'basic voice audio',
  'enhanced xa image': 'enhanced x ray angiographic image',
  'x ray radiofluoroscopic image': 'xrf image',
  'enhanced xrf image': 'enhanced x ray rf image',
  'nuclear medicine image': 'nm image',
  'positron emission tomography image': 'pet image',
  'key object selection': 'key object selection document',
};
const retired = new Set(
  [...uidsText.matchAll(/<uid value="([\d.]+)"[^>]*retired="true"/g)].map(
    (m) => m[1],
  ),
);
const sopClasses = {};
const unmapped = [];
const part4Standard = part4Text.slice(
  part4Text.indexOf('<standard-sop-classes>'),
);
for (const t of tags(part4Standard)) {
  if (t.name !== 'mapping') continue;
  const uid = t.attrs['sop-class-uid'];
  const name = t.attrs['sop-class-name'];
  if (!/^[\d.]+$/.test(uid) || !/storage/i.test(name)) continue;
  if (sopClasses[uid]) continue;
  const key = normal(name);
  const iod = iodByName.get(ALIASES[key] ?? key);
  if (iod && !retired.has(uid)) sopClasses[uid] = iod;
  else unmapped.push(`${uid} ${name}${retired.has(uid) ? ' (retired)' : ''}`);
}
const mappedIods = new Set(Object.values(sopClasses));
const usedIods = Object.fromEntries(
  Object.entries(iodTypes).filter(([name]) => mappedIods.has(name)),
);

let version = 'unknown';
try {
  version = execFileSync('dpkg-query', ['-W', '-f=${Version}', PACKAGE], {
    encoding: 'utf8',
  }).trim();
} catch {
  // Not Debian: the file's SHA-256 still names the source.
}

const output = {
  source: {
    what: 'GDCM encoding of DICOM PS3.3 (module and IOD tables) and PS3.4 (SOP classes)',
    package: PACKAGE,
    version,
    edition,
    part3: { path: join(XML, 'Part3.xml'), sha256: sha256(part3Text) },
    part4: { path: join(XML, 'Part4.xml'), sha256: sha256(part4Text) },
    uids: { path: join(XML, 'UIDs.xml'), sha256: sha256(uidsText) },
    licence:
      'BSD-3-clause-alike (CREATIS), see packages/dicom/standard/LICENSE.gdcm.txt',
    generator: 'packages/dicom/scripts/generate-iod-types.mjs',
  },
  /** Table E.1-1 rows with a combined Basic Profile code, by tag. */
  combined: Object.fromEntries([...combined].sort()),
  /** Per IOD (PS3.3 Annex A table): the strictest top-level type of each. */
  iods: usedIods,
  sopClasses: Object.fromEntries(Object.entries(sopClasses).sort()),
  unmappedSopClasses: unmapped.sort(),
  unresolvedIncludes: [...unresolvedIncludes].sort(),
  unresolvedModules: [...unresolvedModules].sort(),
};
/** One line per key of an object, its values inline: diffs stay readable. */
function lines(value, indent = '') {
  const inner = Object.entries(value).map(
    ([k, v]) => `${indent} ${JSON.stringify(k)}: ${JSON.stringify(v)}`,
  );
  return `{\n${inner.join(',\n')}\n${indent}}`;
}
const text =
  '{\n' +
  Object.entries(output)
    .map(([k, v]) => {
      const body =
        k === 'iods' || k === 'sopClasses' || k === 'source' || k === 'combined'
          ? lines(v, ' ')
          : Array.isArray(v)
            ? `[\n${v.map((x) => `  ${JSON.stringify(x)}`).join(',\n')}\n ]`
            : JSON.stringify(v);
      return ` ${JSON.stringify(k)}: ${body}`;
    })
    .join(',\n') +
  '\n}\n';
JSON.parse(text); // the output must stay valid JSON
if (check) {
  const committed = existsSync(OUT) ? readFileSync(OUT, 'utf8') : '';
  if (committed !== text) {
    const was = committed ? JSON.parse(committed).source : {};
    fail(
      `${OUT} is stale (committed from ${PACKAGE} ${was.version} Part3.xml ${was.part3?.sha256}, ` +
        `installed ${version} ${output.source.part3.sha256}): run node packages/dicom/scripts/generate-iod-types.mjs`,
    );
  }
} else writeFileSync(OUT, text);
console.log(
  `generate-iod-types: ${check ? 'up to date: ' : ''}${Object.keys(sopClasses).length} SOP classes on ` +
    `${Object.keys(usedIods).length} IODs (edition ${edition}), ${combined.size} combined-code attributes, ` +
    `${unmapped.length} SOP classes unmapped, ${unresolvedIncludes.size} includes and ${unresolvedModules.size} modules unresolved`,
);
