import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser } from 'playwright-core';
import {
  freePort,
  launchChromium,
  screenshots,
  startPortal,
} from './portalHarness';

// The portal when the API is down: it must say so, and say how to start it,
// rather than show a blank page or a sign-in form that cannot work.

const shots = screenshots();
let stopPortal: (() => void) | undefined;
let browser: Browser;
let portal: string;
let deadApi: string;

before(async () => {
  // A port that was free a moment ago: nothing answers there.
  deadApi = `http://127.0.0.1:${await freePort()}/graphql`;
  const started = await startPortal(deadApi);
  portal = started.url;
  stopPortal = started.stop;
  browser = await launchChromium();
});
after(async () => {
  await browser?.close();
  stopPortal?.();
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
