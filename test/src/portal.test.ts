import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { chromium } from 'playwright-core';
import type { Browser, Page } from 'playwright-core';
import { startServer } from '@lpacs/api';
import type { RunningServer } from '@lpacs/api';
import { AccessStore, Role } from '@lpacs/access';
import { REPO, SAMPLE, bearer, runCli, tempDir, tokenFor } from './helpers';

const work = tempDir('portal');
const artefacts = join(REPO, 'test-output', 'screenshots');
let api: RunningServer;
let next: ChildProcess;
let browser: Browser;
let page: Page;
let portal: string;
let token: string;
const PASSWORD = 'portal test passphrase';

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

async function waitFor(url: string, ms: number): Promise<void> {
  const end = Date.now() + ms;
  for (;;) {
    try {
      if ((await fetch(url)).ok) return;
    } catch {
      // not up yet
    }
    if (Date.now() > end)
      throw new Error(`${url} did not answer within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function countsFromApi(filter: object | null) {
  const res = await fetch(api.url, {
    method: 'POST',
    headers: bearer(token),
    body: JSON.stringify({
      query:
        'query ($f: CohortFilter) { cohort(filter: $f) { counts { studies instances } } }',
      variables: { f: filter },
    }),
  });
  return (
    (await res.json()) as {
      data: { cohort: { counts: { studies: number; instances: number } } };
    }
  ).data.cohort.counts;
}

before(async () => {
  const lake = join(work.path, 'lake');
  const run = await runCli(['ingest', SAMPLE, '--lake', lake]);
  assert.equal(run.code, 0, run.stderr);
  await new AccessStore(lake).addUser('rita', Role.Researcher, PASSWORD);
  token = await tokenFor(lake, Role.Researcher, 'rita');
  api = await startServer({ lake, port: 0 });
  const port = await freePort();
  next = spawn(
    process.execPath,
    [
      join(REPO, 'node_modules', 'next', 'dist', 'bin', 'next'),
      'start',
      '-H',
      '127.0.0.1',
      '-p',
      String(port),
    ],
    {
      cwd: join(REPO, 'apps', 'web'),
      env: {
        ...process.env,
        LPACS_API_URL: api.url,
        NEXT_TELEMETRY_DISABLED: '1',
      },
      stdio: 'ignore',
    },
  );
  portal = `http://127.0.0.1:${port}/`;
  await waitFor(portal, 30_000);
  browser = await chromium.launch({
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
  page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  mkdirSync(artefacts, { recursive: true });
});
after(async () => {
  await browser?.close();
  next?.kill();
  await api?.close();
  work.remove();
});

describe('portal in Chromium', () => {
  it('asks who you are, and refuses a wrong password', async () => {
    await page.goto(portal);
    await page.getByLabel('User name').fill('rita');
    await page.getByLabel('Password').fill('not the password');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page
      .getByRole('alert')
      .filter({ hasText: 'wrong user name or password' })
      .waitFor({ timeout: 15_000 });
    await page.screenshot({ path: join(artefacts, 'sign-in.png') });
  });

  it('shows the live counts of the whole lake once signed in', async () => {
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    const instances = page.locator('dd[data-level="instances"]');
    await instances.waitFor({ timeout: 15_000 });
    const expected = await countsFromApi(null);
    assert.equal(await instances.textContent(), String(expected.instances));
    assert.equal(
      await page.locator('dd[data-level="studies"]').textContent(),
      String(expected.studies),
    );
    await page.screenshot({ path: join(artefacts, 'cohort-all.png') });
  });

  it('updates the counts when a modality is chosen', async () => {
    const expected = await countsFromApi({ modality: ['CT'] });
    await page.getByRole('checkbox', { name: /^CT/ }).check();
    const instances = page.locator('dd[data-level="instances"]');
    // react-query refetches on the change; poll what a user would see.
    const end = Date.now() + 10_000;
    while (
      (await instances.textContent()) !== String(expected.instances) &&
      Date.now() < end
    ) {
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(await instances.textContent(), String(expected.instances));
    await page.screenshot({ path: join(artefacts, 'cohort-ct.png') });
  });
});
