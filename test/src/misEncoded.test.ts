import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CT, dcmdump, filesUnder, runCli, tempDir } from './helpers';
import { lakeContents, leaksIn, needlesOf } from './phiSearch';

// Trial (a11 and in5): a patient name in Latin-1 under ISO_IR 100 whose
// Study Description repeated it in UTF-8 bytes kept it, and the instances
// and studies tables held it; Specific Character Set values
// `ISO_IR 100\ZQMRN77001` and `ZQFAMKOV` were kept as they came. Each
// file here is a CT of the generated corpus planted by dcmodify (values
// from files of bytes written out by hand: Ü is DC in ISO 8859-1 and C3
// 9C in UTF-8, Ö D6 and C3 96, Å C5 and C3 85), ingested by the CLI into
// a fresh lake; then every lake file, and every Parquet row as DuckDB
// reads it, is searched for each marker in every form it could take.

const work = tempDir('mis-encoded');
const input = join(work.path, 'in');
const lake = join(work.path, 'lake');
const SOURCE = join(CT, 'P0001', 'ST01', 'SE01', 'CT000001.dcm');
let report: { ingested: number; notices: Array<{ message: string }> };
let output = '';

const hex = (h: string) => Buffer.from(h.replace(/ /g, ''), 'hex');
const even = (b: Buffer) => (b.length % 2 ? Buffer.concat([b, hex('20')]) : b);

/** A copy of the CT with dcmodify's edits, `bin` values from files. */
function plant(name: string, edits: string[], bin: Record<string, Buffer>) {
  const path = join(input, `${name}.dcm`);
  copyFileSync(SOURCE, path);
  const args = ['-nb', ...edits];
  for (const [tag, bytes] of Object.entries(bin)) {
    const file = join(work.path, `${name}-${tag.replace(/\W/g, '')}.bin`);
    writeFileSync(file, even(bytes));
    args.push('-if', `${tag}=${file}`);
  }
  execFileSync('dcmodify', [...args, path], { stdio: 'ignore' });
}

const MARKERS = [
  'ZQMÜLLFAM',
  'ZQGIVNEL',
  'ZQMRN77001',
  'ZQFAMKOV',
  'ZQBÖHMFAM',
  'ZQÅSAGIV',
  'ZQACC9001',
];
const needles = needlesOf(MARKERS.map((m) => ({ what: m, text: m })));

before(async () => {
  mkdirSync(input, { recursive: true });
  // Every file of the same patient and study, one series each.
  const common = (n: number) => [
    ...['-m', '(0010,0020)=ZQMRN77001', '-m', '(0008,0050)=ZQACC9001'],
    ...['-m', `(0020,000e)=2.25.7770${n}`, '-m', `(0008,0018)=2.25.7771${n}`],
  ];
  plant('utf8-descriptor', [...common(1), '-m', '(0008,0005)=ISO_IR 100'], {
    // ZQMÜLLFAM^ZQGIVNEL in ISO 8859-1
    '(0010,0010)': hex('5a514d dc 4c4c46414d 5e 5a51474956 4e454c'),
    // CT ZQMÜLLFAM in UTF-8
    '(0008,1030)': hex('435420 5a514d c39c 4c4c46414d'),
  });
  plant('latin1-descriptor', [...common(2), '-m', '(0008,0005)=ISO_IR 192'], {
    // ZQBÖHMFAM^ZQÅSAGIV in UTF-8
    '(0010,0010)': hex('5a5142 c396 48 4d46414d 5e 5a51 c385 53414749 56'),
    // ZQBÖHMFAM axial in ISO 8859-1
    '(0008,103e)': hex('5a5142 d6 484d46414d 20 6178 69616c'),
  });
  plant(
    'charset-id',
    [...common(3), '-m', '(0008,0005)=ISO_IR 100\\ZQMRN77001'],
    {},
  );
  plant(
    'charset-name',
    [
      ...common(4),
      ...['-m', '(0008,0005)=ZQFAMKOV', '-m', '(0010,0010)=ZQFAMKOV^ZQGIVNEL'],
    ],
    {},
  );
  // The planted values are there, as dcmdump reads them.
  const planted = (f: string, tag: string) =>
    dcmdump(join(input, f), [tag])?.[tag];
  assert.equal(
    planted('charset-id.dcm', '0008,0005'),
    'ISO_IR 100\\ZQMRN77001',
  );
  assert.equal(
    Buffer.from(planted('utf8-descriptor.dcm', '0008,1030') ?? '', 'latin1')
      .toString('hex')
      .includes('c39c'),
    true,
  );
  const init = await runCli(['init', '--lake', lake]);
  assert.equal(init.code, 0, init.stderr);
  const run = await runCli(['ingest', input, '--lake', lake, '--json']);
  assert.equal(run.code, 0, run.stderr);
  output = run.stdout + run.stderr;
  report = JSON.parse(run.stdout) as typeof report;
});
after(() => work.remove());

describe('names in mislabelled bytes and unknown character set terms, through ingest', () => {
  it('ingests every file', () => {
    assert.equal(report.ingested, 4);
  });

  it('leaves no marker in any form in any lake file or Parquet row', async () => {
    const found: string[] = [];
    for (const { file, bytes } of await lakeContents(lake))
      for (const what of leaksIn(bytes, needles))
        found.push(`${file.slice(lake.length + 1)}: ${what}`);
    assert.deepEqual(found, []);
  });

  it('writes Specific Character Set with Defined Terms alone, and cleans the descriptors', () => {
    const values = filesUnder(join(lake, 'objects'))
      .map((f) => dcmdump(f, ['0008,0005', '0008,1030', '0008,103e']) ?? {})
      .map((v) =>
        JSON.stringify([v['0008,0005'], v['0008,1030'], v['0008,103e']]),
      )
      .sort();
    assert.deepEqual(values, [
      JSON.stringify([
        'ISO_IR 100',
        'CT CHEST W/O CONTRAST',
        'AXIAL 5MM SOFT TISSUE',
      ]),
      JSON.stringify(['ISO_IR 100', 'CT', 'AXIAL 5MM SOFT TISSUE']),
      JSON.stringify(['ISO_IR 192', 'CT CHEST W/O CONTRAST', 'axial']),
      JSON.stringify([
        undefined,
        'CT CHEST W/O CONTRAST',
        'AXIAL 5MM SOFT TISSUE',
      ]),
    ]);
  });

  it('says so in notices that name attributes, never values', () => {
    const notices = report.notices.map((n) => n.message).sort();
    assert.deepEqual(notices, [
      '(0008,0005) SpecificCharacterSet held 1 value(s) that are no Defined Term of PS3.3 C.12.1.1.2: removed, its text read as ISO_IR 100',
      '(0008,0005) SpecificCharacterSet held 1 value(s) that are no Defined Term of PS3.3 C.12.1.1.2: removed, its text read as the default repertoire',
      '(0008,1030) holds bytes that are not text of ISO_IR 100, the character set (0008,0005) declares: read as declared, and cleaned of names in their mis-encoded forms too',
      '(0008,103E) holds bytes that are not text of ISO_IR 192, the character set (0008,0005) declares: read as declared, and cleaned of names in their mis-encoded forms too',
    ]);
    assert.deepEqual(leaksIn(Buffer.from(output), needles), []);
  });
});
