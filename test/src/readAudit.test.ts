import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { AuditLog, Role } from '@lpacs/access';
import type { AuditEntry } from '@lpacs/access';
import { startServer } from '@lpacs/api';
import type { RunningServer } from '@lpacs/api';
import { SAMPLE, gqlResult, runCli, tempDir, tokenFor } from './helpers';

// DICOMweb reads were audited as `ok` with no target before they were
// answered: a collaborator's 404 outside his release and a 200 inside it
// looked the same. Each read now names its study and how it ended.
const work = tempDir('read-audit');
const lake = join(work.path, 'lake');
let server: RunningServer;
let base = '';
const token: Record<string, string> = {};
/** study UID -> its series and instance UIDs, from the researcher's QIDO. */
const studies: Array<{ study: string; series: string; instance: string }> = [];
let releaseId = '';

type Json = Record<string, { Value?: string[] }>;

function get(who: string, path: string): Promise<Response> {
  return fetch(`${base}/dicomweb${path}`, {
    headers: { authorization: `Bearer ${token[who]}` },
  });
}

/**
 * The entries appended while `act` ran and just after: a read's entry is
 * written once its answer has been sent, so it is waited for (2 s at
 * most, then 200 ms more for any second entry).
 */
async function entriesOf(act: () => Promise<unknown>): Promise<AuditEntry[]> {
  const before = new AuditLog(lake).entries().length;
  await act();
  const added = () => new AuditLog(lake).entries().slice(before);
  for (let i = 0; i < 100 && added().length === 0; i++)
    await new Promise((r) => setTimeout(r, 20));
  await new Promise((r) => setTimeout(r, 200));
  return added();
}

const brief = (e: AuditEntry) => ({
  actor: e.actor,
  action: e.action,
  target: e.target,
  outcome: e.outcome,
});

before(async () => {
  for (const f of ['rle.dcm', 'jpeg_baseline_8bit.dcm']) {
    const run = await runCli(['ingest', join(SAMPLE, f), '--lake', lake]);
    assert.equal(run.code, 0, run.stderr);
  }
  token.rita = await tokenFor(lake, Role.Researcher, 'rita');
  token.sam = await tokenFor(lake, Role.Steward, 'sam');
  token.cole = await tokenFor(lake, Role.Collaborator, 'cole');
  server = await startServer({ lake, port: 0, requestLog: false });
  base = server.url.replace(/\/graphql$/, '');
  const res = await get('rita', '/instances');
  assert.equal(res.status, 200);
  for (const i of (await res.json()) as Json[])
    studies.push({
      study: i['0020000D']!.Value![0]!,
      series: i['0020000E']!.Value![0]!,
      instance: i['00080018']!.Value![0]!,
    });
  assert.equal(new Set(studies.map((s) => s.study)).size, 2);
  // cole's release holds the first study only.
  const saved = await gqlResult<{ saveCohort: { id: string } }>(
    server.url,
    token.rita!,
    'mutation ($f: CohortFilter) { saveCohort(name: "one", filter: $f) { id } }',
    {
      f: {
        attribute: [
          { keyword: 'StudyInstanceUID', op: 'EQ', value: studies[0]!.study },
        ],
      },
    },
  );
  assert.equal(saved.errors, undefined, JSON.stringify(saved.errors));
  const expires = new Date(Date.now() + 30 * 86_400_000)
    .toISOString()
    .slice(0, 10);
  const asked = await gqlResult<{ requestShare: { id: string } }>(
    server.url,
    token.rita!,
    'mutation ($c: String!, $e: String!) { requestShare(cohortId: $c, collaborator: "cole", purpose: "read audit", expiresAt: $e) { id } }',
    { c: saved.data!.saveCohort.id, e: expires },
  );
  assert.equal(asked.errors, undefined, JSON.stringify(asked.errors));
  const decided = await gqlResult<{ decideShare: { releaseId: string } }>(
    server.url,
    token.sam!,
    'mutation ($id: String!) { decideShare(id: $id, approve: true) { releaseId } }',
    { id: asked.data!.requestShare.id },
  );
  assert.equal(decided.errors, undefined, JSON.stringify(decided.errors));
  releaseId = decided.data!.decideShare.releaseId;
});
after(async () => {
  await server?.close();
  work.remove();
});

const path = (s: { study: string; series: string; instance: string }) =>
  `/studies/${s.study}/series/${s.series}/instances/${s.instance}`;

describe('a collaborator reading through DICOMweb', () => {
  it('leaves an ok entry naming the study he read inside his release', async () => {
    const inside = studies[0]!;
    const log = await entriesOf(async () => {
      const res = await get('cole', path(inside));
      assert.equal(res.status, 200);
      await res.arrayBuffer();
    });
    assert.deepEqual(log.map(brief), [
      {
        actor: 'cole',
        action: 'release.download',
        target: inside.study,
        outcome: 'ok',
      },
    ]);
    assert.equal(log[0]!.detail?.releases, releaseId);
    assert.equal(log[0]!.detail?.status, 200);
  });

  it('leaves a denied entry naming the study outside his release he was answered 404 for', async () => {
    const outside = studies[1]!;
    const log = await entriesOf(async () => {
      const res = await get('cole', `${path(outside)}/rendered`);
      assert.equal(res.status, 404);
      await res.text();
    });
    assert.deepEqual(log.map(brief), [
      {
        actor: 'cole',
        action: 'release.download',
        target: outside.study,
        outcome: 'denied',
      },
    ]);
    assert.equal(log[0]!.detail?.status, 404);
    assert.equal(log[0]!.detail?.why, 'not in your releases');
  });

  it('leaves a denied entry for a search of a study outside his release (answered empty)', async () => {
    const outside = studies[1]!;
    const log = await entriesOf(async () => {
      const res = await get('cole', `/studies/${outside.study}/series`);
      assert.equal(res.status, 200);
      assert.deepEqual(await res.json(), []);
    });
    assert.deepEqual(log.map(brief), [
      {
        actor: 'cole',
        action: 'release.download',
        target: outside.study,
        outcome: 'denied',
      },
    ]);
    // Answered 200 with no error: the entry says so, and names no error
    // it was not given (it said NOT_FOUND beside status 200).
    assert.equal(log[0]!.detail?.status, 200);
    assert.equal(log[0]!.detail?.why, 'not in your releases');
    assert.equal(log[0]!.detail?.error, undefined);
  });

  it('leaves a denied entry naming the study for a search naming it, its series or an instance in the query (re-trial: ok, no target)', async () => {
    const outside = studies[1]!;
    for (const q of [
      `/studies?StudyInstanceUID=${outside.study}`,
      `/series?StudyInstanceUID=${outside.study}`,
      `/instances?SOPInstanceUID=${outside.instance}`,
      `/instances?0020000E=${outside.series}`,
      `/series?0020000d=${outside.study}&Modality=`,
    ]) {
      const log = await entriesOf(async () => {
        const res = await get('cole', q);
        assert.equal(res.status, 200, q);
        assert.deepEqual(await res.json(), [], q);
      });
      assert.deepEqual(
        log.map(brief),
        [
          {
            actor: 'cole',
            action: 'release.download',
            target: outside.study,
            outcome: 'denied',
          },
        ],
        q,
      );
      assert.equal(log[0]!.detail?.status, 200, q);
      assert.equal(log[0]!.detail?.why, 'not in your releases', q);
      assert.equal(log[0]!.detail?.error, undefined, q);
      assert.equal(log[0]!.detail?.releases, releaseId, q);
    }
  });

  it('names a UID searched for that the lake does not hold by its keyed digest, beside a study it holds', async () => {
    const outside = studies[1]!;
    const typed = '1.2.840.99999.4.5.6';
    const key = readFileSync(join(lake, 'keys', 'site.key'), 'utf8').trim();
    const digest = createHmac('sha256', Buffer.from(key, 'hex'))
      .update(`audit target\0${typed}`)
      .digest('hex')
      .slice(0, 16);
    const log = await entriesOf(async () => {
      const res = await get(
        'cole',
        `/studies?StudyInstanceUID=${typed},${outside.study}`,
      );
      assert.equal(res.status, 200);
      assert.deepEqual(await res.json(), []);
    });
    assert.deepEqual(
      log.map(brief).sort((a, b) => a.outcome.localeCompare(b.outcome)),
      [
        {
          actor: 'cole',
          action: 'release.download',
          target: outside.study,
          outcome: 'denied',
        },
        {
          actor: 'cole',
          action: 'release.download',
          target: `hmac:${digest}`,
          outcome: 'ok',
        },
      ],
    );
    assert.ok(!JSON.stringify(log).includes(typed));
  });

  it('names a UID the lake does not hold only by its keyed digest, failed NOT_FOUND', async () => {
    const typed = '1.2.840.99999.1.2.3';
    const key = readFileSync(join(lake, 'keys', 'site.key'), 'utf8').trim();
    const digest = createHmac('sha256', Buffer.from(key, 'hex'))
      .update(`audit target\0${typed}`)
      .digest('hex')
      .slice(0, 16);
    const log = await entriesOf(async () => {
      const res = await get('cole', `/studies/${typed}/metadata`);
      assert.equal(res.status, 404);
      await res.text();
    });
    assert.deepEqual(log.map(brief), [
      {
        actor: 'cole',
        action: 'release.download',
        target: `hmac:${digest}`,
        outcome: 'failed',
      },
    ]);
    assert.equal(log[0]!.detail?.error, 'NOT_FOUND');
    assert.ok(!JSON.stringify(log).includes(typed));
  });
});

describe('a researcher reading through DICOMweb', () => {
  it('names the study of a study.view, once per study while a viewer fetches its frames', async () => {
    const s = studies[1]!;
    const log = await entriesOf(async () => {
      for (const p of [`${path(s)}/metadata`, `${path(s)}/frames/1`]) {
        const res = await get('rita', p);
        assert.equal(res.status, 200, p);
        await res.arrayBuffer();
      }
    });
    assert.deepEqual(log.map(brief), [
      { actor: 'rita', action: 'study.view', target: s.study, outcome: 'ok' },
    ]);
  });

  it('records a read of a series the study does not have as failed NOT_FOUND', async () => {
    const s = studies[0]!;
    const log = await entriesOf(async () => {
      const res = await get(
        'rita',
        `/studies/${s.study}/series/2.25.1/metadata`,
      );
      assert.equal(res.status, 404);
      await res.text();
    });
    assert.deepEqual(log.map(brief), [
      {
        actor: 'rita',
        action: 'study.view',
        target: s.study,
        outcome: 'failed',
      },
    ]);
    assert.equal(log[0]!.detail?.error, 'NOT_FOUND');
  });

  it('names the study of a search by series UID in its query', async () => {
    const s = studies[0]!;
    const log = await entriesOf(async () => {
      const res = await get('rita', `/instances?SeriesInstanceUID=${s.series}`);
      assert.equal(res.status, 200);
      const found = (await res.json()) as Json[];
      assert.ok(found.length > 0);
    });
    assert.deepEqual(log.map(brief), [
      { actor: 'rita', action: 'study.view', target: s.study, outcome: 'ok' },
    ]);
  });

  it('names the study of a search refused for want of a token', async () => {
    const s = studies[0]!;
    const log = await entriesOf(async () => {
      const res = await fetch(
        `${base}/dicomweb/studies?StudyInstanceUID=${s.study}`,
      );
      assert.equal(res.status, 401);
      await res.text();
    });
    assert.deepEqual(log.map(brief), [
      {
        actor: 'anonymous',
        action: 'study.view',
        target: s.study,
        outcome: 'denied',
      },
    ]);
  });

  it('names the study of a read refused for want of a token', async () => {
    const s = studies[0]!;
    const log = await entriesOf(async () => {
      const res = await fetch(`${base}/dicomweb${path(s)}`);
      assert.equal(res.status, 401);
      await res.text();
    });
    assert.deepEqual(log.map(brief), [
      {
        actor: 'anonymous',
        action: 'study.view',
        target: s.study,
        outcome: 'denied',
      },
    ]);
  });
});
