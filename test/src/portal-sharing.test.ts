import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Locator, Page } from 'playwright-core';
import { Role } from '@lpacs/access';
import {
  SAMPLE,
  dcmdump,
  filesUnder,
  gqlResult,
  runCli,
  tempDir,
} from './helpers';
import {
  navLabels,
  navLink,
  screenshots,
  startPortalStack,
} from './portalHarness';
import type { PortalStack } from './portalHarness';

// The sharing story in a real browser: a researcher builds and saves a
// cohort and asks to share it, a steward approves, the collaborator
// downloads the zip. Every number the pages show is checked against the
// API asked directly with a token; the zip is checked by Python's zipfile
// and by hashing every file against its manifest.

const work = tempDir('portal-sharing');
const lake = join(work.path, 'lake');
const shots = screenshots();
const PASSWORD = 'portal story passphrase';
const COHORT = 'MR for the portal story';
let stack: PortalStack;

interface Counts {
  patients: number;
  studies: number;
  series: number;
  instances: number;
}

/** Polls what a user would read until it equals `expected`. */
async function expectText(
  locator: Locator,
  expected: string,
  ms = 10_000,
): Promise<void> {
  const end = Date.now() + ms;
  let seen: string | null = null;
  while (Date.now() < end) {
    seen = await locator.textContent().catch(() => null);
    if (seen?.trim() === expected) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.equal(seen?.trim(), expected);
}

async function expectCounts(page: Page, expected: Counts): Promise<void> {
  for (const level of ['patients', 'studies', 'series', 'instances'] as const) {
    await expectText(
      page.locator(`dl[aria-label="Cohort counts"] dd[data-level="${level}"]`),
      expected[level].toLocaleString('en'),
    );
  }
}

before(async () => {
  const run = await runCli(['ingest', SAMPLE, '--lake', lake]);
  assert.equal(run.code, 0, run.stderr);
  stack = await startPortalStack({
    lake,
    password: PASSWORD,
    users: {
      rita: Role.Researcher,
      sam: Role.Steward,
      cole: Role.Collaborator,
      otto: Role.Collaborator,
    },
    tokens: ['rita', 'sam', 'cole'],
  });
});
after(async () => {
  await stack?.close();
  work.remove();
});

describe('portal sharing story in Chromium', () => {
  let rita: Page;
  let sam: Page;
  let cole: Page;

  it('shows a researcher the builder, saved cohorts and tokens only', async () => {
    // The browser's first page: the one Chromium asks for a favicon on.
    const signedIn = await stack.signIn('rita');
    rita = signedIn.page;
    await rita
      .locator('dd[data-level="instances"]')
      .waitFor({ timeout: 15_000 });
    await rita.waitForLoadState('networkidle');
    assert.deepEqual(signedIn.consoleErrors, []);
    assert.deepEqual(await navLabels(rita), [
      'Cohort builder',
      'Saved cohorts',
      'Models',
      'API tokens',
    ]);
    assert.equal(await rita.getByTestId('me-role').textContent(), 'researcher');
    const all = await stack.gql<{ cohort: { counts: Counts } }>(
      'rita',
      '{ cohort { counts { patients studies series instances } } }',
    );
    await expectCounts(rita, all.cohort.counts);
    await rita.screenshot({ path: join(shots, 'story-1-builder.png') });
  });

  it('pages through the studies by the API cursor', async () => {
    await rita.getByLabel('Studies per page').selectOption('5');
    const first = await stack.gql<{
      cohort: {
        studies: {
          nodes: Array<{ studyInstanceUID: string }>;
          pageInfo: { endCursor: string; hasNextPage: boolean };
        };
      };
    }>(
      'rita',
      '{ cohort { studies(first: 5) { nodes { studyInstanceUID } pageInfo { endCursor hasNextPage } } } }',
    );
    const second = await stack.gql<{
      cohort: { studies: { nodes: Array<{ studyInstanceUID: string }> } };
    }>(
      'rita',
      'query ($a: String) { cohort { studies(first: 5, after: $a) { nodes { studyInstanceUID } } } }',
      { a: first.cohort.studies.pageInfo.endCursor },
    );
    assert.ok(first.cohort.studies.pageInfo.hasNextPage);
    const uids = rita.locator(
      'section[aria-labelledby="studies-heading"] tbody tr td:first-child',
    );
    const expectUids = async (expected: string[]) => {
      const end = Date.now() + 10_000;
      let seen: string[] = [];
      while (Date.now() < end) {
        seen = await uids.allTextContents();
        if (JSON.stringify(seen) === JSON.stringify(expected)) return;
        await new Promise((r) => setTimeout(r, 100));
      }
      assert.deepEqual(seen, expected);
    };
    await expectUids(first.cohort.studies.nodes.map((n) => n.studyInstanceUID));
    await rita.getByRole('button', { name: 'Next page' }).click();
    await expectUids(
      second.cohort.studies.nodes.map((n) => n.studyInstanceUID),
    );
    await rita.getByRole('button', { name: 'Previous page' }).click();
    await expectUids(first.cohort.studies.nodes.map((n) => n.studyInstanceUID));
    // By age, Next goes on past the studies without an age (new-user
    // trial: "Could not load the studies: internal error"), 5 at a time,
    // to the API's one-page answer.
    const byAge = (
      await stack.gql<{
        cohort: {
          studies: {
            nodes: Array<{ studyInstanceUID: string; ageYears: number | null }>;
          };
        };
      }>(
        'rita',
        '{ cohort { studies(first: 500, orderBy: AGE) { nodes { studyInstanceUID ageYears } } } }',
      )
    ).cohort.studies.nodes;
    assert.ok(byAge.some((n) => n.ageYears === null));
    assert.ok(byAge.some((n) => n.ageYears !== null));
    await rita.getByLabel('Order by').selectOption('AGE');
    const next = rita.getByRole('button', { name: 'Next page' });
    for (let at = 0; at < byAge.length; at += 5) {
      if (at > 0) await next.click();
      await expectUids(byAge.slice(at, at + 5).map((n) => n.studyInstanceUID));
    }
    assert.equal(await next.isDisabled(), true);
    await rita.getByLabel('Order by').selectOption('STUDY_INSTANCE_UID');
  });

  it('updates counts and the other facets when a modality is chosen', async () => {
    const mr = await stack.gql<{
      cohort: {
        counts: Counts;
        facets: { sex: Array<{ value: string; count: number }> };
      };
    }>(
      'rita',
      '{ cohort(filter: { modality: ["MR"] }) { counts { patients studies series instances } facets { sex { value count } } } }',
    );
    await rita
      .getByRole('group', { name: 'Modality' })
      .getByRole('checkbox', { name: /^MR / })
      .check();
    await expectCounts(rita, mr.cohort.counts);
    const sexLabels = mr.cohort.facets.sex
      .filter((f) => f.value !== '(none)')
      .map((f) => `${f.value} (${f.count})`)
      .sort();
    const shown = async () =>
      (
        await rita
          .getByRole('group', { name: 'Sex' })
          .locator('label')
          .allTextContents()
      )
        .map((t) => t.trim())
        .sort();
    const end = Date.now() + 10_000;
    while (
      JSON.stringify(await shown()) !== JSON.stringify(sexLabels) &&
      Date.now() < end
    )
      await new Promise((r) => setTimeout(r, 100));
    assert.deepEqual(await shown(), sexLabels);
    await rita.screenshot({ path: join(shots, 'story-2-builder-mr.png') });
  });

  it('saves the cohort with the counts the API froze', async () => {
    await rita.getByLabel('Cohort name').fill(COHORT);
    await rita.getByRole('button', { name: 'Save cohort' }).click();
    await rita
      .getByRole('status')
      .filter({ hasText: `Saved “${COHORT}”` })
      .waitFor({ timeout: 15_000 });
    const saved = await stack.gql<{
      savedCohorts: Array<{ name: string; counts: Counts; filter: string }>;
    }>('rita', '{ savedCohorts { name filter counts { instances } } }');
    assert.equal(saved.savedCohorts.length, 1);
    assert.equal(saved.savedCohorts[0]!.name, COHORT);
    assert.deepEqual(JSON.parse(saved.savedCohorts[0]!.filter), {
      modality: ['MR'],
    });
  });

  it('lists the saved cohort with frozen and today counts, and requests a share', async () => {
    await navLink(rita, 'Saved cohorts').click();
    const row = rita.getByRole('row', { name: new RegExp(COHORT) });
    await row.waitFor({ timeout: 15_000 });
    const frozen = (
      await stack.gql<{ savedCohorts: Array<{ counts: Counts }> }>(
        'rita',
        '{ savedCohorts { counts { patients studies series instances } } }',
      )
    ).savedCohorts[0]!.counts;
    for (const level of ['patients', 'instances'] as const) {
      const n = frozen[level].toLocaleString('en');
      await expectText(row.locator(`td[data-level="${level}"]`), `${n} / ${n}`);
    }
    await rita
      .getByRole('button', { name: `Request share of ${COHORT}` })
      .click();
    const form = rita.getByRole('form', {
      name: `Request a share of ${COHORT}`,
    });
    // A steward is no collaborator: the API's reason is shown as it is.
    await form.getByLabel('Collaborator (user name)').fill('sam');
    await form.getByLabel('Purpose').fill('external validation of a model');
    await form.getByRole('button', { name: 'Request share' }).click();
    await form
      .getByRole('alert')
      .filter({ hasText: '"sam" is not an active collaborator' })
      .waitFor({ timeout: 10_000 });
    await form.getByLabel('Collaborator (user name)').fill('cole');
    await form.getByRole('button', { name: 'Request share' }).click();
    await form
      .getByRole('status')
      .filter({ hasText: 'Requested' })
      .waitFor({ timeout: 10_000 });
    const mine = rita.getByRole('table', { name: 'My share requests' });
    await mine
      .locator('td[data-status="pending"]')
      .waitFor({ timeout: 10_000 });
    await rita.screenshot({
      path: join(shots, 'story-3-saved-cohorts.png'),
      fullPage: true,
    });
    const shares = await stack.gql<{
      shareRequests: Array<{ collaborator: string; status: string }>;
    }>('rita', '{ shareRequests { collaborator status } }');
    assert.deepEqual(shares.shareRequests, [
      { collaborator: 'cole', status: 'pending' },
    ]);
  });

  it('lets the steward deny only with a reason, then approve', async () => {
    sam = (await stack.signIn('sam')).page;
    assert.deepEqual(await navLabels(sam), [
      'Cohort builder',
      'Saved cohorts',
      'Share requests',
      'Releases',
      'Lake',
      'Operations',
      'API tokens',
    ]);
    await navLink(sam, 'Share requests').click();
    const pending = sam.getByRole('table', { name: 'Pending share requests' });
    const row = pending.getByRole('row', { name: new RegExp(COHORT) });
    await row.waitFor({ timeout: 15_000 });
    await sam.screenshot({ path: join(shots, 'story-4-inbox.png') });
    await row.getByRole('button', { name: 'Deny' }).click();
    await row
      .getByRole('alert')
      .filter({ hasText: 'A reason is required to deny' })
      .waitFor({ timeout: 5_000 });
    const stillPending = await stack.gql<{ shareRequests: unknown[] }>(
      'sam',
      '{ shareRequests(status: "pending") { id } }',
    );
    assert.equal(stillPending.shareRequests.length, 1);
    await row.getByRole('button', { name: 'Approve' }).click();
    await sam
      .getByRole('table', { name: 'Decided share requests' })
      .locator('td[data-status="approved"]')
      .waitFor({ timeout: 30_000 });
    const decided = await stack.gql<{
      shareRequests: Array<{ status: string; decidedBy: string }>;
    }>('sam', '{ shareRequests { status decidedBy } }');
    assert.deepEqual(decided.shareRequests, [
      { status: 'approved', decidedBy: 'sam' },
    ]);
    await sam.screenshot({ path: join(shots, 'story-5-approved.png') });
  });

  it('shows the collaborator only My releases, with the API’s size and file count', async () => {
    cole = (await stack.signIn('cole')).page;
    await cole.waitForURL(/\/releases$/, { timeout: 10_000 });
    assert.deepEqual(await navLabels(cole), ['My releases']);
    const releases = await stack.gql<{
      releases: Array<{ id: string; fileCount: number; totalBytes: number }>;
    }>('cole', '{ releases { id fileCount totalBytes } }');
    assert.equal(releases.releases.length, 1);
    const release = releases.releases[0]!;
    const rows = cole.locator('tr[data-release]');
    await rows.first().waitFor({ timeout: 15_000 });
    assert.equal(await rows.count(), 1);
    assert.equal(await rows.first().getAttribute('data-release'), release.id);
    assert.equal(
      await rows.first().locator('td[data-file-count]').textContent(),
      release.fileCount.toLocaleString('en'),
    );
    assert.equal(
      await rows.first().locator('td[data-bytes]').getAttribute('data-bytes'),
      String(release.totalBytes),
    );
    await cole.screenshot({ path: join(shots, 'story-6-my-releases.png') });
  });

  it('tells the collaborator a study outside the release is not found or not shared, as for none', async () => {
    // What the API answers cole, asked with his token: the studies of his
    // release, and no series for a CT study (not in the MR release) nor
    // for a UID no study has.
    const web = stack.api.url.replace(/graphql$/, 'dicomweb');
    const qido = async (path: string) => {
      const res = await fetch(`${web}/${path}`, {
        headers: {
          authorization: `Bearer ${stack.token.cole}`,
          accept: 'application/dicom+json',
        },
      });
      assert.equal(res.status, 200, path);
      return (await res.json()) as Array<Record<string, { Value?: unknown[] }>>;
    };
    const shared = (await qido('studies')).map((s) =>
      String(s['0020000D']?.Value?.[0]),
    );
    assert.ok(shared.length > 0);
    const ct = await stack.gql<{
      cohort: { studies: { nodes: Array<{ studyInstanceUID: string }> } };
    }>(
      'rita',
      '{ cohort(filter: { modality: ["CT"] }) { studies(first: 1) { nodes { studyInstanceUID } } } }',
    );
    const outside = ct.cohort.studies.nodes[0]!.studyInstanceUID;
    assert.ok(!shared.includes(outside));
    const none = '2.25.1';
    assert.deepEqual(await qido(`studies/${outside}/series`), []);
    assert.deepEqual(await qido(`studies/${none}/series`), []);
    // A tab of cole's session of its own, so My releases stays open.
    const tab = await cole.context().newPage();
    const said: string[] = [];
    for (const uid of [outside, none]) {
      await tab.goto(`${stack.portal}studies/${uid}`);
      const alert = tab.getByTestId('study-not-found');
      await alert.waitFor({ timeout: 15_000 });
      said.push((await alert.textContent()) ?? '');
      assert.equal(
        await tab.getByText('Loading frames', { exact: false }).count(),
        0,
      );
    }
    assert.equal(
      said[0],
      'Study not found: it is not in the lake, or not shared with you. Check the link, or ask the person who shared it.',
    );
    assert.equal(said[1], said[0]);
    await tab.screenshot({ path: join(shots, 'story-6b-not-shared.png') });
    // A study of his release opens on its first frame, with no error: the
    // portal does not ask for what his role may not have (predictions need
    // cohort.query), and nothing the page loads fails (a favicon neither).
    const problems: string[] = [];
    const graphql: string[] = [];
    tab.on('console', (m) => {
      if (m.type() === 'error') problems.push(`console: ${m.text()}`);
    });
    tab.on('response', (r) => {
      if (r.status() >= 400) problems.push(`HTTP ${r.status()} ${r.url()}`);
    });
    tab.on('request', (r) => {
      if (r.url().endsWith('/api/graphql')) graphql.push(r.postData() ?? '');
    });
    await tab.goto(`${stack.portal}studies/${shared[0]}`);
    await tab.getByTestId('frame-position').waitFor({ timeout: 15_000 });
    assert.match(
      (await tab.getByTestId('frame-position').textContent()) ?? '',
      /^1 \/ \d+ /,
    );
    await tab.getByRole('table', { name: 'Header' }).waitFor({
      timeout: 15_000,
    });
    // A refused query shows its alert after one retry, a second later;
    // give it three, with the network quiet.
    await tab.waitForLoadState('networkidle');
    await new Promise((r) => setTimeout(r, 3_000));
    const alerts = (await tab.getByRole('alert').allTextContents()).filter(
      (t) => t.trim() !== '',
    );
    assert.deepEqual(alerts, []);
    assert.equal(await tab.getByText('Could not').count(), 0);
    assert.equal(await tab.getByText('does not allow').count(), 0);
    assert.deepEqual(
      graphql.filter((body) => body.includes('predictions')),
      [],
    );
    assert.deepEqual(problems, []);
    await tab.screenshot({ path: join(shots, 'story-6c-shared-study.png') });
    await tab.close();
  });

  it('downloads the zip; every file matches the manifest, all of them MR', async () => {
    const [download] = await Promise.all([
      cole.waitForEvent('download', { timeout: 60_000 }),
      cole.getByRole('button', { name: `Download ${COHORT}` }).click(),
    ]);
    const zipPath = join(work.path, 'release.zip');
    await download.saveAs(zipPath);
    execFileSync('/usr/bin/python3', ['-m', 'zipfile', '-t', zipPath]);
    const dir = join(work.path, 'unzipped');
    mkdirSync(dir);
    execFileSync('/usr/bin/python3', ['-m', 'zipfile', '-e', zipPath, dir]);
    const manifest = JSON.parse(
      readFileSync(join(dir, 'manifest.json'), 'utf8'),
    ) as { files: Array<{ path: string; sha256: string; size: number }> };
    const unpacked = filesUnder(dir)
      .map((f) => f.slice(dir.length + 1))
      .sort();
    assert.deepEqual(
      unpacked,
      ['manifest.json', ...manifest.files.map((f) => f.path)].sort(),
    );
    for (const f of manifest.files) {
      const bytes = readFileSync(join(dir, f.path));
      assert.equal(bytes.length, f.size, f.path);
      assert.equal(
        createHash('sha256').update(bytes).digest('hex'),
        f.sha256,
        f.path,
      );
    }
    const frozen = (
      await stack.gql<{ savedCohorts: Array<{ counts: Counts }> }>(
        'rita',
        '{ savedCohorts { counts { instances } } }',
      )
    ).savedCohorts[0]!.counts;
    const dicom = manifest.files.filter((f) => f.path.endsWith('.dcm'));
    assert.equal(dicom.length, frozen.instances);
    const uids = new Set<string>();
    for (const f of dicom) {
      const v = dcmdump(join(dir, f.path), ['0008,0060', '0008,0018']);
      assert.equal(v?.['0008,0060'], 'MR', f.path);
      uids.add(v?.['0008,0018'] ?? '');
    }
    assert.equal(uids.size, dicom.length);
    const listed = await stack.gql<{ releases: Array<{ fileCount: number }> }>(
      'cole',
      '{ releases { fileCount } }',
    );
    assert.equal(listed.releases[0]!.fileCount, manifest.files.length);
  });

  it('links to the manifest through the portal with the session', async () => {
    const href = await cole
      .getByRole('link', { name: `Manifest of ${COHORT}` })
      .getAttribute('href');
    assert.ok(href);
    const res = await cole.request.get(new URL(href, stack.portal).toString());
    assert.equal(res.status(), 200);
    const manifest = (await res.json()) as { files: unknown[] };
    const listed = await stack.gql<{ releases: Array<{ fileCount: number }> }>(
      'cole',
      '{ releases { fileCount } }',
    );
    assert.equal(manifest.files.length, listed.releases[0]!.fileCount);
  });

  it('lets the steward revoke only with a reason; then no Download is offered and My releases says it was revoked', async () => {
    const decided = sam.getByRole('table', { name: 'Decided share requests' });
    const row = decided.getByRole('row', { name: new RegExp(COHORT) });
    await row.getByRole('button', { name: 'Revoke' }).click();
    await row
      .getByRole('alert')
      .filter({ hasText: 'A reason is required to revoke' })
      .waitFor({ timeout: 5_000 });
    await row
      .getByLabel('Reason (required to revoke)')
      .fill('consent withdrawn');
    await row.getByRole('button', { name: 'Revoke' }).click();
    await row.locator('td[data-status="revoked"]').waitFor({ timeout: 10_000 });
    const shares = await stack.gql<{
      shareRequests: Array<{ status: string; reason: string }>;
    }>('sam', '{ shareRequests { status reason } }');
    assert.deepEqual(shares.shareRequests, [
      { status: 'revoked', reason: 'consent withdrawn' },
    ]);
    // The steward's Releases page offers no Download for it (the API
    // refuses one): it says it is revoked.
    const all = await stack.gql<{
      releases: Array<{ id: string; status: string }>;
    }>('sam', '{ releases { id status } }');
    assert.equal(all.releases.length, 1);
    assert.equal(all.releases[0]!.status, 'revoked');
    const id = all.releases[0]!.id;
    await sam.goto(new URL('/releases', sam.url()).href);
    const samRow = sam.locator(`tr[data-release="${id}"]`);
    await samRow
      .locator('td[data-status="revoked"]')
      .waitFor({ timeout: 10_000 });
    assert.equal(await samRow.getByRole('button').count(), 0);
    assert.equal(
      (await samRow.locator('[data-not-downloadable]').textContent())?.trim(),
      'Revoked: no longer downloadable',
    );
    // cole is told his release was revoked, not that none was ever made;
    // the API gives him no download either.
    await cole.reload();
    const ended = cole.locator('[data-releases-ended]');
    await ended.waitFor({ timeout: 10_000 });
    assert.match(
      (await ended.textContent()) ?? '',
      /^Your release was revoked by a steward: it can no longer be downloaded or viewed\./,
    );
    assert.equal(
      await cole.getByText('No release yet', { exact: false }).count(),
      0,
    );
    const coleRow = cole.locator(`tr[data-release="${id}"]`);
    assert.equal(await cole.locator('tr[data-release]').count(), 1);
    assert.equal(await coleRow.locator('td[data-status="revoked"]').count(), 1);
    assert.equal(await coleRow.getByRole('button').count(), 0);
    const refused = await gqlResult(
      stack.api.url,
      stack.token.cole!,
      `mutation { releaseDownload(id: "${id}") { zipUrl } }`,
    );
    assert.equal(refused.errors?.[0]?.message, 'this release is revoked');
    await cole.screenshot({ path: join(shots, 'story-7-revoked.png') });
  });

  it('shows another collaborator no release, and signs the researcher out', async () => {
    const otto = (await stack.signIn('otto')).page;
    await otto.waitForURL(/\/releases$/, { timeout: 10_000 });
    await otto
      .getByText('No release yet', { exact: false })
      .waitFor({ timeout: 10_000 });
    assert.equal(await otto.locator('tr[data-release]').count(), 0);
    await otto.screenshot({ path: join(shots, 'story-7-no-release.png') });
    await rita.getByRole('button', { name: 'Sign out' }).click();
    await rita
      .getByRole('button', { name: 'Sign in' })
      .waitFor({ timeout: 10_000 });
  });
});
