import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { AuditLog, Role } from '@lpacs/access';
import type { AuditEntry } from '@lpacs/access';
import { startServer } from '@lpacs/api';
import type { RunningServer } from '@lpacs/api';
import { SAMPLE, bearer, runCli, tempDir, tokenFor } from './helpers';

// Audit gaps the new-user trial found: a release file that is not there
// was answered 404 and left no entry; a refused share decision left an
// entry without the share it was about.
const work = tempDir('share-audit');
const lake = join(work.path, 'lake');
let server: RunningServer;
const token: Record<string, string> = {};
let shareId = '';
let releaseId = '';
/** The signed query string of cole's link: it opens any file path. */
let signed = '';

interface Gql<T> {
  data?: T;
  errors?: Array<{ message: string; extensions?: { code?: string } }>;
}

async function gql<T>(
  who: string,
  query: string,
  variables?: object,
): Promise<Gql<T>> {
  const res = await fetch(server.url, {
    method: 'POST',
    headers: bearer(token[who]!),
    body: JSON.stringify({ query, variables }),
  });
  return (await res.json()) as Gql<T>;
}

/** The newest audit entry of `action` (the log reads newest first). */
function newest(action: string): AuditEntry {
  const [entry] = new AuditLog(lake).query({ action, limit: 1 });
  assert.ok(entry, `no ${action} entry`);
  return entry;
}

before(async () => {
  const run = await runCli(['ingest', join(SAMPLE, 'rle.dcm'), '--lake', lake]);
  assert.equal(run.code, 0, run.stderr);
  token.rita = await tokenFor(lake, Role.Researcher, 'rita');
  token.sam = await tokenFor(lake, Role.Steward, 'sam');
  token.cole = await tokenFor(lake, Role.Collaborator, 'cole');
  server = await startServer({ lake, port: 0, requestLog: false });
  const saved = await gql<{ saveCohort: { id: string } }>(
    'rita',
    'mutation { saveCohort(name: "all") { id } }',
  );
  assert.equal(saved.errors, undefined, JSON.stringify(saved.errors));
  const expires = new Date(Date.now() + 30 * 86_400_000)
    .toISOString()
    .slice(0, 10);
  const asked = await gql<{ requestShare: { id: string } }>(
    'rita',
    'mutation ($c: String!, $e: String!) { requestShare(cohortId: $c, collaborator: "cole", purpose: "audit test", expiresAt: $e) { id } }',
    { c: saved.data!.saveCohort.id, e: expires },
  );
  assert.equal(asked.errors, undefined, JSON.stringify(asked.errors));
  shareId = asked.data!.requestShare.id;
});
after(async () => {
  await server?.close();
  work.remove();
});

describe('failed share decisions name their share', () => {
  it('records the id of a share that does not exist', async () => {
    const id = 'sh_00000000000000ff';
    const r = await gql(
      'sam',
      `mutation { decideShare(id: "${id}", approve: true) { status } }`,
    );
    assert.equal(r.errors?.[0]?.extensions?.code, 'NOT_FOUND');
    const e = newest('share.decide');
    assert.deepEqual(
      { outcome: e.outcome, target: e.target, error: e.detail?.error },
      { outcome: 'failed', target: id, error: 'NOT_FOUND' },
    );
  });

  it('records the id of a denial refused for want of a reason', async () => {
    const r = await gql(
      'sam',
      'mutation ($id: String!) { decideShare(id: $id, approve: false) { status } }',
      { id: shareId },
    );
    assert.match(r.errors?.[0]?.message ?? '', /a denial needs a reason/);
    const e = newest('share.decide');
    assert.deepEqual(
      { outcome: e.outcome, target: e.target },
      { outcome: 'failed', target: shareId },
    );
  });

  it('keeps an argument that is not a share id out of the log', async () => {
    const typed = 'DOE^JANE 1961-04-02';
    const r = await gql(
      'sam',
      'mutation ($id: String!) { decideShare(id: $id, approve: true) { status } }',
      { id: typed },
    );
    assert.equal(r.errors?.[0]?.extensions?.code, 'NOT_FOUND');
    const e = newest('share.decide');
    assert.equal(e.outcome, 'failed');
    assert.equal(e.target, undefined);
    assert.ok(!JSON.stringify(e).includes('DOE'), JSON.stringify(e));
  });

  it('records the id of a decision refused for the caller role, and no typed text', async () => {
    const r = await gql(
      'rita',
      'mutation ($id: String!) { decideShare(id: $id, approve: true) { status } }',
      { id: shareId },
    );
    assert.equal(r.errors?.[0]?.extensions?.code, 'FORBIDDEN');
    const e = newest('share.decide');
    assert.deepEqual(
      { outcome: e.outcome, target: e.target, actor: e.actor },
      { outcome: 'denied', target: shareId, actor: 'rita' },
    );
    const typed = 'DOE^JANE 1961-04-02';
    await gql(
      'rita',
      'mutation ($id: String!) { decideShare(id: $id, approve: true) { status } }',
      { id: typed },
    );
    const t = newest('share.decide');
    assert.equal(t.outcome, 'denied');
    assert.equal(t.target, undefined);
    assert.ok(!JSON.stringify(t).includes('DOE'), JSON.stringify(t));
  });

  it('keeps a typed release id that is no release out of the log, and names one that is shaped like one', async () => {
    const typed = 'DOE^JANE 1961-04-02';
    const r = await gql(
      'cole',
      'mutation ($id: String!) { releaseDownload(id: $id) { zipUrl } }',
      { id: typed },
    );
    assert.equal(r.errors?.[0]?.extensions?.code, 'NOT_FOUND');
    const e = newest('release.download');
    assert.equal(e.outcome, 'failed');
    assert.equal(e.target, undefined);
    assert.ok(!JSON.stringify(e).includes('DOE'), JSON.stringify(e));
    const shaped = 'rel_0123456789abcdef';
    await gql(
      'cole',
      'mutation ($id: String!) { releaseDownload(id: $id) { zipUrl } }',
      { id: shaped },
    );
    assert.equal(newest('release.download').target, shaped);
  });

  it('approves, and the entry still carries the id and the release', async () => {
    const r = await gql<{ decideShare: { releaseId: string } }>(
      'sam',
      'mutation ($id: String!) { decideShare(id: $id, approve: true) { releaseId } }',
      { id: shareId },
    );
    assert.equal(r.errors, undefined, JSON.stringify(r.errors));
    releaseId = r.data!.decideShare.releaseId;
    const e = newest('share.decide');
    assert.equal(e.target, shareId);
    assert.equal(e.detail?.release, releaseId);
    const link = await gql<{ releaseDownload: { zipUrl: string } }>(
      'cole',
      'mutation ($id: String!) { releaseDownload(id: $id) { zipUrl } }',
      { id: releaseId },
    );
    assert.equal(link.errors, undefined, JSON.stringify(link.errors));
    signed = new URL(link.data!.releaseDownload.zipUrl).search;
  });
});

describe('a release file that is not there', () => {
  const file = (path: string) =>
    fetch(
      `${server.url.replace(/\/graphql$/, '')}/releases/${releaseId}/files/${path}${signed}`,
    );

  it('is audited as a denied download, without the path it asked for', async () => {
    const before = new AuditLog(lake).entries().length;
    const res = await file('..%2F..%2Fkeys%2Fsite.key');
    assert.equal(res.status, 404);
    assert.ok(!(await res.text()).includes('site.key'));
    const log = new AuditLog(lake).entries();
    assert.equal(log.length, before + 1);
    const e = log[log.length - 1]!;
    assert.deepEqual(
      {
        actor: e.actor,
        action: e.action,
        target: e.target,
        outcome: e.outcome,
        detail: e.detail,
      },
      {
        actor: 'cole',
        action: 'release.download',
        target: releaseId,
        outcome: 'denied',
        detail: { why: 'no such file' },
      },
    );
  });

  it('names a missing file that has the release naming', async () => {
    const name = 'dicom/2.25.1/2.25.2/2.25.3.dcm';
    const res = await file(name);
    assert.equal(res.status, 404);
    const e = newest('release.download');
    assert.deepEqual(e.detail, { why: 'no such file', file: name });
    assert.equal(e.outcome, 'denied');
  });

  it('answers a path whose escapes are not UTF-8 with 404, audited', async () => {
    const res = await file('%E0%A4%A');
    assert.equal(res.status, 404);
    const e = newest('release.download');
    assert.deepEqual(
      { outcome: e.outcome, detail: e.detail },
      { outcome: 'denied', detail: { why: 'no such file' } },
    );
  });

  it('still serves and audits a file the release has', async () => {
    const res = await file('manifest.json');
    assert.equal(res.status, 200);
    const manifest = (await res.json()) as { id: string };
    assert.equal(manifest.id, releaseId);
    assert.equal(newest('release.file').target, `${releaseId}/manifest.json`);
  });
});
