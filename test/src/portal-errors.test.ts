import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { chromium } from 'playwright-core';
import type { Browser } from 'playwright-core';
import { REPO } from './helpers';

// The portal when the API is down: it must say so, and say how to start it,
// rather than show a blank page or a sign-in form that cannot work.

const shots = join(REPO, 'test-output', 'screenshots');
let next: ChildProcess;
let browser: Browser;
let portal: string;
let deadApi: string;

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

async function waitForUrl(url: string, ms: number): Promise<void> {
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

before(async () => {
  // A port that was free a moment ago: nothing answers there.
  deadApi = `http://127.0.0.1:${await freePort()}/graphql`;
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
        LPACS_API_URL: deadApi,
        NEXT_TELEMETRY_DISABLED: '1',
      },
      stdio: 'ignore',
    },
  );
  portal = `http://127.0.0.1:${port}/`;
  await waitForUrl(portal, 30_000);
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
  mkdirSync(shots, { recursive: true });
});
after(async () => {
  await browser?.close();
  next?.kill();
});

describe('portal without its API', () => {
  it('says the API is not reachable, where it looked, and how to start it', async () => {
    const page = await browser.newPage({
      viewport: { width: 1280, height: 800 },
    });
    await page.goto(portal);
    // Next.js keeps an empty route announcer with the alert role too.
    const alert = page.getByRole('alert').filter({ hasText: /\S/ });
    await alert.waitFor({ timeout: 15_000 });
    const text = (await alert.textContent()) ?? '';
    assert.match(text, /not reachable/);
    assert.ok(text.includes(deadApi), text);
    assert.match(text, /npx lpacs serve/);
    await page.screenshot({ path: join(shots, 'api-unreachable.png') });
    await page.close();
  });
});
