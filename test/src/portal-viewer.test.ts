import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { AccessStore, Role } from '@lpacs/access';
import { startServer } from '@lpacs/api';
import type { RunningServer } from '@lpacs/api';
import {
  SAMPLE,
  dcmdump,
  filesUnder,
  parquetRows,
  runCli,
  tempDir,
} from './helpers';
import {
  launchChromium,
  screenshots,
  signInAs,
  startPortal,
} from './portalHarness';

// The study viewer in a real browser: frames step in instance order, the
// window presets reach the API, the picture is the API's own rendering,
// and the header is the stored object's. Expected values come from
// dcmdump over the lake's objects and from the API asked directly.
const work = tempDir('portal-viewer');
const lake = join(work.path, 'lake');
const PASSWORD = 'portal viewer passphrase';
let api: RunningServer;
let stopPortal: (() => void) | undefined;
let browser: Browser;
let portal = '';
let page: Page;
let token = '';
/** The 20-slice MR volume: its study, series and SOP UIDs in instance order. */
let volume: { study: string; series: string; sops: string[] };

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
  };
  const store = new AccessStore(lake);
  await store.addUser('rita', Role.Researcher, PASSWORD);
  token = (await store.issueToken('rita')).token;
  api = await startServer({ lake, port: 0 });
  const started = await startPortal(api.url);
  portal = started.url;
  stopPortal = started.stop;
  browser = await launchChromium();
  page = (await signInAs(browser, portal, 'rita', PASSWORD)).page;
});
after(async () => {
  await browser?.close();
  stopPortal?.();
  await api?.close();
  work.remove();
});

async function shownImage(): Promise<{ src: string; sha: string }> {
  const img = page.getByRole('img', { name: /^Instance/ });
  await img.waitFor();
  await page.waitForFunction(
    "(() => { const i = document.querySelector('figure img'); return !!i && i.complete && i.naturalWidth > 0; })()",
  );
  const src = (await img.getAttribute('src'))!;
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
    await page.goto(`${portal}studies/${volume.study}`);
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
      .and(page.locator('[src*="window=40,80"]'))
      .waitFor();
    const shown = await shownImage();
    const direct = await fetch(
      `${api.url.replace(/graphql$/, 'dicomweb')}/studies/${volume.study}/series/${volume.series}/instances/${volume.sops[3]}/frames/1/rendered?window=40,80,linear`,
      { headers: { authorization: `Bearer ${token}`, accept: 'image/png' } },
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
});
