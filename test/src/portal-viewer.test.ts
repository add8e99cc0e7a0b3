import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { Role } from '@lpacs/access';
import { startServer } from '@lpacs/api';
import {
  SAMPLE,
  addModel,
  dcmdump,
  filesUnder,
  makeModels,
  parquetRows,
  runCli,
  tempDir,
} from './helpers';
import {
  screenshots,
  signInAs,
  startPortal,
  startPortalStack,
} from './portalHarness';
import type { PortalStack } from './portalHarness';
import { npyOverImage } from './npyTruth';
import { readSeg } from './segTruth';
import type { SegTruth } from './segTruth';

// The study viewer in a real browser: frames step in instance order, the
// window presets reach the API, the picture is the API's own rendering,
// and the header is the stored object's; series show thumbnails, a
// segmentation model's mask is blended over exactly its pixels (a stacking
// model's one series mask over every slice), and the OHIF link appears
// only when configured. Expected values come from dcmdump over the lake's
// objects, pydicom over the SEG objects, numpy over the .npy masks and the
// API asked directly.
const work = tempDir('portal-viewer');
const lake = join(work.path, 'lake');
const PASSWORD = 'portal viewer passphrase';
let stack: PortalStack;
let page: Page;
/** The 20-slice MR volume: its study, series and SOP UIDs in instance order. */
let volume: {
  study: string;
  series: string;
  sops: string[];
  files: string[];
};
/** The stacking model's SHA-256 and its one mask for the series (.npy). */
let stacking = '';
let seriesMask = '';
/** The first slice (0-based, in instance order) whose mask is partial, and its SEG. */
let masked: { index: number; seg: SegTruth };

before(async () => {
  const run = await runCli(['ingest', join(SAMPLE, 'volume'), '--lake', lake]);
  assert.equal(run.code, 0, run.stderr);
  const rows = await parquetRows(
    `SELECT object_key FROM read_parquet('${lake}/tables/instances/*/*.parquet')`,
  );
  const objects = rows.map((r) => {
    const v = dcmdump(join(lake, String(r.object_key)), [
      '0020,000d',
      '0020,000e',
      '0008,0018',
      '0020,0013',
    ])!;
    return {
      file: join(lake, String(r.object_key)),
      study: v['0020,000d']!,
      series: v['0020,000e']!,
      sop: v['0008,0018']!,
      n: Number(v['0020,0013']),
    };
  });
  objects.sort((a, b) => a.n - b.n);
  assert.equal(
    objects.length,
    filesUnder(join(SAMPLE, 'volume')).filter((f) => f.endsWith('.dcm')).length,
  );
  volume = {
    study: objects[0]!.study,
    series: objects[0]!.series,
    sops: objects.map((o) => o.sop),
    files: objects.map((o) => o.file),
  };
  const models = join(work.path, 'models');
  await makeModels(models);
  await addModel(lake, models, 'ct-threshold');
  const predicted = await runCli(
    ['predict', '--model', 'ct-threshold', '--series', volume.series],
    { LPACS_LAKE: lake },
  );
  assert.equal(predicted.code, 0, predicted.stderr);
  await addModel(lake, models, 'ct-volume-threshold');
  const stackingPredicted = await runCli(
    ['predict', '--model', 'ct-volume-threshold', '--series', volume.series],
    { LPACS_LAKE: lake },
  );
  assert.equal(stackingPredicted.code, 0, stackingPredicted.stderr);
  const sha = (name: string) =>
    createHash('sha256')
      .update(readFileSync(join(models, name, 'model.onnx')))
      .digest('hex');
  const model = sha('ct-threshold');
  stacking = sha('ct-volume-threshold');
  seriesMask = join(lake, 'masks', stacking, `${volume.series}-0.npy`);
  for (const [index, sop] of volume.sops.entries()) {
    const seg = await readSeg(join(lake, 'masks', model, `${sop}-0.seg.dcm`));
    const ones = [...seg.bits].filter((b) => b === '1').length;
    if (seg.refs[0] === sop && ones > 100 && ones < seg.bits.length - 100) {
      masked = { index, seg };
      break;
    }
  }
  assert.ok(masked, 'a slice with a partial mask');
  stack = await startPortalStack({
    lake,
    password: PASSWORD,
    users: { rita: Role.Researcher },
    tokens: ['rita'],
  });
  page = (await stack.signIn('rita')).page;
});
after(async () => {
  await stack?.close();
  work.remove();
});

// Page-side scripts are strings: this package compiles without the DOM.
const DRAWN =
  "(document.querySelector('figure canvas')?.getAttribute('data-drawn') ?? '')";

/** Waits until the frame canvas's data-drawn passes `test` (a JS expression over `d`). */
function drawnWhere(test: string): Promise<unknown> {
  return page.waitForFunction(`((d) => ${test})(${DRAWN})`);
}

/** The frame canvas once it shows its src alone (no mask). */
async function drawn(): Promise<string> {
  const canvas = page.getByRole('img', { name: /^Instance/ });
  await canvas.waitFor();
  const src = (await canvas.getAttribute('data-src'))!;
  await drawnWhere(`d === ${JSON.stringify(src)}`);
  return src;
}

/** The frame canvas's RGBA pixels, read in the page. */
function canvasPixels(): Promise<number[]> {
  return page.evaluate(
    "(() => { const c = document.querySelector('figure canvas'); return Array.from(c.getContext('2d').getImageData(0, 0, c.width, c.height).data); })()",
  );
}

/** An image URL as the page's own decoder gives it, RGBA. */
function decodedInPage(url: string): Promise<number[]> {
  return page.evaluate(
    `(async () => { const b = await createImageBitmap(await (await fetch(${JSON.stringify(url)})).blob()); const c = new OffscreenCanvas(b.width, b.height); const g = c.getContext('2d'); g.drawImage(b, 0, 0); return Array.from(g.getImageData(0, 0, c.width, c.height).data); })()`,
  );
}

async function shownImage(): Promise<{ src: string; sha: string }> {
  const src = await drawn();
  const bytes = await page.evaluate(async (u) => {
    const r = await fetch(u);
    return Array.from(new Uint8Array(await r.arrayBuffer()));
  }, src);
  return {
    src,
    sha: createHash('sha256').update(Buffer.from(bytes)).digest('hex'),
  };
}

describe('study viewer in Chromium', () => {
  it('steps through the volume in instance order with the keyboard', async () => {
    await page.goto(`${stack.portal}studies/${volume.study}`);
    // Every slice has a mask; these checks are of the bare frames.
    await page.getByRole('checkbox', { name: 'Show mask' }).uncheck();
    const first = await shownImage();
    assert.ok(
      first.src.includes(`/instances/${volume.sops[0]}/frames/1/rendered`),
    );
    await page.getByRole('img', { name: /^Instance/ }).focus();
    for (let i = 0; i < 3; i++) await page.keyboard.press('ArrowDown');
    await page
      .getByTestId('frame-position')
      .filter({ hasText: `4 / ${volume.sops.length}` })
      .waitFor();
    const fourth = await shownImage();
    assert.ok(
      fourth.src.includes(`/instances/${volume.sops[3]}/frames/1/rendered`),
    );
    // The header shown is the current instance's.
    await page
      .locator('tr[data-tag="00080018"] td')
      .last()
      .filter({ hasText: volume.sops[3]! })
      .waitFor();
    await page.screenshot({ path: join(screenshots(), 'viewer-volume.png') });
    await page.getByRole('combobox', { name: /^Zoom/ }).selectOption('2');
    const width = await page
      .getByRole('img', { name: /^Instance/ })
      .evaluate((el) => el.getBoundingClientRect().width);
    assert.equal(Math.round(width), 1024);
    await page.getByRole('combobox', { name: /^Zoom/ }).selectOption('1');
  });

  it('shows what the API renders for a window preset', async () => {
    await page.getByRole('button', { name: 'Brain' }).click();
    await page
      .getByRole('img', { name: /^Instance/ })
      .and(page.locator('[data-src*="window=40,80"]'))
      .waitFor();
    const shown = await shownImage();
    const direct = await fetch(
      `${stack.api.url.replace(/graphql$/, 'dicomweb')}/studies/${volume.study}/series/${volume.series}/instances/${volume.sops[3]}/frames/1/rendered?window=40,80,linear`,
      {
        headers: {
          authorization: `Bearer ${stack.token.rita}`,
          accept: 'image/png',
        },
      },
    );
    const expected = createHash('sha256')
      .update(Buffer.from(await direct.arrayBuffer()))
      .digest('hex');
    const viaPortal = await page.evaluate(async (u) => {
      const r = await fetch(u, { headers: { accept: 'image/png' } });
      return Array.from(new Uint8Array(await r.arrayBuffer()));
    }, shown.src);
    assert.equal(
      createHash('sha256').update(Buffer.from(viaPortal)).digest('hex'),
      expected,
    );
    await page.screenshot({
      path: join(screenshots(), 'viewer-brain-window.png'),
    });
  });
  it('shows each series with its thumbnail', async () => {
    const thumb = page
      .getByRole('navigation', { name: 'Series' })
      .locator('img');
    assert.equal(await thumb.count(), 1);
    await page.waitForFunction(
      "(() => { const i = document.querySelector('nav[aria-label=Series] img'); return !!i && i.complete && i.naturalWidth > 0; })()",
    );
    // 256 x 256 slices shrink to the 128 x 128 box the viewer asks for.
    const size = await page.evaluate(
      "(() => { const i = document.querySelector('nav[aria-label=Series] img'); return [i.naturalWidth, i.naturalHeight]; })()",
    );
    assert.deepEqual(size, [128, 128]);
  });

  it('blends the mask over exactly its pixels, with a toggle and an opacity', async () => {
    await page.goto(`${stack.portal}studies/${volume.study}`);
    const canvas = page.getByRole('img', { name: /^Instance/ });
    await canvas.waitFor();
    const show = page.getByRole('checkbox', { name: 'Show mask' });
    await show.waitFor();
    await canvas.focus();
    for (let i = 0; i < masked.index; i++)
      await page.keyboard.press('ArrowDown');
    await page
      .getByTestId('frame-position')
      .filter({ hasText: `${masked.index + 1} / ${volume.sops.length}` })
      .waitFor();
    if (!(await show.isChecked())) await show.check();
    await page
      .getByRole('combobox', { name: 'Model' })
      .selectOption({ label: 'ct-threshold 1.0.0' });
    await drawnWhere("d.includes('/mask?model=')");
    const over = await canvasPixels();
    await page.screenshot({ path: join(screenshots(), 'viewer-mask.png') });
    await show.uncheck();
    const bareSrc = await drawn();
    const bare = await canvasPixels();
    // The bare canvas is the API's rendering as the browser decodes it.
    assert.deepEqual(bare, await decodedInPage(bareSrc));
    const { bits, rows, columns } = masked.seg;
    assert.equal(over.length, rows * columns * 4);
    let inside = 0;
    for (let p = 0; p < rows * columns; p++) {
      const a = over.slice(p * 4, p * 4 + 4);
      const b = bare.slice(p * 4, p * 4 + 4);
      if (bits[p] === '1') {
        inside++;
        assert.notDeepEqual(a, b, `pixel ${p} is in the mask`);
      } else assert.deepEqual(a, b, `pixel ${p} is outside the mask`);
    }
    assert.ok(inside > 100);
    // At full opacity the mask shows segment 1's colour, (255, 48, 48).
    await show.check();
    await page.getByRole('slider', { name: /Mask opacity/ }).fill('1');
    await drawnWhere("d.includes('/mask?model=') && d.endsWith(' 1')");
    const full = await canvasPixels();
    const first = bits.indexOf('1');
    assert.deepEqual(full.slice(first * 4, first * 4 + 4), [255, 48, 48, 255]);
    await page.getByRole('slider', { name: /Mask opacity/ }).fill('0.5');
  });

  it("blends a stacking model's series mask over every slice, exactly its pixels", async () => {
    await page.goto(`${stack.portal}studies/${volume.study}`);
    const canvas = page.getByRole('img', { name: /^Instance/ });
    await canvas.waitFor();
    const show = page.getByRole('checkbox', { name: 'Show mask' });
    await show.waitFor();
    if (!(await show.isChecked())) await show.check();
    await page
      .getByRole('combobox', { name: 'Model' })
      .selectOption({ label: 'ct-volume-threshold 1.0.0' });
    await page.getByTestId('mask-scope').waitFor();
    let at = 0;
    // The first, a middle and the last slice: one series mask on each.
    for (const index of [0, 9, volume.sops.length - 1]) {
      await canvas.focus();
      for (; at < index; at++) await page.keyboard.press('ArrowDown');
      await page
        .getByTestId('frame-position')
        .filter({ hasText: `${index + 1} / ${volume.sops.length}` })
        .waitFor();
      const sop = volume.sops[index]!;
      if (!(await show.isChecked())) await show.check();
      await drawnWhere(
        `d.includes('/instances/${sop}/') && d.includes('/mask?model=${stacking}')`,
      );
      const over = await canvasPixels();
      await show.uncheck();
      const bareSrc = await drawn();
      const bare = await canvasPixels();
      assert.deepEqual(bare, await decodedInPage(bareSrc));
      const truth = await npyOverImage(seriesMask, volume.files[index]!);
      const { rows, columns, segments } = truth;
      assert.equal(over.length, rows * columns * 4);
      let inside = 0;
      for (let p = 0; p < rows * columns; p++) {
        const a = over.slice(p * 4, p * 4 + 4);
        const b = bare.slice(p * 4, p * 4 + 4);
        if (segments[p] === 1) {
          inside++;
          assert.notDeepEqual(
            a,
            b,
            `slice ${index}: pixel ${p} is in the mask`,
          );
        } else
          assert.deepEqual(
            a,
            b,
            `slice ${index}: pixel ${p} is outside the mask`,
          );
      }
      assert.ok(inside > 1000 && inside < rows * columns - 1000);
      await show.check();
    }
    await page.screenshot({
      path: join(screenshots(), 'viewer-series-mask.png'),
    });
  });

  it('shows no OHIF link when none is configured', async () => {
    const config = page.waitForResponse(
      (r) =>
        r.url().endsWith('/api/graphql') &&
        (r.request().postData() ?? '').includes('portalConfig'),
    );
    await page.goto(`${stack.portal}studies/${volume.study}`);
    await (await config).finished();
    await page.getByRole('img', { name: /^Instance/ }).waitFor();
    assert.equal(
      await page.getByRole('link', { name: 'Open in OHIF' }).count(),
      0,
    );
  });
});

describe('OHIF link in Chromium', () => {
  it('links the study to the configured OHIF Viewer', async () => {
    const ohif = await startServer({
      lake,
      port: 0,
      ohifUrl: 'http://127.0.0.1:3999/ohif/',
    });
    const other = await startPortal(ohif.url);
    try {
      const { context, page: p } = await signInAs(
        stack.browser,
        other.url,
        'rita',
        PASSWORD,
      );
      await p.goto(`${other.url}studies/${volume.study}`);
      const link = p.getByRole('link', { name: 'Open in OHIF' });
      await link.waitFor();
      assert.equal(
        await link.getAttribute('href'),
        `http://127.0.0.1:3999/ohif/viewer?StudyInstanceUIDs=${volume.study}`,
      );
      await context.close();
    } finally {
      other.stop();
      await ohif.close();
    }
  });
});
