#!/usr/bin/env node
// Generates a synthetic multi-patient CT corpus with realistic, planted PHI.
// Files are written by dcmtk's dump2dcm (an independent DICOM writer), so
// lpacs is tested against bytes it did not produce itself. Everything is
// deterministic from the options: same arguments, same bytes.
//
// Usage: node datasets/generate-ct.mjs --out DIR [--patients 4] [--studies 2]
//   [--series 2] [--slices 25] [--size 448] [--seed 1] [--jobs 2] [--force]
//   (--help prints the options)
//
// DIR/truth.json lists every planted PHI value, every UID and the totals.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { endianness, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { parseArgs } from 'node:util';

const run = promisify(execFile);

const CT_IMAGE_STORAGE = '1.2.840.10008.5.1.4.1.1.2';
const EXPLICIT_VR_LE = '1.2.840.10008.1.2.1';
const PRIVATE_CREATOR = 'LPACS TEST';

const FAMILY_NAMES = [
  'DOE', 'SMITH', 'JOHNSON', 'WILLIAMS', 'BROWN', 'GARCIA', 'MILLER',
  'DAVIS', 'RODRIGUEZ', 'MARTINEZ', 'HERNANDEZ', 'LOPEZ', 'GONZALEZ',
  'WILSON', 'ANDERSON', 'THOMPSON', 'MOORE', 'JACKSON', 'MARTIN', 'PEREZ',
  'WHITE', 'HARRIS', 'SANCHEZ', 'CLARK', 'RAMIREZ', 'LEWIS', 'ROBINSON',
  'WALKER', 'YOUNG', 'ALLEN', 'WRIGHT', 'TORRES', 'NGUYEN', 'FLORES',
  'GREEN', 'ADAMS', 'NELSON', 'BAKER', 'RIVERA', 'CAMPBELL', 'MITCHELL',
  'CARTER', 'ROBERTS', "O'BRIEN", 'VAN DER BERG', 'KOWALSKI', 'OKONKWO',
]; // prettier-ignore
const GIVEN_NAMES = {
  F: [
    'JANE', 'MARY', 'PATRICIA', 'JENNIFER', 'LINDA', 'ELIZABETH', 'BARBARA',
    'SUSAN', 'JESSICA', 'SARAH', 'KAREN', 'NANCY', 'MARGARET', 'SANDRA',
    'ASHLEY', 'EMILY', 'DONNA', 'MICHELLE', 'CAROL', 'AMANDA', 'MELISSA',
  ],
  M: [
    'JOHN', 'ROBERT', 'MICHAEL', 'WILLIAM', 'DAVID', 'RICHARD', 'JOSEPH',
    'THOMAS', 'CHARLES', 'CHRISTOPHER', 'DANIEL', 'MATTHEW', 'ANTHONY',
    'MARK', 'DONALD', 'STEVEN', 'PAUL', 'ANDREW', 'KENNETH', 'KEVIN', 'GEORGE',
  ],
}; // prettier-ignore
const PHYSICIANS = [
  'PATEL^ANIL^K^^MD', 'CHEN^LI^^^MD', 'OKAFOR^CHIDI^^DR', 'NOVAK^PETRA^^^MD',
  'SCHMIDT^HANS^J^^MD', 'RAMOS^ELENA^^DR', 'WEBER^KARL^^^MD',
  'IVANOVA^OLGA^M^^MD', 'FITZGERALD^SEAN^^DR', 'TANAKA^YUKI^^^MD',
]; // prettier-ignore
const TECHNOLOGISTS = [
  'KIM^SOO-JIN', 'BAKER^TOM', 'LINDQVIST^ANNA', 'MENSAH^KOFI', 'ROSSI^LUCA',
  'DUBOIS^CLAIRE', 'SINGH^PRIYA', 'MORALES^DIEGO',
]; // prettier-ignore
const INSTITUTIONS = [
  {
    name: 'LAKESIDE MEMORIAL HOSPITAL',
    address: '1200 HARBOR VIEW RD, SPRINGFIELD, IL 62704',
    station: 'LMH-CT01',
  },
  {
    name: 'NORTHGATE UNIVERSITY MEDICAL CENTER',
    address: '45 COLLEGE AVE, FAIRVIEW, OH 44126',
    station: 'NUMC_CT2',
  },
  {
    name: 'RIVERBEND COMMUNITY HOSPITAL',
    address: '8 MILL STREET, RIVERBEND, OR 97401',
    station: 'RCH-SCAN-A',
  },
  {
    name: 'ST. ELSEWHERE GENERAL HOSPITAL',
    address: '300 LONGWOOD BLVD, BOSTON, MA 02115',
    station: 'SEGH_CT_ER',
  },
];
const SCANNERS = [
  {
    manufacturer: 'SIEMENS',
    model: 'SOMATOM Definition AS+',
    software: 'syngo CT VA48A',
    kernel: 'I30f',
  },
  {
    manufacturer: 'GE MEDICAL SYSTEMS',
    model: 'LightSpeed VCT',
    software: 'LightSpeedverrel',
    kernel: 'STANDARD',
  },
  {
    manufacturer: 'Philips',
    model: 'Brilliance 64',
    software: '4.1.6',
    kernel: 'B',
  },
  {
    manufacturer: 'TOSHIBA',
    model: 'Aquilion ONE',
    software: 'V6.00ER005',
    kernel: 'FC08',
  },
];
const variant = (description, thickness, center, width) => ({
  description,
  thickness,
  window: [center, width],
});
// Per body part: field of view (mm), study description and series variants.
const PROTOCOLS = {
  CHEST: {
    fov: 360,
    description: 'CT CHEST W/O CONTRAST',
    series: [
      variant('AXIAL 5MM SOFT TISSUE', 5, 40, 400),
      variant('AXIAL 1.25MM LUNG', 1.25, -600, 1500),
      variant('AXIAL 2.5MM MEDIASTINUM', 2.5, 50, 350),
    ],
  },
  ABDOMEN: {
    fov: 380,
    description: 'CT ABDOMEN PELVIS W CONTRAST',
    series: [
      variant('AXIAL 5MM PORTAL VENOUS', 5, 60, 400),
      variant('AXIAL 2.5MM ARTERIAL', 2.5, 60, 400),
      variant('AXIAL 3MM DELAYED', 3, 40, 350),
    ],
  },
  HEAD: {
    fov: 240,
    description: 'CT HEAD W/O CONTRAST',
    series: [
      variant('AXIAL 5MM BRAIN', 5, 40, 80),
      variant('AXIAL 2.5MM BONE', 2.5, 500, 2500),
      variant('AXIAL 5MM STROKE', 5, 35, 40),
    ],
  },
};
const BODY_PARTS = Object.keys(PROTOCOLS);
// Part of the up-to-date check, so editing this script regenerates corpora.
const SCRIPT_HASH = createHash('sha256')
  .update(readFileSync(fileURLToPath(import.meta.url)))
  .digest('hex')
  .slice(0, 16);

// ---------------------------------------------------------------- randomness

function seedFrom(...parts) {
  return createHash('sha256').update(parts.join(':')).digest().readUInt32LE(0);
}

// mulberry32: tiny, fast and good enough for test data.
function makeRng(seed) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  next.int = (min, max) => min + Math.floor(next() * (max - min + 1));
  next.pick = (list) => list[Math.floor(next() * list.length)];
  return next;
}

// A 2.25 UID is the decimal form of a UUID; we derive a version-4 shaped UUID
// from a hash so the corpus is reproducible. Always <= 44 characters.
function uid(...parts) {
  const bytes = createHash('sha256').update(parts.join(':')).digest();
  bytes[6] = (bytes[6] & 0x0f) | 0x40;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  const hex = bytes.subarray(0, 16).toString('hex');
  return `2.25.${BigInt(`0x${hex}`).toString()}`;
}

// ---------------------------------------------------------------- formatting

const pad = (n, width) => String(n).padStart(width, '0');

function dicomDate(date) {
  return `${date.getUTCFullYear()}${pad(date.getUTCMonth() + 1, 2)}${pad(
    date.getUTCDate(),
    2,
  )}`;
}

function dicomTime(seconds) {
  const whole = Math.floor(seconds);
  const h = Math.floor(whole / 3600) % 24;
  const m = Math.floor(whole / 60) % 60;
  const frac = Math.round((seconds - whole) * 1000);
  return `${pad(h, 2)}${pad(m, 2)}${pad(whole % 60, 2)}.${pad(frac, 3)}`;
}

function ds(value) {
  return String(Number(value.toFixed(6)));
}

function ageAt(birth, date) {
  let years = date.getUTCFullYear() - birth.getUTCFullYear();
  const before =
    date.getUTCMonth() < birth.getUTCMonth() ||
    (date.getUTCMonth() === birth.getUTCMonth() &&
      date.getUTCDate() < birth.getUTCDate());
  if (before) years -= 1;
  return `${pad(years, 3)}Y`;
}

function randomDate(rng, fromYear, toYear) {
  const from = Date.UTC(fromYear, 0, 1);
  const to = Date.UTC(toYear, 11, 31);
  const day = 86400000;
  return new Date(from + Math.floor(rng() * ((to - from) / day)) * day);
}

// ---------------------------------------------------------------- the corpus

function uniqueDraw(rng, taken, draw) {
  for (;;) {
    const value = draw(rng);
    if (!taken.has(value)) {
      taken.add(value);
      return value;
    }
  }
}

function makePatient(opts, index, taken) {
  const rng = makeRng(seedFrom(opts.seed, 'patient', index));
  const sex = rng() < 0.5 ? 'F' : 'M';
  const patientName = uniqueDraw(rng, taken.names, (r) => {
    const middle = String.fromCharCode(65 + r.int(0, 25));
    return `${r.pick(FAMILY_NAMES)}^${r.pick(GIVEN_NAMES[sex])}^${middle}`;
  });
  const patientId = uniqueDraw(
    rng,
    taken.ids,
    (r) => `MRN${pad(r.int(0, 9999999), 7)}`,
  );
  const birth = randomDate(rng, 1938, 2002);
  const studyDates = Array.from({ length: opts.studies }, () =>
    randomDate(rng, 2018, 2024),
  ).sort((a, b) => a - b);
  return {
    patientName,
    patientId,
    patientBirthDate: dicomDate(birth),
    patientSex: sex,
    weightKg: rng.int(45, 120),
    studies: studyDates.map((date, st) =>
      makeStudy(opts, { index, birth, rng, taken }, st, date),
    ),
  };
}

function makeStudy(opts, patient, st, date) {
  const { index, birth, rng, taken } = patient;
  const bodyPart = BODY_PARTS[(index * opts.studies + st) % BODY_PARTS.length];
  const site = (index + st) % INSTITUTIONS.length;
  const institution = INSTITUTIONS[site];
  const model = (site + index) % SCANNERS.length;
  const scanner = SCANNERS[model];
  const startSeconds = rng.int(7 * 3600, 19 * 3600);
  const key = [opts.key, index, st];
  return {
    studyInstanceUID: uid(...key, 'study'),
    frameOfReferenceUID: uid(...key, 'frame'),
    studyDate: dicomDate(date),
    studyTime: dicomTime(startSeconds),
    startSeconds,
    patientAge: ageAt(birth, date),
    accessionNumber: uniqueDraw(
      rng,
      taken.accessions,
      (r) => `A${pad(r.int(0, 99999999), 8)}`,
    ),
    studyId: String(rng.int(1000, 99999)),
    requestedProcedureId: `RP${pad(rng.int(0, 999999), 6)}`,
    studyDescription: PROTOCOLS[bodyPart].description,
    bodyPartExamined: bodyPart,
    institutionName: institution.name,
    institutionAddress: institution.address,
    stationName: institution.station,
    deviceSerialNumber: `SN${100000 + site * 7919 + model * 613}`,
    manufacturer: scanner.manufacturer,
    manufacturerModelName: scanner.model,
    softwareVersions: scanner.software,
    convolutionKernel: scanner.kernel,
    referringPhysicianName: rng.pick(PHYSICIANS),
    performingPhysicianName: rng.pick(PHYSICIANS),
    operatorsName: rng.pick(TECHNOLOGISTS),
    series: Array.from({ length: opts.series }, (_, se) =>
      makeSeries(opts, key, bodyPart, se, { date, startSeconds }),
    ),
  };
}

function makeSeries(opts, studyKey, bodyPart, se, start) {
  const variants = PROTOCOLS[bodyPart].series;
  const variant = variants[se % variants.length];
  return {
    seriesInstanceUID: uid(...studyKey, se, 'series'),
    seriesNumber: se + 2,
    seriesDate: dicomDate(start.date),
    seriesTime: dicomTime(start.startSeconds + (se + 2) * 60),
    seriesDescription: variant.description,
    sliceThickness: variant.thickness,
    windowCenter: variant.window[0],
    windowWidth: variant.window[1],
    instances: Array.from({ length: opts.slices }, (_, i) => ({
      sopInstanceUID: uid(...studyKey, se, i, 'instance'),
      instanceNumber: i + 1,
      path: [
        `P${pad(studyKey[1] + 1, 4)}`,
        `ST${pad(studyKey[2] + 1, 2)}`,
        `SE${pad(se + 1, 2)}`,
        `CT${pad(i + 1, 6)}.dcm`,
      ].join('/'),
    })),
  };
}

function buildCorpus(opts) {
  const taken = {
    names: new Set(),
    ids: new Set(),
    accessions: new Set(),
  };
  return Array.from({ length: opts.patients }, (_, p) =>
    makePatient(opts, p, taken),
  );
}

// ---------------------------------------------------------------- pixels

// Ellipses in phantom units (-1..1 across the field of view), painted in
// order; z is 0..1 through the series so anatomy changes slice to slice.
function phantomShapes(bodyPart, z) {
  const bulge = Math.sin(Math.PI * (0.15 + 0.7 * z));
  if (bodyPart === 'HEAD') {
    const r = 0.5 + 0.2 * bulge;
    return [
      { cx: 0, cy: 0, rx: r, ry: r * 1.15, hu: 900 },
      { cx: 0, cy: 0, rx: r - 0.05, ry: r * 1.15 - 0.05, hu: 35 },
      { cx: -0.08, cy: 0, rx: 0.05 * bulge, ry: 0.18 * bulge, hu: 5 },
      { cx: 0.08, cy: 0, rx: 0.05 * bulge, ry: 0.18 * bulge, hu: 5 },
    ];
  }
  if (bodyPart === 'CHEST') {
    const lung = 0.2 + 0.1 * bulge;
    return [
      { cx: 0, cy: 0, rx: 0.85, ry: 0.6, hu: -90 },
      { cx: 0, cy: 0, rx: 0.8, ry: 0.55, hu: 40 },
      { cx: -0.38, cy: -0.05, rx: lung, ry: lung * 1.3, hu: -850 },
      { cx: 0.38, cy: -0.05, rx: lung, ry: lung * 1.3, hu: -850 },
      { cx: 0.05, cy: -0.1, rx: 0.18, ry: 0.16, hu: 45 },
      { cx: 0, cy: 0.42, rx: 0.08, ry: 0.07, hu: 700 },
    ];
  }
  return [
    { cx: 0, cy: 0, rx: 0.9, ry: 0.65, hu: -100 },
    { cx: 0, cy: 0, rx: 0.82, ry: 0.58, hu: 35 },
    { cx: -0.35, cy: -0.1, rx: 0.3 * bulge + 0.05, ry: 0.25, hu: 60 },
    { cx: -0.3, cy: 0.3, rx: 0.08, ry: 0.12, hu: 150 },
    { cx: 0.3, cy: 0.3, rx: 0.08, ry: 0.12, hu: 150 },
    { cx: 0, cy: 0.42, rx: 0.09, ry: 0.08, hu: 700 },
    { cx: 0.3, cy: -0.2, rx: 0.12, ry: 0.1, hu: -400 },
  ];
}

function paintEllipse(hu, size, shape) {
  const half = size / 2;
  for (let y = 0; y < size; y += 1) {
    const dy = ((y + 0.5) / half - 1 - shape.cy) / shape.ry;
    if (dy <= -1 || dy >= 1) continue;
    const span = shape.rx * Math.sqrt(1 - dy * dy);
    const x0 = Math.max(0, Math.ceil((shape.cx - span + 1) * half - 0.5));
    const x1 = Math.min(
      size - 1,
      Math.floor((shape.cx + span + 1) * half - 0.5),
    );
    if (x1 >= x0) hu.fill(shape.hu, y * size + x0, y * size + x1 + 1);
  }
}

const NOISE_BITS = 20;
let noiseTable;

// Drawing two randoms per pixel made pixel synthesis the bottleneck; walking
// a shared table from a per-file start and odd stride is ~10x cheaper and
// still gives every file distinct pixel data.
function noise() {
  if (!noiseTable) {
    const rng = makeRng(seedFrom('noise'));
    noiseTable = new Int16Array(1 << NOISE_BITS);
    for (let i = 0; i < noiseTable.length; i += 1) {
      noiseTable[i] = Math.round((rng() + rng() - 1) * 30);
    }
  }
  return noiseTable;
}

// Stored values are HU + 1024 (RescaleIntercept -1024), clamped to 12 bits.
function renderSlice(size, bodyPart, z, seed) {
  const hu = new Int16Array(size * size).fill(-1000);
  for (const shape of phantomShapes(bodyPart, z)) {
    paintEllipse(hu, size, shape);
  }
  const table = noise();
  const mask = table.length - 1;
  const rng = makeRng(seed);
  let at = rng.int(0, mask);
  const stride = rng.int(0, mask >> 1) * 2 + 1;
  const stored = new Uint16Array(size * size);
  for (let i = 0; i < stored.length; i += 1) {
    const value = hu[i] + 1024 + table[at];
    stored[i] = value < 0 ? 0 : value > 4095 ? 4095 : value;
    at = (at + stride) & mask;
  }
  return Buffer.from(stored.buffer);
}

// ---------------------------------------------------------------- dumps

function el(tag, vr, value) {
  if (value === undefined || value === '') {
    return `(${tag}) ${vr} (no value available)`;
  }
  if (vr === 'US') return `(${tag}) ${vr} ${value}`;
  if (String(value).includes(']')) throw new Error(`bad value ${value}`);
  return `(${tag}) ${vr} [${value}]`;
}

function patientLines(pt) {
  return [
    el('0008,0005', 'CS', 'ISO_IR 100'),
    el('0010,0010', 'PN', pt.patientName),
    el('0010,0020', 'LO', pt.patientId),
    el('0010,0030', 'DA', pt.patientBirthDate),
    el('0010,0040', 'CS', pt.patientSex),
    el('0010,1030', 'DS', pt.weightKg),
  ];
}

function studyLines(study) {
  return [
    el('0008,0020', 'DA', study.studyDate),
    el('0008,0030', 'TM', study.studyTime),
    el('0008,0050', 'SH', study.accessionNumber),
    el('0008,0060', 'CS', 'CT'),
    el('0008,0070', 'LO', study.manufacturer),
    el('0008,0080', 'LO', study.institutionName),
    el('0008,0081', 'ST', study.institutionAddress),
    el('0008,0090', 'PN', study.referringPhysicianName),
    el('0008,1010', 'SH', study.stationName),
    el('0008,1030', 'LO', study.studyDescription),
    el('0008,1040', 'LO', 'RADIOLOGY'),
    el('0008,1050', 'PN', study.performingPhysicianName),
    el('0008,1070', 'PN', study.operatorsName),
    el('0008,1090', 'LO', study.manufacturerModelName),
    el('0010,1010', 'AS', study.patientAge),
    el('0018,0015', 'CS', study.bodyPartExamined),
    el('0018,0060', 'DS', 120),
    el('0018,1000', 'LO', study.deviceSerialNumber),
    el('0018,1020', 'LO', study.softwareVersions),
    el('0018,1210', 'SH', study.convolutionKernel),
    el('0018,5100', 'CS', 'HFS'),
    el('0020,000d', 'UI', study.studyInstanceUID),
    el('0020,0010', 'SH', study.studyId),
    el('0020,0052', 'UI', study.frameOfReferenceUID),
    el('0020,1040', 'LO', ''),
  ];
}

function requestLines(study) {
  return [
    '(0040,0275) SQ (Sequence with explicit length #=1)',
    '  (fffe,e000) na (Item with explicit length #=3)',
    `    ${el('0008,0050', 'SH', study.accessionNumber)}`,
    `    ${el('0040,0009', 'SH', `SPS${study.studyId}`)}`,
    `    ${el('0040,1001', 'SH', study.requestedProcedureId)}`,
    '  (fffe,e00d) na (ItemDelimitationItem for re-encoding)',
    '(fffe,e0dd) na (SequenceDelimitationItem for re-encoding)',
  ];
}

function seriesLines(series, opts, fov) {
  const spacing = fov / opts.size;
  return [
    el('0008,0021', 'DA', series.seriesDate),
    el('0008,0031', 'TM', series.seriesTime),
    el('0008,103e', 'LO', series.seriesDescription),
    el('0018,0050', 'DS', ds(series.sliceThickness)),
    el('0020,000e', 'UI', series.seriesInstanceUID),
    el('0020,0011', 'IS', series.seriesNumber),
    el('0020,0037', 'DS', '1\\0\\0\\0\\1\\0'),
    el('0028,0002', 'US', 1),
    el('0028,0004', 'CS', 'MONOCHROME2'),
    el('0028,0010', 'US', opts.size),
    el('0028,0011', 'US', opts.size),
    el('0028,0030', 'DS', `${ds(spacing)}\\${ds(spacing)}`),
    el('0028,0100', 'US', 16),
    el('0028,0101', 'US', 12),
    el('0028,0102', 'US', 11),
    el('0028,0103', 'US', 0),
    el('0028,1050', 'DS', series.windowCenter),
    el('0028,1051', 'DS', series.windowWidth),
    el('0028,1052', 'DS', -1024),
    el('0028,1053', 'DS', 1),
    el('0028,1054', 'LO', 'HU'),
  ];
}

function instanceLines(ctx, instance, z, pixelFile) {
  const { pt, study, series } = ctx;
  const seconds =
    study.startSeconds + series.seriesNumber * 60 + instance.instanceNumber / 2;
  return [
    el('0008,0008', 'CS', 'ORIGINAL\\PRIMARY\\AXIAL'),
    el('0008,0012', 'DA', study.studyDate),
    el('0008,0013', 'TM', dicomTime(seconds)),
    el('0008,0016', 'UI', CT_IMAGE_STORAGE),
    el('0008,0018', 'UI', instance.sopInstanceUID),
    el('0008,0022', 'DA', study.studyDate),
    el('0008,0023', 'DA', study.studyDate),
    el('0008,0032', 'TM', dicomTime(seconds - 0.25)),
    el('0008,0033', 'TM', dicomTime(seconds)),
    el('0020,0012', 'IS', 1),
    el('0020,0013', 'IS', instance.instanceNumber),
    ...ctx.patientLines,
    ...ctx.studyLines,
    ...ctx.seriesLines,
    el('0020,0032', 'DS', `${ctx.origin}\\${ctx.origin}\\${ds(z)}`),
    el('0020,1041', 'DS', ds(z)),
    el('0029,0010', 'LO', PRIVATE_CREATOR),
    el('0029,1010', 'LO', pt.patientId),
    ...ctx.requestLines,
    `(7fe0,0010) OW =${pixelFile}`,
  ];
}

// ---------------------------------------------------------------- writing

async function runPool(tasks, jobs) {
  let next = 0;
  const worker = async () => {
    while (next < tasks.length) {
      const task = tasks[next];
      next += 1;
      await task();
    }
  };
  await Promise.all(Array.from({ length: jobs }, worker));
}

function progress(total) {
  let done = 0;
  let shown = 0;
  const step = Math.max(1, Math.ceil(total / 10));
  return () => {
    done += 1;
    if (done - shown >= step || done === total) {
      shown = done;
      process.stderr.write(`generate-ct: ${done}/${total} files\n`);
    }
  };
}

// One context per series: the dump lines shared by all of its instances.
function seriesContexts(opts, corpus) {
  return corpus.flatMap((pt) => {
    const ptLines = patientLines(pt);
    return pt.studies.flatMap((study) => {
      const fov = PROTOCOLS[study.bodyPartExamined].fov;
      const shared = {
        pt,
        study,
        patientLines: ptLines,
        studyLines: studyLines(study),
        requestLines: requestLines(study),
        origin: ds(-fov / 2 + fov / opts.size / 2),
      };
      return study.series.map((series) => ({
        ...shared,
        series,
        seriesLines: seriesLines(series, opts, fov),
      }));
    });
  });
}

async function writeInstance(opts, ctx, instance, workDir) {
  const i = instance.instanceNumber - 1;
  const z = -i * ctx.series.sliceThickness;
  const stem = join(workDir, instance.path.replaceAll('/', '_'));
  const pixels = renderSlice(
    opts.size,
    ctx.study.bodyPartExamined,
    opts.slices > 1 ? i / (opts.slices - 1) : 0.5,
    seedFrom(opts.key, instance.sopInstanceUID),
  );
  const lines = instanceLines(ctx, instance, z, `${stem}.raw`);
  writeFileSync(`${stem}.raw`, pixels);
  writeFileSync(`${stem}.dump`, `${lines.join('\n')}\n`);
  const out = join(opts.out, instance.path);
  mkdirSync(dirname(out), { recursive: true });
  // Typed arrays use host byte order; dump2dcm must be told if that is big.
  const order = endianness() === 'BE' ? ['+rb'] : [];
  await dump2dcm([...order, `${stem}.dump`, out]);
  rmSync(`${stem}.raw`);
  rmSync(`${stem}.dump`);
}

function instanceTasks(opts, corpus, workDir, onDone) {
  return seriesContexts(opts, corpus).flatMap((ctx) =>
    ctx.series.instances.map((instance) => async () => {
      await writeInstance(opts, ctx, instance, workDir);
      onDone();
    }),
  );
}

async function dump2dcm(args) {
  try {
    // +te: explicit VR little endian with a file meta header; -E (default)
    // refuses to write anything from a damaged dump.
    const { stderr } = await run('dump2dcm', ['+te', ...args]);
    if (stderr.trim()) process.stderr.write(stderr);
  } catch (err) {
    if (err.code === 'ENOENT') {
      throw new Error('dump2dcm not found: run datasets/install-tools.sh');
    }
    throw new Error(`dump2dcm ${args.join(' ')} failed: ${err.stderr ?? err}`);
  }
}

// ---------------------------------------------------------------- truth

function phiStrings(corpus) {
  const values = new Set();
  for (const pt of corpus) {
    values.add(pt.patientName).add(pt.patientId);
    for (const s of pt.studies) {
      for (const key of [
        'accessionNumber',
        'requestedProcedureId',
        'institutionName',
        'institutionAddress',
        'referringPhysicianName',
        'performingPhysicianName',
        'operatorsName',
        'stationName',
        'deviceSerialNumber',
      ]) {
        values.add(s[key]);
      }
    }
  }
  return [...values];
}

function phiDates(corpus) {
  const values = new Set();
  for (const pt of corpus) {
    values.add(pt.patientBirthDate);
    for (const s of pt.studies) values.add(s.studyDate);
  }
  return [...values];
}

function totals(corpus) {
  const studies = corpus.flatMap((pt) => pt.studies);
  const series = studies.flatMap((s) => s.series);
  return {
    patients: corpus.length,
    studies: studies.length,
    series: series.length,
    instances: series.reduce((n, se) => n + se.instances.length, 0),
  };
}

function truthDoc(opts, corpus, bytes) {
  return {
    generator: 'datasets/generate-ct.mjs',
    scriptHash: SCRIPT_HASH,
    options: opts.content,
    sopClassUID: CT_IMAGE_STORAGE,
    transferSyntaxUID: EXPLICIT_VR_LE,
    privateCreator: PRIVATE_CREATOR,
    totals: { ...totals(corpus), bytes },
    phiStrings: phiStrings(corpus),
    phiDates: phiDates(corpus),
    patients: corpus,
  };
}

// ---------------------------------------------------------------- main

const USAGE = `usage: node datasets/generate-ct.mjs --out DIR [options]

Writes a synthetic CT corpus with planted PHI (dcmtk's dump2dcm), and
DIR/truth.json with every planted value, UID and the totals. The same
options give the same bytes; a DIR already holding them is left as is.

  --out DIR        where to write (required)
  --patients N     patients (default 4)
  --studies N      studies per patient (default 2)
  --series N       series per study (default 2)
  --slices N       slices per series (default 25)
  --size N         rows and columns, 64 to 2048 (default 448)
  --seed N         seed of every random choice, 0 or more (default 1)
  --jobs N         dump2dcm processes at once (default 2)
  --force          write again even if DIR holds this corpus
  -h, --help       print this text`;

/** A mistake in the command line: the message and the exit code 2. */
class UsageError extends Error {}

function parseOptions() {
  const int = (fallback) => ({ type: 'string', default: fallback });
  let values;
  try {
    ({ values } = parseArgs({
      options: {
        out: { type: 'string' },
        patients: int('4'),
        studies: int('2'),
        series: int('2'),
        slices: int('25'),
        size: int('448'),
        seed: int('1'),
        jobs: int('2'),
        force: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    }));
  } catch (err) {
    // parseArgs names the option ("Unknown option '--x'", "Option '--out
    // <value>' argument missing", an unexpected argument).
    throw new UsageError(
      `${err.message.replace(/\. To specify a positional argument.*$/s, '')} (see --help)`,
    );
  }
  if (values.help) return { help: true };
  if (!values.out) throw new UsageError('--out DIR is required (see --help)');
  const opts = { out: resolve(values.out), force: values.force };
  for (const name of [
    'patients',
    'studies',
    'series',
    'slices',
    'size',
    'seed',
    'jobs',
  ]) {
    const n = Number(values[name]);
    if (!Number.isInteger(n) || n < (name === 'seed' ? 0 : 1)) {
      throw new UsageError(
        `--${name} must be an integer >= ${name === 'seed' ? 0 : 1}, got "${values[name]}"`,
      );
    }
    opts[name] = n;
  }
  if (opts.size < 64 || opts.size > 2048) {
    throw new UsageError('--size must be between 64 and 2048');
  }
  // Everything but where and how fast: what decides the files' content.
  const { patients, studies, series, slices, size, seed } = opts;
  opts.content = { patients, studies, series, slices, size, seed };
  opts.key = JSON.stringify(opts.content);
  return opts;
}

function readTruth(dir) {
  try {
    return JSON.parse(readFileSync(join(dir, 'truth.json'), 'utf8'));
  } catch {
    return undefined;
  }
}

function patientDirs(truth) {
  return new Set(instancePaths(truth.patients).map((p) => p.split('/')[0]));
}

// Refuses to mix with foreign files; clears a previous generator output.
function prepareOutDir(opts, previous) {
  if (existsSync(opts.out) && readdirSync(opts.out).length > 0) {
    if (!previous || previous.generator !== 'datasets/generate-ct.mjs') {
      throw new Error(`${opts.out} is not empty and has no truth.json`);
    }
    for (const dir of patientDirs(previous)) {
      rmSync(join(opts.out, dir), { recursive: true, force: true });
    }
    rmSync(join(opts.out, 'truth.json'), { force: true });
  }
  mkdirSync(opts.out, { recursive: true });
}

function upToDate(opts, previous, corpus) {
  if (opts.force || previous?.scriptHash !== SCRIPT_HASH) return false;
  if (JSON.stringify(previous.options) !== opts.key) return false;
  return instancePaths(corpus).every((path) =>
    existsSync(join(opts.out, path)),
  );
}

function instancePaths(corpus) {
  return corpus.flatMap((pt) =>
    pt.studies.flatMap((s) =>
      s.series.flatMap((se) => se.instances.map((i) => i.path)),
    ),
  );
}

function sumBytes(opts, corpus) {
  return instancePaths(corpus).reduce(
    (bytes, path) => bytes + statSync(join(opts.out, path)).size,
    0,
  );
}

async function main() {
  const started = performance.now();
  const opts = parseOptions();
  if (opts.help) {
    console.log(USAGE);
    return;
  }
  const corpus = buildCorpus(opts);
  const previous = readTruth(opts.out);
  const count = totals(corpus).instances;
  if (upToDate(opts, previous, corpus)) {
    console.log(
      `generate-ct: ${count} files (${previous.totals.bytes} bytes) in ` +
        `${opts.out} already up to date`,
    );
    return;
  }
  prepareOutDir(opts, previous);
  const workDir = mkdtempSync(join(tmpdir(), 'lpacs-generate-ct-'));
  try {
    const tasks = instanceTasks(opts, corpus, workDir, progress(count));
    await runPool(tasks, opts.jobs);
  } finally {
    rmSync(workDir, { recursive: true, force: true });
  }
  const bytes = sumBytes(opts, corpus);
  const truth = truthDoc(opts, corpus, bytes);
  // startSeconds only drives the generated times; it is no DICOM value.
  const json = JSON.stringify(
    truth,
    (k, v) => (k === 'startSeconds' ? undefined : v),
    2,
  );
  writeFileSync(join(opts.out, 'truth.json'), `${json}\n`);
  const seconds = (performance.now() - started) / 1000;
  console.log(
    `generate-ct: ${count} files, ${bytes} bytes in ${opts.out} ` +
      `(${seconds.toFixed(1)} s)`,
  );
}

main().catch((err) => {
  console.error(`generate-ct: ${err.message}`);
  process.exitCode = err instanceof UsageError ? 2 : 1;
});
