import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { parseDicom } from '@lpacs/dicom';
import { Deidentifier, RESEARCH_DEFAULT, SiteKeys } from '../index';
import type { DeidOptions } from '../index';
import { dcmdump, dumpFixture } from './dumpFixture';

const dir = mkdtempSync(join(tmpdir(), 'lpacs-clean-content-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const keys = new SiteKeys(Buffer.alloc(32, 6));

const item = (lines: string[]) => [
  '(fffe,e000) na (Item with undefined length)',
  '(0040,a010) CS [CONTAINS]',
  ...lines,
  '(fffe,e00d) na (ItemDelimitationItem)',
];
const HEAD = (sopClass: string, uid: string) => [
  `(0002,0002) UI =${sopClass}`,
  `(0002,0003) UI [${uid}]`,
  `(0008,0016) UI =${sopClass}`,
  `(0008,0018) UI [${uid}]`,
  '(0010,0010) PN [DOE^JANE]',
  '(0010,0020) LO [PID123]',
  `(0020,000d) UI [${uid}.2]`,
  `(0020,000e) UI [${uid}.3]`,
];

/** A Basic Text SR with TEXT, PNAME, DATE and UIDREF items, one nested. */
const SR = [
  ...HEAD('BasicTextSRStorage', '1.2.3.4.9.1'),
  '(0040,a040) CS [CONTAINER]',
  '(0040,a730) SQ (Sequence with undefined length)',
  ...item([
    '(0040,a040) CS [TEXT]',
    '(0040,a160) UT [Seen by Dr Kowalski for DOE^JANE (PID123) on 2021-03-04: no focal mass.]',
  ]),
  ...item(['(0040,a040) CS [PNAME]', '(0040,a123) PN [KOWALSKI^ANNA]']),
  ...item(['(0040,a040) CS [DATE]', '(0040,a121) DA [20210304]']),
  ...item(['(0040,a040) CS [UIDREF]', '(0040,a124) UI [1.2.3.4.9.1.2]']),
  ...item([
    '(0040,a040) CS [CONTAINER]',
    '(0040,a730) SQ (Sequence with undefined length)',
    ...item([
      '(0040,a040) CS [TEXT]',
      '(0040,a160) UT [Nested note for PID123: stable]',
    ]),
    '(fffe,e0dd) na (SequenceDelimitationItem)',
  ]),
  '(fffe,e0dd) na (SequenceDelimitationItem)',
];

/** A presentation state with a text annotation, and an overlay plane. */
const GSPS = [
  ...HEAD('GrayscaleSoftcopyPresentationStateStorage', '1.2.3.4.8.1'),
  '(6000,0010) US 4',
  '(6000,0011) US 4',
  '(6000,0040) CS [G]',
  '(6000,0050) SS 1\\1',
  '(6000,0100) US 1',
  '(6000,0102) US 0',
  '(6000,3000) OW ffff',
  '(6000,4000) LT [overlay for DOE]',
  '(0070,0001) SQ (Sequence with undefined length)',
  '(fffe,e000) na (Item with undefined length)',
  '(0070,0002) CS [LAYER1]',
  '(0070,0008) SQ (Sequence with undefined length)',
  '(fffe,e000) na (Item with undefined length)',
  '(0070,0004) CS [PIXEL]',
  '(0070,0006) ST [JANE DOE PID123 left kidney cyst]',
  '(0070,0010) FL 1\\1',
  '(0070,0011) FL 20\\10',
  '(0070,0012) CS [LEFT]',
  '(fffe,e00d) na (ItemDelimitationItem)',
  '(fffe,e0dd) na (SequenceDelimitationItem)',
  '(fffe,e00d) na (ItemDelimitationItem)',
  '(fffe,e0dd) na (SequenceDelimitationItem)',
];

function run(lines: string[], name: string, options: Partial<DeidOptions>) {
  const input = readFileSync(dumpFixture(dir, name, lines));
  const deid = new Deidentifier(keys, { ...RESEARCH_DEFAULT, ...options });
  const outcome = deid.deidentify(parseDicom(input));
  const path = join(dir, `${name}.out.dcm`);
  writeFileSync(path, outcome.bytes);
  return { outcome, text: dcmdump(path) };
}

/** YYYYMMDD moved by whole days, with the calendar of Date (not lpacs). */
function shifted(da: string, days: number): string {
  const t = Date.UTC(+da.slice(0, 4), +da.slice(4, 6) - 1, +da.slice(6, 8));
  return new Date(t + days * 86_400_000)
    .toISOString()
    .slice(0, 10)
    .replace(/-/g, '');
}

describe('Clean Structured Content Option (113104)', () => {
  it('cleans text, replaces names, shifts dates and remaps UIDs in content items at every depth', () => {
    const { outcome, text } = run(SR, 'sr-on', {
      cleanStructuredContent: true,
    });
    const values = [...text.matchAll(/\(0040,a160\) UT \[([^\]]*)\]/g)].map(
      (m) => m[1],
    );
    // By hand: the names (also the PNAME item's), the ID and the date go.
    assert.deepEqual(values, [
      'Seen by Dr for ( ) on : no focal mass.',
      'Nested note for : stable',
    ]);
    assert.match(text, /\(0040,a123\) PN \[ANONYMIZED\]/);
    const date = /\(0040,a121\) DA \[(\d{8})\]/.exec(text)?.[1];
    assert.equal(date, shifted('20210304', outcome.dateShiftDays));
    assert.notEqual(outcome.dateShiftDays, 0);
    // The UIDREF names this object's study: it maps to the same new UID.
    const uidref = /\(0040,a124\) UI \[([\d.]+)\]/.exec(text)?.[1];
    const study = /\(0020,000d\) UI \[([\d.]+)\]/.exec(text)?.[1];
    assert.match(uidref ?? '', /^2\.25\./);
    assert.equal(uidref, study);
    assert.match(text, /\[113104\]/);
    assert.doesNotMatch(text, /KOWALSKI|Kowalski|DOE|PID123|2021/);
  });

  it('without the option empties the Content Sequence (Table E.1-1: D)', () => {
    const { text } = run(SR, 'sr-off', {});
    assert.match(
      text,
      /\(0040,a730\) SQ \(Sequence with undefined length #=0\)/,
    );
    assert.doesNotMatch(text, /0040,a160|113104/);
  });
});

describe('Clean Graphics Option (113103)', () => {
  it('keeps text annotations with identifiers removed, and drops overlays whole', () => {
    const { text } = run(GSPS, 'gsps-on', { cleanGraphics: true });
    assert.match(text, /\(0070,0006\) ST \[left kidney cyst\]/);
    assert.match(text, /\(0070,0002\) CS \[LAYER1\]/);
    assert.doesNotMatch(text, /^\(6000,/m);
    assert.match(text, /\[113103\]/);
  });

  it('without the option empties the Graphic Annotation Sequence (D) and drops overlays whole', () => {
    const { outcome, text } = run(GSPS, 'gsps-off', {});
    assert.match(
      text,
      /\(0070,0001\) SQ \(Sequence with undefined length #=0\)/,
    );
    assert.doesNotMatch(text, /^\(6000,/m);
    assert.doesNotMatch(text, /113103/);
    assert.ok((outcome.actions.X ?? 0) >= 8);
  });
});
