import { spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import type { Browser, BrowserContext, Locator, Page } from 'playwright-core';
import { AccessStore } from '@lpacs/access';
import type { Role } from '@lpacs/access';
import { startServer } from '@lpacs/api';
import type { RunningServer } from '@lpacs/api';
import { REPO, gqlAs, tokenFor } from './helpers';

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

/** What a signed-in page of the portal is, with what it logged. */
export interface SignedIn {
  context: BrowserContext;
  page: Page;
  /**
   * The errors the page's console logged from its first load on; Chromium
   * logs there a resource that failed, the favicon too (which it asks for
   * once per browser, on its first page, and no response event shows).
   */
  consoleErrors: string[];
}

/** A fresh browser context signed in to the portal as `name`. */
export async function signInAs(
  browser: Browser,
  portal: string,
  name: string,
  password: string,
): Promise<SignedIn> {
  const context = await browser.newContext({
    viewport: { width: 1280, height: 800 },
    acceptDownloads: true,
  });
  const page = await context.newPage();
  const consoleErrors: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error')
      consoleErrors.push(`${m.text()} (${m.location().url})`);
  });
  await page.goto(portal);
  await page.getByLabel('User name').fill(name);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page
    .getByTestId('me-name')
    .filter({ hasText: name })
    .waitFor({ timeout: 15_000 });
  return { context, page, consoleErrors };
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

/** What a portal test signs in to: the API, the portal over it, Chromium. */
export interface PortalStack {
  api: RunningServer;
  /** The portal's address, ending in `/`. */
  portal: string;
  browser: Browser;
  /** The API tokens made for the users asked for, by user name. */
  token: Record<string, string>;
  /** A fresh browser context signed in as `name`. */
  signIn(name: string): Promise<SignedIn>;
  /** GraphQL as `name`, with their token: the data, or a failed assert. */
  gql<T>(name: string, query: string, variables?: object): Promise<T>;
  /** Closes Chromium, then stops the portal and the API. */
  close(): Promise<void>;
}

export interface PortalStackOptions {
  /** A lake already made (ingested) by the test. */
  lake: string;
  /** The users to add, by name: each signs in with `password`. */
  users: Record<string, Role>;
  password: string;
  /** The users who also get an API token, as `lpacs tokens create` makes. */
  tokens?: string[];
}

/**
 * Adds the users to `lake`, then starts the API over it, the portal over
 * the API and Chromium; what started is stopped again if a later step
 * fails, so a failing `before` leaves no server behind.
 */
export async function startPortalStack(
  options: PortalStackOptions,
): Promise<PortalStack> {
  const { lake, users, password } = options;
  const store = new AccessStore(lake);
  for (const [name, role] of Object.entries(users))
    await store.addUser(name, role, password);
  const token: Record<string, string> = {};
  for (const name of options.tokens ?? [])
    token[name] = await tokenFor(lake, users[name]!, name);
  const stops: Array<() => unknown> = [];
  const close = async () => {
    for (const stop of stops.splice(0).reverse()) await stop();
  };
  try {
    const api = await startServer({ lake, port: 0 });
    stops.push(() => api.close());
    const started = await startPortal(api.url);
    stops.push(started.stop);
    const browser = await launchChromium();
    stops.push(() => browser.close());
    return {
      api,
      portal: started.url,
      browser,
      token,
      signIn: (name) => signInAs(browser, started.url, name, password),
      gql: <T>(name: string, query: string, variables?: object) =>
        gqlAs<T>(api.url, token[name]!, query, variables),
      close,
    };
  } catch (err) {
    await close();
    throw err;
  }
}
