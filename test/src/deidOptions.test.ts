import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Role } from '@lpacs/access';
import { startServer } from '@lpacs/api';
import type { RunningServer } from '@lpacs/api';
import type { IngestReport } from '@lpacs/ingest';
import type { ReleaseDeidentification } from '@lpacs/sharing';
import { gqlAs, parquetRows, runCli, tempDir, tokenFor } from './helpers';

const work = tempDir('deid-options');
const input = join(work.path, 'in');
const lake = join(work.path, 'lake');
const BANNER = { x: 0, y: 0, width: 64, height: 6 };
const RULES = [
  {
    manufacturer: 'ACME Imaging',
    model: 'Sono 7',
    rectangles: [BANNER],
  },
];
let server: RunningServer;
let report: IngestReport;
const token: Record<string, string> = {};

/** A 24-bit BMP of non-zero samples, so blanked pixels stand out. */
function bmp(path: string, width: number, height: number): void {
  const row = Math.ceil((width * 3) / 4) * 4;
  const b = Buffer.alloc(54 + row * height);
  b.write('BM');
  b.writeUInt32LE(b.length, 2);
  b.writeUInt32LE(54, 10);
  b.writeUInt32LE(40, 14);
  b.writeInt32LE(width, 18);
  b.writeInt32LE(height, 22);
  b.writeUInt16LE(1, 26);
  b.writeUInt16LE(24, 28);
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++) {
      const at = 54 + (height - 1 - y) * row + x * 3;
      b.fill(1 + ((x * 3 + y * 7) % 250), at, at + 3);
    }
  writeFileSync(path, b);
}

function dump2dcm(name: string, lines: string[]): void {
  const dump = join(work.path, `${name}.dump`);
  writeFileSync(dump, `${lines.join('\n')}\n`);
  execFileSync('dump2dcm', ['+te', dump, join(input, `${name}.dcm`)]);
}

/**
 * The inputs, all made by dcmtk: an ultrasound of the ruled device (native
 * and JPEG Lossless), a secondary capture of no stated burned-in text, an
 * MR with safe and unsafe private elements and a report with free text.
 */
function makeInputs(): void {
  mkdirSync(input, { recursive: true });
  const image = join(work.path, 'us.bmp');
  bmp(image, 64, 48);
  const us = join(input, 'us.dcm');
  execFileSync('img2dcm', [
    ...['-i', 'BMP', image, us],
    ...[
      '-k',
      'Manufacturer=ACME Imaging',
      '-k',
      'ManufacturerModelName=Sono 7',
    ],
    ...['-k', 'PatientName=DOE^JANE', '-k', 'PatientID=PID123'],
  ]);
  execFileSync('dcmodify', [
    ...['-nb', '-m', '(0008,0016)=1.2.840.10008.5.1.4.1.1.6.1'],
    ...['-i', '(0008,0060)=US', us],
  ]);
  const jpeg = join(input, 'us-jpeg.dcm');
  execFileSync('dcmcjpeg', [us, jpeg]);
  execFileSync('dcmodify', ['-nb', '-gin', jpeg]); // another instance
  execFileSync('img2dcm', [
    ...['-i', 'BMP', image, join(input, 'sc.dcm')],
    ...['-k', 'PatientName=ROE^RICHARD', '-k', 'PatientID=PID456'],
  ]);
  const head = (cls: string, uid: string) => [
    `(0002,0002) UI =${cls}`,
    `(0002,0003) UI [${uid}]`,
    `(0008,0016) UI =${cls}`,
    `(0008,0018) UI [${uid}]`,
    '(0010,0010) PN [DOE^JANE]',
    '(0010,0020) LO [PID123]',
    `(0020,000d) UI [${uid}.1]`,
    `(0020,000e) UI [${uid}.2]`,
  ];
  dump2dcm('mr', [
    ...head('MRImageStorage', '1.2.826.0.1.3680043.99.1'),
    '(0008,0060) CS [MR]',
    // An age over 89, a name in an attribute Table E.1-1 does not list
    // (EvaluatorName) and a public tag PS3.6 does not define.
    '(0008,9999) LO [ZZUNKNOWN]',
    '(0010,1010) AS [095Y]',
    '(0014,2006) PN [ZZEVAL^PLANTED]',
    '(0019,0010) LO [SIEMENS MR HEADER]',
    '(0019,1008) CS [IMAGE NUM 4]',
    '(0019,100c) IS [1000]',
    '(0029,0010) LO [SIEMENS CSA HEADER]',
    '(0029,1010) OB 53\\56\\31\\30',
  ]);
  dump2dcm('sr', [
    ...head('BasicTextSRStorage', '1.2.826.0.1.3680043.99.2'),
    '(0008,0060) CS [SR]',
    '(0040,a040) CS [CONTAINER]',
    '(0040,a730) SQ (Sequence with undefined length)',
    '(fffe,e000) na (Item with undefined length)',
    '(0040,a010) CS [CONTAINS]',
    '(0040,a040) CS [TEXT]',
    '(0040,a160) UT [DOE^JANE, PID123: no focal mass.]',
    '(fffe,e00d) na (ItemDelimitationItem)',
    '(fffe,e0dd) na (SequenceDelimitationItem)',
  ]);
}

function gql<T>(who: string, query: string, variables?: object): Promise<T> {
  return gqlAs<T>(server.url, token[who]!, query, variables);
}

const instances = () =>
  parquetRows(
    `SELECT "SOPClassUID" AS cls, object_key, deid_actions, "TransferSyntaxUID" AS ts FROM read_parquet('${lake}/tables/instances/*/*.parquet') ORDER BY cls, ts`,
  );

const PYTHON_BLANKED = `
import json, sys
import numpy as np
import pydicom
a = pydicom.dcmread(sys.argv[1]).pixel_array
d = pydicom.dcmread(sys.argv[2])
b = d.pixel_array
r = json.loads(sys.argv[3])
mask = np.zeros(a.shape[:2], dtype=bool)
mask[r['y']:r['y'] + r['height'], r['x']:r['x'] + r['width']] = True
print(json.dumps({
    'insideMax': int(b[mask].max()),
    'originalInsideMin': int(a[mask].min()),
    'outsideEqual': bool(np.array_equal(a[~mask], b[~mask])),
    'burnedIn': str(d.BurnedInAnnotation),
}))
`;

/** Approves a release of every instance of `root` through the API. */
async function releaseOfAll(root: string): Promise<ReleaseDeidentification> {
  for (const [name, role] of [
    ['rita', Role.Researcher],
    ['sam', Role.Steward],
    ['cole', Role.Collaborator],
  ] as const)
    token[name] = await tokenFor(root, role, name);
  await server?.close();
  server = await startServer({ lake: root, port: 0 });
  const saved = await gql<{ saveCohort: { id: string } }>(
    'rita',
    'mutation { saveCohort(name: "all") { id } }',
  );
  const share = await gql<{ requestShare: { id: string } }>(
    'rita',
    'mutation ($c: String!, $e: String!) { requestShare(cohortId: $c, collaborator: "cole", purpose: "p", expiresAt: $e) { id } }',
    {
      c: saved.saveCohort.id,
      e: new Date(Date.now() + 30 * 86_400_000).toISOString().slice(0, 10),
    },
  );
  const decided = await gql<{ decideShare: { releaseId: string } }>(
    'sam',
    'mutation ($id: String!) { decideShare(id: $id, approve: true) { releaseId } }',
    { id: share.requestShare.id },
  );
  const manifest = JSON.parse(
    readFileSync(
      join(root, 'releases', decided.decideShare.releaseId, 'manifest.json'),
      'utf8',
    ),
  ) as { deidentification: ReleaseDeidentification };
  return manifest.deidentification;
}

before(async () => {
  makeInputs();
  const rules = join(work.path, 'rules.json');
  writeFileSync(rules, JSON.stringify(RULES));
  const init = await runCli([
    ...['init', '--lake', lake, '--retain', 'patient-characteristics'],
    ...['--retain', 'safe-private', '--clean', 'structured-content'],
    ...['--clean', 'graphics', '--blanking', rules],
    ...['--accept-unmarked', 'secondary-capture'],
  ]);
  assert.equal(init.code, 0, init.stderr);
  const run = await runCli(['ingest', input, '--lake', lake, '--json']);
  assert.equal(run.code, 0, run.stderr);
  report = JSON.parse(run.stdout) as IngestReport;
});
after(async () => {
  await server?.close();
  work.remove();
});

describe('de-identification options end to end (init, ingest, release)', () => {
  it('ingests the ultrasounds by blanking them, and reports notices apart from fallbacks', () => {
    assert.equal(report.ingested, 5, JSON.stringify(report.quarantine));
    assert.equal(report.quarantined, 0);
    assert.equal(report.deidentification.fallbacks, 0);
    const notices = report.notices.map((n) => `${n.source}: ${n.message}`);
    assert.equal(report.deidentification.notices, notices.length);
    assert.deepEqual(
      notices.map((n) => n.replace(/:.*/, '')).sort(),
      ['in/sc.dcm', 'in/us-jpeg.dcm', 'in/us-jpeg.dcm', 'in/us.dcm'].map((f) =>
        join(work.path, f),
      ),
    );
    assert.ok(notices.some((n) => /sc\.dcm: secondary capture/.test(n)));
    assert.deepEqual(report.deidentification.options.acceptUnmarked, [
      'secondary-capture',
    ]);
    assert.equal(report.deidentification.actions.acceptedUnmarked, 1);
    assert.ok(
      notices.some((n) => /decoded from 1\.2\.840\.10008\.1\.2\.4\.70/.test(n)),
    );
    assert.equal(report.deidentification.actions.blanked, 2);
  });

  it('stores blanked pixels that pydicom reads zero in the banner and unchanged elsewhere', async () => {
    const us = (await instances()).filter(
      (r) => r.cls === '1.2.840.10008.5.1.4.1.1.6.1',
    );
    assert.equal(us.length, 2);
    for (const row of us) {
      assert.equal(row.ts, '1.2.840.10008.1.2.1');
      const c = JSON.parse(
        execFileSync(
          '/usr/bin/python3',
          [
            ...['-c', PYTHON_BLANKED, join(input, 'us.dcm')],
            ...[join(lake, String(row.object_key)), JSON.stringify(BANNER)],
          ],
          { encoding: 'utf8' },
        ),
      ) as Record<string, unknown>;
      assert.deepEqual(c, {
        insideMax: 0,
        originalInsideMin: c.originalInsideMin,
        outsideEqual: true,
        burnedIn: 'NO',
      });
      assert.ok(Number(c.originalInsideMin) > 0);
    }
  });

  it('keeps the safe private element and cleans the report text', async () => {
    const rows = await instances();
    const text = (cls: string) =>
      execFileSync(
        'dcmdump',
        ['-q', join(lake, String(rows.find((r) => r.cls === cls)!.object_key))],
        { encoding: 'latin1' },
      );
    const mr = text('1.2.840.10008.5.1.4.1.1.4');
    assert.match(mr, /\(0019,100c\) IS \[1000\]/);
    assert.doesNotMatch(mr, /0019,1008|0029,/);
    // An age over 89 is 090Y; an unlisted name is empty; an unknown
    // public element is gone.
    assert.match(mr, /\(0010,1010\) AS \[090Y\]/);
    assert.match(mr, /\(0014,2006\) PN \(no value available\)/);
    assert.doesNotMatch(mr, /0008,9999|ZZ/);
    const sr = text('1.2.840.10008.5.1.4.1.1.88.11');
    assert.match(sr, /\(0040,a160\) UT \[, : no focal mass.\]/);
  });

  it('records per-instance action counts that add up to the report', async () => {
    const sum: Record<string, number> = {};
    for (const row of await instances())
      for (const [k, v] of Object.entries(
        JSON.parse(String(row.deid_actions)) as Record<string, number>,
      ))
        sum[k] = (sum[k] ?? 0) + v;
    assert.deepEqual(sum, report.deidentification.actions);
  });

  it('writes the profile, edition, options and counts into the release manifest', async () => {
    const d = await releaseOfAll(lake);
    assert.equal(d.instancesCounted, 5);
    assert.deepEqual(d.actions, report.deidentification.actions);
    // The option, and how many objects of the release entered under it.
    assert.deepEqual(
      (d.options as { acceptUnmarked: string[] }).acceptUnmarked,
      ['secondary-capture'],
    );
    assert.equal(d.actions.acceptedUnmarked, 1);
    // The MR's age over 89, unlisted name and unknown element.
    assert.equal(d.actions.ageCapped, 1);
    assert.equal(d.actions.unlistedName, 1);
    assert.equal(d.actions.unknownElement, 1);
    assert.deepEqual(
      d.options,
      JSON.parse(readFileSync(join(lake, 'lake.json'), 'utf8'))
        .deidentification,
    );
    assert.deepEqual(d.methods, [
      {
        value: 'lpacs 0.1: PS3.15 E.1-1 Basic Profile, Jan 2025 table',
        instances: 5,
      },
    ]);
    const codes = Object.fromEntries(
      d.methodCodes.map((c) => [c.code, c.instances]),
    );
    // Every object says the profile and the lake's options; only the two
    // ultrasounds say Clean Pixel Data (PS3.16 CID 7050).
    assert.deepEqual(codes, {
      '113100': 5,
      '113101': 2,
      '113103': 5,
      '113104': 5,
      '113105': 5,
      '113107': 5,
      '113108': 5,
      '113111': 5,
    });
    assert.equal(
      d.methodCodes.find((c) => c.code === '113111')?.meaning,
      'Retain Safe Private Option',
    );
  });

  it('builds a release in a lake ingested before counts were recorded', async () => {
    const old = join(work.path, 'old-lake');
    const run = await runCli(['ingest', join(input, 'mr.dcm'), '--lake', old]);
    assert.equal(run.code, 0, run.stderr);
    // The instances Parquet as an earlier lpacs wrote it: no deid_actions.
    const [file] = (
      await parquetRows(
        `SELECT file FROM glob('${old}/tables/instances/*/*.parquet')`,
      )
    ).map((r) => String(r.file));
    await parquetRows(
      `COPY (SELECT * EXCLUDE (deid_actions) FROM read_parquet('${file}')) TO '${file}.new' (FORMAT parquet)`,
    );
    renameSync(`${file}.new`, file!);
    const d = await releaseOfAll(old);
    assert.equal(d.instancesCounted, 0);
    assert.deepEqual(d.actions, {});
    assert.equal(d.methods[0]?.instances, 1);
  });

  it('names the accept-unmarked option in the report line, and quarantines the secondary capture without it', async () => {
    const again = await runCli([
      'ingest',
      join(input, 'sc.dcm'),
      '--lake',
      lake,
    ]);
    assert.equal(again.code, 0, again.stderr);
    assert.match(
      again.stdout,
      /^de-identification: .*, accept-unmarked secondary-capture$/m,
    );
    const plain = join(work.path, 'plain-lake');
    const run = await runCli([
      'ingest',
      join(input, 'sc.dcm'),
      '--lake',
      plain,
    ]);
    assert.equal(run.code, 0, run.stderr);
    assert.doesNotMatch(run.stdout, /^de-identification: .*accept-unmarked/m);
    assert.match(
      run.stdout,
      /quarantined .*sc\.dcm: BURNED_IN_ANNOTATION secondary capture without BurnedInAnnotation \(0028,0301\) NO may show identifying text in its pixels: add a blanking rule for its device, or accept unmarked secondary captures in the lake \(lpacs init --accept-unmarked secondary-capture/,
    );
  });

  it('refuses an unknown kind for --accept-unmarked and in lake.json, naming it', async () => {
    const bad = await runCli([
      ...['init', '--lake', join(work.path, 'bad-lake')],
      ...['--accept-unmarked', 'ultrasound'],
    ]);
    assert.equal(bad.code, 1);
    assert.match(
      bad.stderr,
      /--accept-unmarked takes recognizable-visual-features, secondary-capture or none; got "ultrasound"/,
    );
    const edited = join(work.path, 'edited-lake');
    mkdirSync(edited);
    writeFileSync(
      join(edited, 'lake.json'),
      JSON.stringify({ deidentification: { acceptUnmarked: ['us'] } }),
    );
    const run = await runCli([
      'ingest',
      join(input, 'sc.dcm'),
      '--lake',
      edited,
    ]);
    assert.equal(run.code, 1);
    assert.match(
      run.stderr,
      /acceptUnmarked must be a list of "recognizable-visual-features", "secondary-capture"; got "us"/,
    );
  });
});
