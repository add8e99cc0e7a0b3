import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import sharp from 'sharp';
import { Role } from '@lpacs/access';
import { startServer } from '@lpacs/api';
import type { RunningServer } from '@lpacs/api';
import { Catalog, LakeCipher, parseKek } from '@lpacs/lake';
import {
  REPO,
  SAMPLE,
  bearer,
  dcmdump,
  parquetRows,
  runCli,
  tempDir,
  tokenFor,
} from './helpers';
import { keyedMaskPath } from './maskNamesTruth';
import { npyOverImage, stackedThreshold } from './npyTruth';
import { readSeg } from './segTruth';

// What the viewer reads besides frames: a series' thumbnail (its middle
// frame, small, cached) and a segmentation model's mask over a frame, read
// from the DICOM SEG the model's job wrote, else from its .npy (a frame of a
// multi-frame image, or a stacking model's one mask for a series). Expected
// values come from dcmdump (instance order), PNG headers, pydicom reading
// the SEG, and numpy reading the .npy (and computing the stacking model by
// hand from the slices' ImagePositionPatient).
const work = tempDir('viewer-dicomweb');
const lake = join(work.path, 'lake');
let api: RunningServer;
let base = '';
let token = '';
/** The 20-slice MR volume, in instance order. */
let volume: { study: string; series: string; sops: string[]; files: string[] };
/** The 16-frame MR object. */
let multiframe: { file: string; study: string; series: string; sop: string };
/** ct-threshold (per frame) and ct-volume-threshold (stacking) SHA-256s. */
let model = '';
let stacking = '';

/** Width and height from a PNG's IHDR (PNG spec 11.2.2). */
function pngSize(png: Buffer): [number, number] {
  assert.equal(png.subarray(1, 4).toString('latin1'), 'PNG');
  return [png.readUInt32BE(16), png.readUInt32BE(20)];
}

async function get(path: string, headers: Record<string, string> = {}) {
  const res = await fetch(`${base}${path}`, {
    headers: { authorization: `Bearer ${token}`, ...headers },
  });
  return { res, body: Buffer.from(await res.arrayBuffer()) };
}

/** A model's SHA-256, its identity in the lake: that of its model.onnx. */
function modelSha(folder: string): string {
  return createHash('sha256')
    .update(readFileSync(join(folder, 'model.onnx')))
    .digest('hex');
}

async function addAndPredict(folder: string, series: string[]) {
  const added = await runCli(['models', 'add', folder, '--lake', lake]);
  assert.equal(added.code, 0, added.stderr);
  const name = JSON.parse(readFileSync(join(folder, 'manifest.json'), 'utf8'))
    .name as string;
  const predicted = await runCli([
    'predict',
    '--model',
    name,
    ...series.flatMap((s) => ['--series', s]),
    '--lake',
    lake,
  ]);
  assert.equal(predicted.code, 0, predicted.stderr);
}

before(async () => {
  const run = await runCli([
    'ingest',
    join(SAMPLE, 'volume'),
    join(SAMPLE, 'explicit_little.dcm'),
    '--lake',
    lake,
  ]);
  assert.equal(run.code, 0, run.stderr);
  const rows = await parquetRows(
    `SELECT object_key FROM read_parquet('${lake}/tables/instances/*/*.parquet')`,
  );
  const objects = rows
    .map((r) => {
      const file = join(lake, String(r.object_key));
      const v = dcmdump(file, [
        '0020,000d',
        '0020,000e',
        '0008,0018',
        '0020,0013',
        '0028,0008',
      ])!;
      return {
        file,
        study: v['0020,000d']!,
        series: v['0020,000e']!,
        sop: v['0008,0018']!,
        n: Number(v['0020,0013']),
        frames: Number(v['0028,0008'] ?? 1),
      };
    })
    .sort((a, b) => a.n - b.n);
  // explicit_little.dcm is the one multi-frame object (16 frames).
  const [multi, ...others] = objects.filter((o) => o.frames > 1);
  assert.ok(multi && others.length === 0 && multi.frames === 16);
  const slices = objects.filter((o) => o.frames === 1);
  volume = {
    study: slices[0]!.study,
    series: slices[0]!.series,
    sops: slices.map((o) => o.sop),
    files: slices.map((o) => o.file),
  };
  assert.ok(slices.every((o) => o.series === volume.series));
  multiframe = multi;
  const models = join(work.path, 'models');
  await promisify(execFile)('/usr/bin/python3', [
    join(REPO, 'datasets', 'make-model.py'),
    '--out',
    models,
  ]);
  await addAndPredict(join(models, 'ct-threshold'), [
    volume.series,
    multi.series,
  ]);
  await addAndPredict(join(models, 'ct-volume-threshold'), [volume.series]);
  model = modelSha(join(models, 'ct-threshold'));
  stacking = modelSha(join(models, 'ct-volume-threshold'));
  token = await tokenFor(lake, Role.Researcher, 'rita');
  api = await startServer({ lake, port: 0 });
  base = api.url.replace(/graphql$/, 'dicomweb');
});
after(async () => {
  await api?.close();
  work.remove();
});

describe('series thumbnails', () => {
  const path = () =>
    `/studies/${volume.study}/series/${volume.series}/thumbnail`;

  it('is the middle frame, rendered as the frame itself is, when it fits', async () => {
    // 20 single-frame instances: the middle one is the 11th by InstanceNumber.
    const middle = volume.sops[Math.floor(volume.sops.length / 2)]!;
    const thumb = await get(`${path()}?viewport=256,256`, {
      accept: 'image/png',
    });
    assert.equal(thumb.res.status, 200);
    assert.equal(thumb.res.headers.get('content-type'), 'image/png');
    const frame = await get(
      `/studies/${volume.study}/series/${volume.series}/instances/${middle}/frames/1/rendered`,
      { accept: 'image/png' },
    );
    const pixels = (png: Buffer) =>
      sharp(png).toColourspace('b-w').raw().toBuffer();
    assert.deepEqual(await pixels(thumb.body), await pixels(frame.body));
    // Any other instance's frame differs (the volume's slices do).
    const first = await get(
      `/studies/${volume.study}/series/${volume.series}/instances/${volume.sops[0]}/frames/1/rendered`,
      { accept: 'image/png' },
    );
    assert.notDeepEqual(await pixels(thumb.body), await pixels(first.body));
  });

  it('shrinks to the viewport keeping the aspect ratio, JPEG by default', async () => {
    const png = await get(`${path()}?viewport=64,32`, { accept: 'image/png' });
    assert.deepEqual(pngSize(png.body), [32, 32]);
    const jpeg = await get(path());
    assert.equal(jpeg.res.headers.get('content-type'), 'image/jpeg');
    assert.deepEqual([...jpeg.body.subarray(0, 2)], [0xff, 0xd8]);
    const meta = await sharp(jpeg.body).metadata();
    assert.deepEqual([meta.width, meta.height], [128, 128]);
  });

  it('is cached: private max-age, and 304 for its ETag', async () => {
    const first = await get(path());
    assert.equal(
      first.res.headers.get('cache-control'),
      'private, max-age=300',
    );
    const etag = first.res.headers.get('etag');
    assert.match(etag ?? '', /^"[A-Za-z0-9_-]+"$/);
    const again = await get(path(), { 'if-none-match': etag! });
    assert.equal(again.res.status, 304);
    assert.equal(again.body.length, 0);
    const other = await get(`${path()}?viewport=64,64`);
    assert.notEqual(other.res.headers.get('etag'), etag);
  });

  it('refuses a bad viewport, an unknown series and a collaborator without releases', async () => {
    const bad = await get(`${path()}?viewport=0,10`);
    assert.equal(bad.res.status, 400);
    assert.match(bad.body.toString(), /"viewport"/);
    const unknown = await get(
      `/studies/${volume.study}/series/1.2.3.4/thumbnail`,
    );
    assert.equal(unknown.res.status, 404);
    const collaborator = await tokenFor(lake, Role.Collaborator, 'cora');
    const res = await fetch(`${base}${path()}`, {
      headers: { authorization: `Bearer ${collaborator}` },
    });
    assert.equal(res.status, 404);
    assert.equal((await fetch(`${base}${path()}`)).status, 401);
  });
});

describe('segmentation masks', () => {
  it('is the SEG written for the frame, with its segment number where set', async () => {
    let mixed = 0;
    for (const sop of volume.sops) {
      const truth = await readSeg(
        join(lake, 'masks', model, `${sop}-0.seg.dcm`),
      );
      assert.deepEqual(truth.refs, [sop]);
      const { res, body } = await get(
        `/studies/${volume.study}/series/${volume.series}/instances/${sop}/frames/1/mask?model=${model}`,
      );
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('content-type'), 'image/png');
      assert.deepEqual(pngSize(body), [truth.columns, truth.rows]);
      const got = await sharp(body).toColourspace('b-w').raw().toBuffer();
      const want = Buffer.from(
        [...truth.bits].map((b) => (b === '1' ? truth.segments[0]! : 0)),
      );
      assert.ok(got.equals(want), `mask of ${sop}`);
      const ones = want.filter((v) => v > 0).length;
      if (ones > 0 && ones < want.length) mixed++;
    }
    // The threshold model marks part of most slices, not all or nothing.
    assert.ok(mixed >= 10, `${mixed} slices with a partial mask`);
  });

  it('shows each frame of a multi-frame image the .npy mask of that frame', async () => {
    const { study, series, sop, file } = multiframe;
    // No SEG for this multi-frame source, which has no geometry (no
    // position, orientation, spacing or frame of reference): only .npy.
    assert.equal(
      existsSync(join(lake, 'masks', model, `${sop}-0.seg.dcm`)),
      false,
    );
    const seen = new Set<string>();
    for (let frame = 1; frame <= 16; frame++) {
      const truth = await npyOverImage(
        join(lake, 'masks', model, `${sop}-${frame - 1}.npy`),
        file,
      );
      const { res, body } = await get(
        `/studies/${study}/series/${series}/instances/${sop}/frames/${frame}/mask?model=${model}`,
      );
      assert.equal(res.status, 200, `frame ${frame}`);
      assert.deepEqual(pngSize(body), [truth.columns, truth.rows]);
      const got = await sharp(body).toColourspace('b-w').raw().toBuffer();
      assert.ok(
        got.equals(Buffer.from(truth.segments)),
        `mask of frame ${frame}`,
      );
      seen.add(got.toString('base64'));
    }
    // Frames differ, so serving another frame's mask would be caught.
    assert.ok(seen.size >= 8, `${seen.size} distinct masks over 16 frames`);
    const past = await get(
      `/studies/${study}/series/${series}/instances/${sop}/frames/17/mask?model=${model}`,
    );
    assert.equal(past.res.status, 404);
  });

  it("lays a stacking model's one series mask over every slice, as computed by hand", async () => {
    const hand = await stackedThreshold(volume.files);
    // 20 slices sorted by position, 4 picked: round(i * 19 / 3).
    assert.deepEqual(hand.picked, [0, 6, 13, 19]);
    assert.deepEqual([...hand.order].sort(), [...volume.sops].sort());
    const ones = hand.mask.filter((v) => v === 1).length;
    assert.ok(ones > 50 && ones < 32 * 32 - 50, `${ones} of 1024 set`);
    const npy = join(lake, 'masks', stacking, `${volume.series}-0.npy`);
    for (const [i, sop] of hand.order.entries()) {
      assert.equal(
        existsSync(join(lake, 'masks', stacking, `${sop}-0.seg.dcm`)),
        false,
      );
      const file = volume.files[volume.sops.indexOf(sop)]!;
      const truth = await npyOverImage(npy, file);
      // 256 x 256 slices: each mask pixel covers an 8 x 8 block.
      const off = truth.segments.filter(
        (v, p) => v !== hand.mask[(p >> 11) * 32 + ((p & 255) >> 3)],
      ).length;
      assert.equal(off, 0, `slice ${i}: ${off} pixels off the hand mask`);
      const { res, body } = await get(
        `/studies/${volume.study}/series/${volume.series}/instances/${sop}/frames/1/mask?model=${stacking}`,
      );
      assert.equal(res.status, 200, `slice ${i}`);
      assert.deepEqual(pngSize(body), [truth.columns, truth.rows]);
      const got = await sharp(body).toColourspace('b-w').raw().toBuffer();
      assert.ok(got.equals(Buffer.from(truth.segments)), `mask of slice ${i}`);
    }
  });

  it('answers 404 for a model without a SEG there and 400 for a bad model', async () => {
    const sop = volume.sops[0]!;
    const at = `/studies/${volume.study}/series/${volume.series}/instances/${sop}/frames/1/mask`;
    const none = await get(`${at}?model=${'0'.repeat(64)}`);
    assert.equal(none.res.status, 404);
    const bad = await get(`${at}?model=../../keys`);
    assert.equal(bad.res.status, 400);
    assert.match(bad.body.toString(), /"model"/);
  });

  it('is refused to a collaborator, who sees no model output', async () => {
    const collaborator = await tokenFor(lake, Role.Collaborator, 'cora');
    const sop = volume.sops[0]!;
    for (const sha of [model, stacking]) {
      const res = await fetch(
        `${base}/studies/${volume.study}/series/${volume.series}/instances/${sop}/frames/1/mask?model=${sha}`,
        { headers: { authorization: `Bearer ${collaborator}` } },
      );
      assert.equal(res.status, 403);
    }
    const { study, series, sop: multi } = multiframe;
    const res = await fetch(
      `${base}/studies/${study}/series/${series}/instances/${multi}/frames/2/mask?model=${model}`,
      { headers: { authorization: `Bearer ${collaborator}` } },
    );
    assert.equal(res.status, 403);
  });
});

describe('masks of an encrypted lake', () => {
  it("serves a multi-frame image's sealed .npy masks as numpy reads them opened", async () => {
    const sealedLake = join(work.path, 'sealed');
    const kekFile = join(work.path, 'kek.hex');
    writeFileSync(kekFile, randomBytes(32).toString('hex') + '\n');
    const env = { LPACS_KEK_FILE: kekFile, LPACS_KEK: '' };
    const cli = async (args: string[]) => {
      const r = await runCli([...args, '--lake', sealedLake], env);
      assert.equal(r.code, 0, r.stderr);
    };
    await cli(['init', '--encrypt', '--kek-file', kekFile]);
    await cli(['ingest', join(SAMPLE, 'explicit_little.dcm')]);
    const models = join(work.path, 'models');
    await cli(['models', 'add', join(models, 'ct-threshold')]);
    // The tables are encrypted too: read through the lake's catalog.
    process.env.LPACS_KEK_FILE = kekFile;
    delete process.env.LPACS_KEK;
    const catalog = await Catalog.open(sealedLake);
    const [row] = await catalog
      .query(
        `SELECT "StudyInstanceUID" AS study, "SeriesInstanceUID" AS series,
                "SOPInstanceUID" AS sop, object_key FROM instances`,
      )
      .finally(() => catalog.close());
    const [study, series, sop] = ['study', 'series', 'sop'].map((k) =>
      String(row![k]),
    ) as [string, string, string];
    await cli(['predict', '--model', 'ct-threshold', '--series', series]);
    const cipher = LakeCipher.load(
      join(sealedLake, 'keys', 'data-keys.json'),
      parseKek(readFileSync(kekFile), 'test'),
    );
    const opened = (key: string) => {
      const path = join(sealedLake, key);
      const sealed = readFileSync(path);
      assert.equal(sealed.subarray(0, 4).toString('latin1'), 'LPE1', key);
      const plain = join(work.path, `opened-${key.replace(/\//g, '_')}`);
      writeFileSync(plain, cipher.open(sealed, path));
      return plain;
    };
    const image = opened(String(row!.object_key));
    process.env.LPACS_KEK_FILE = kekFile;
    delete process.env.LPACS_KEK;
    const server = await startServer({ lake: sealedLake, port: 0 });
    try {
      const at = server.url.replace(/graphql$/, 'dicomweb');
      const auth = await tokenFor(sealedLake, Role.Researcher, 'rita');
      for (const frame of [1, 9, 16]) {
        const npy = keyedMaskPath(
          sealedLake,
          cipher,
          model,
          sop,
          frame - 1,
          'npy',
        );
        const truth = await npyOverImage(
          opened(relative(sealedLake, npy)),
          image,
        );
        const res = await fetch(
          `${at}/studies/${study}/series/${series}/instances/${sop}/frames/${frame}/mask?model=${model}`,
          { headers: { authorization: `Bearer ${auth}` } },
        );
        assert.equal(res.status, 200, `frame ${frame}`);
        const got = await sharp(Buffer.from(await res.arrayBuffer()))
          .toColourspace('b-w')
          .raw()
          .toBuffer();
        assert.ok(got.equals(Buffer.from(truth.segments)), `frame ${frame}`);
      }
    } finally {
      await server.close();
      delete process.env.LPACS_KEK_FILE;
    }
  });
});

describe('portal configuration', () => {
  it('names no OHIF Viewer unless one is configured', async () => {
    const res = await fetch(api.url, {
      method: 'POST',
      headers: bearer(token),
      body: JSON.stringify({ query: '{ portalConfig { ohifUrl } }' }),
    });
    assert.deepEqual(await res.json(), {
      data: { portalConfig: { ohifUrl: null } },
    });
    const other = await startServer({
      lake,
      port: 0,
      ohifUrl: 'http://127.0.0.1:3000/ohif/',
    });
    try {
      const r = await fetch(other.url, {
        method: 'POST',
        headers: bearer(token),
        body: JSON.stringify({ query: '{ portalConfig { ohifUrl } }' }),
      });
      assert.deepEqual(await r.json(), {
        data: { portalConfig: { ohifUrl: 'http://127.0.0.1:3000/ohif' } },
      });
    } finally {
      await other.close();
    }
  });
});
