import { spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import type { Browser, BrowserContext, Locator, Page } from 'playwright-core';
import { REPO } from './helpers';

/** Where the portal tests write their screenshots (created on first use). */
export function screenshots(): string {
  const dir = join(REPO, 'test-output', 'screenshots');
  mkdirSync(dir, { recursive: true });
  return dir;
}

/** A TCP port on 127.0.0.1 that was free a moment ago. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/** Resolves once `url` answers 2xx, or throws after `ms`. */
export async function waitForUrl(url: string, ms: number): Promise<void> {
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

/** The built portal (`next start`) on 127.0.0.1, talking to `apiUrl`. */
export async function startPortal(
  apiUrl: string,
): Promise<{ url: string; stop: () => void }> {
  const port = await freePort();
  const next = spawn(
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
        LPACS_API_URL: apiUrl,
        NEXT_TELEMETRY_DISABLED: '1',
      },
      stdio: 'ignore',
    },
  );
  const url = `http://127.0.0.1:${port}/`;
  await waitForUrl(url, 30_000);
  return { url, stop: () => next.kill() };
}

/** Debian's Chromium, headless, with nothing reaching the network. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
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
}

/** A fresh browser context signed in to the portal as `name`. */
export async function signInAs(
  browser: Browser,
  portal: string,
  name: string,
  password: string,
): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({
    viewport: { width: 1280, height: 800 },
    acceptDownloads: true,
  });
  const page = await context.newPage();
  await page.goto(portal);
  await page.getByLabel('User name').fill(name);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page
    .getByTestId('me-name')
    .filter({ hasText: name })
    .waitFor({ timeout: 15_000 });
  return { context, page };
}

/** A link of the portal's navigation bar. */
export function navLink(page: Page, name: string): Locator {
  return page
    .getByRole('navigation', { name: 'Portal' })
    .getByRole('link', { name, exact: true });
}

/** The labels of the navigation bar's links, in order. */
export function navLabels(page: Page): Promise<string[]> {
  return page
    .getByRole('navigation', { name: 'Portal' })
    .getByRole('link')
    .allTextContents();
}

/** A GraphQL call to the API with a bearer token; returns `data` or throws. */
export async function gqlAs<T>(
  apiUrl: string,
  token: string,
  query: string,
  variables?: object,
): Promise<T> {
  const res = await fetch(apiUrl, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      authorization: `Bearer ${token}`,
    },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await res.json()) as {
    data?: T;
    errors?: Array<{ message: string }>;
  };
  if (body.errors?.length) throw new Error(body.errors[0]!.message);
  return body.data as T;
}
