import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser } from 'playwright-core';
import { AccessStore, Role } from '@lpacs/access';
import { startServer } from '@lpacs/api';
import type { RunningServer } from '@lpacs/api';
import { CT, filesUnder, runCli, tempDir, tokenFor } from './helpers';
import { launchChromium } from './portalHarness';

const work = tempDir('query-page');
const lake = join(work.path, 'lake');
const slices = filesUnder(CT)
  .filter((f) => f.endsWith('.dcm'))
  .slice(0, 3);
let server: RunningServer;
let browser: Browser;
let token: string;
let page: string;

const QUERY = '{ cohort(filter: {modality: ["CT"]}) { counts { instances } } }';

before(async () => {
  const input = join(work.path, 'input');
  mkdirSync(input);
  for (const [i, f] of slices.entries())
    writeFileSync(join(input, `${i}.dcm`), readFileSync(f));
  const r = await runCli(['ingest', input, '--lake', lake]);
  assert.equal(r.code, 0, r.stderr);
  token = await tokenFor(lake, Role.Researcher, 'rita');
  server = await startServer({ lake, port: 0 });
  page = server.url.replace(/graphql$/, '');
  browser = await launchChromium();
});
after(async () => {
  await browser?.close();
  await server?.close();
  work.remove();
});

/** Runs QUERY on the query page of a fresh tab; returns what it shows. */
async function run(pasted?: string) {
  const context = await browser.newContext();
  const tab = await context.newPage();
  await tab.goto(page);
  if (pasted !== undefined) await tab.getByLabel('API token').fill(pasted);
  await tab.getByLabel('Query').fill(QUERY);
  const answered = tab.waitForResponse((r) => r.url().endsWith('/graphql'));
  await tab.getByRole('button', { name: 'Run' }).click();
  await answered;
  await tab.locator('#out').filter({ hasText: /\S/ }).waitFor();
  return { context, tab, shown: await tab.locator('#out').textContent() };
}

describe('the query page at /', () => {
  it('answers a query with a pasted token, keeping it in the tab only', async () => {
    const { context, tab, shown } = await run(token);
    const answer = JSON.parse(shown!) as {
      data: { cohort: { counts: { instances: number } } };
    };
    // The CT slices ingested, counted from the files sent.
    assert.equal(answer.data.cohort.counts.instances, slices.length);
    assert.ok(!tab.url().includes(token), tab.url());
    // Run in the page (browser globals, which this file's types lack).
    const stored = (await tab.evaluate(
      `({ session: sessionStorage.getItem('lpacs-token'), local: localStorage.length })`,
    )) as { session: string | null; local: number };
    assert.deepEqual(stored, { session: token, local: 0 });
    // A reload in the same tab keeps it; a new browser session has none.
    await tab.reload();
    assert.equal(await tab.getByLabel('API token').inputValue(), token);
    await context.close();
    const fresh = await browser.newContext();
    const other = await fresh.newPage();
    await other.goto(page);
    assert.equal(await other.getByLabel('API token').inputValue(), '');
    await fresh.close();
  });

  it('says what is missing when no token is pasted, and answers nothing', async () => {
    const { context, shown } = await run();
    assert.match(shown!, /Not signed in: paste an API token/);
    assert.match(shown!, /UNAUTHENTICATED/);
    assert.doesNotMatch(shown!, /"instances"/);
    await context.close();
  });

  it('signs in with a user name and password and answers with that session', async () => {
    // The page's sign-in (the API's /auth/sign-in) sets the session
    // cookie its queries then carry, as the portal's does.
    await new AccessStore(lake).addUser('sam', Role.Researcher, 'pw-for-sam-1');
    const context = await browser.newContext();
    const tab = await context.newPage();
    await tab.goto(page);
    await tab.getByText('or sign in with a user name and password').click();
    await tab.getByLabel('User name').fill('sam');
    await tab.getByLabel('Password').fill('pw-for-sam-1');
    await tab.getByRole('button', { name: 'Sign in' }).click();
    await tab.locator('#who').filter({ hasText: 'signed in' }).waitFor();
    assert.equal(await tab.getByLabel('Password').inputValue(), '');
    await tab.getByLabel('Query').fill(QUERY);
    await tab.getByRole('button', { name: 'Run' }).click();
    await tab.locator('#out').filter({ hasText: /\S/ }).waitFor();
    const shown = JSON.parse((await tab.locator('#out').textContent())!) as {
      data: { cohort: { counts: { instances: number } } };
    };
    assert.equal(shown.data.cohort.counts.instances, slices.length);
    await context.close();
  });
});

describe('lpacs demo', () => {
  it('prints the token the query page asks for, and where it comes from', async () => {
    const demoLake = join(work.path, 'demo-lake');
    const r = await runCli([
      ...['demo', '--exit', '--lake', demoLake, '--port', '0'],
    ]);
    assert.equal(r.code, 0, r.stderr);
    const m =
      /== the demo's API token \(issued to (\S+) for one day; more with: npx lpacs tokens create USER\):\n(\S+)\n== the query page at (\S+) asks for it: paste it/.exec(
        r.stdout,
      );
    assert.ok(m, r.stdout);
    const principal = new AccessStore(demoLake).authenticate(m[2]!);
    assert.equal(principal.name, m[1]);
  });
});
