import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { AccessStore, AuditLog, Role } from '@lpacs/access';
import { startServer } from '@lpacs/api';
import type { RunningServer } from '@lpacs/api';
import {
  CT,
  SAMPLE,
  containsWord,
  dcmdump,
  filesUnder,
  gqlResult,
  independentCounts,
  parquetRows,
  phiNeedles,
  runCli,
  tempDir,
  tokenFor,
} from './helpers';

const work = tempDir('sharing');
const lake = join(work.path, 'lake');
let server: RunningServer;
const token: Record<string, string> = {};

function gql<T>(who: string, query: string, variables?: object) {
  return gqlResult<T>(server.url, token[who]!, query, variables);
}

/** A release id no release has, shaped like one. */
const NO_RELEASE = 'rel_00000000000000ff';

/** What `who` is answered for a release that does not exist. */
function releaseDownloadOfNone(who: string) {
  return gql(
    who,
    'mutation ($id: String!) { releaseDownload(id: $id) { zipUrl } }',
    { id: NO_RELEASE },
  );
}

const ctFiles = filesUnder(CT).filter((f) => f.endsWith('.dcm'));
const inAYear = new Date(Date.now() + 200 * 86_400_000)
  .toISOString()
  .slice(0, 10);
let cohortId = '';
let shareId = '';
let releaseId = '';
let zipUrl = '';
let zipDir = '';

before(async () => {
  const run = await runCli(['ingest', CT, '--lake', lake, '--json']);
  assert.equal(run.code, 0, run.stderr);
  token.rita = await tokenFor(lake, Role.Researcher, 'rita');
  token.sam = await tokenFor(lake, Role.Steward, 'sam');
  token.cole = await tokenFor(lake, Role.Collaborator, 'cole');
  token.otto = await tokenFor(lake, Role.Collaborator, 'otto');
  server = await startServer({ lake, port: 0 });
});
after(async () => {
  await server?.close();
  work.remove();
});

describe('controlled sharing, from saved cohort to download', () => {
  it('saves a cohort frozen: later ingests do not change it', async () => {
    const saved = await gql<{
      saveCohort: {
        id: string;
        counts: { instances: number; studies: number };
      };
    }>(
      'rita',
      'mutation ($f: CohortFilter) { saveCohort(name: "chest CT", filter: $f) { id counts { instances studies } } }',
      { f: { bodyPart: ['CHEST'] } },
    );
    assert.equal(saved.errors, undefined, JSON.stringify(saved.errors));
    const chest = ctFiles.filter(
      (f) => dcmdump(f, ['0018,0015'])?.['0018,0015'] === 'CHEST',
    );
    assert.ok(chest.length > 0);
    const expected = independentCounts(chest);
    assert.equal(saved.data!.saveCohort.counts.instances, expected.instances);
    assert.equal(saved.data!.saveCohort.counts.studies, expected.studies);
    cohortId = saved.data!.saveCohort.id;
    // More data arrives; the saved cohort keeps its answer.
    const more = await runCli(['ingest', SAMPLE, '--lake', lake, '--json']);
    assert.equal(more.code, 0, more.stderr);
    const list = await gql<{
      savedCohorts: Array<{
        id: string;
        counts: { instances: number };
        currentCounts: { instances: number };
      }>;
    }>(
      'rita',
      '{ savedCohorts { id counts { instances } currentCounts { instances } } }',
    );
    // Today's count of the same filter, from the objects now in the lake.
    const chestNow = filesUnder(join(lake, 'objects')).filter(
      (f) => dcmdump(f, ['0018,0015'])?.['0018,0015'] === 'CHEST',
    ).length;
    assert.deepEqual(list.data!.savedCohorts, [
      {
        id: cohortId,
        counts: { instances: expected.instances },
        currentCounts: { instances: chestNow },
      },
    ]);
  });

  it('names the collaborators a researcher may share with', async () => {
    const r = await gql<{ collaborators: string[] }>(
      'rita',
      '{ collaborators }',
    );
    assert.deepEqual(r.data!.collaborators, ['cole', 'otto']);
  });

  it('takes a share request from the researcher, for a collaborator only', async () => {
    const toResearcher = await gql(
      'rita',
      'mutation ($c: String!, $e: String!) { requestShare(cohortId: $c, collaborator: "sam", purpose: "p", expiresAt: $e) { id } }',
      { c: cohortId, e: inAYear },
    );
    assert.match(
      toResearcher.errors?.[0]?.message ?? '',
      /"sam" is not an active collaborator/,
    );
    const r = await gql<{
      requestShare: { id: string; status: string; cohortName: string };
    }>(
      'rita',
      'mutation ($c: String!, $e: String!) { requestShare(cohortId: $c, collaborator: "cole", purpose: "validation of a nodule model", expiresAt: $e) { id status cohortName } }',
      { c: cohortId, e: inAYear },
    );
    assert.equal(r.errors, undefined, JSON.stringify(r.errors));
    assert.equal(r.data!.requestShare.status, 'pending');
    assert.equal(r.data!.requestShare.cohortName, 'chest CT');
    shareId = r.data!.requestShare.id;
  });

  it('lets only a steward decide, and a pending share gives no release', async () => {
    const byResearcher = await gql(
      'rita',
      'mutation ($id: String!) { decideShare(id: $id, approve: true) { status } }',
      { id: shareId },
    );
    assert.equal(byResearcher.errors?.[0]?.extensions?.code, 'FORBIDDEN');
    const early = await gql<{ releases: unknown[] }>(
      'cole',
      '{ releases { id } }',
    );
    assert.deepEqual(early.data!.releases, []);
    const ok = await gql<{
      decideShare: { status: string; releaseId: string };
    }>(
      'sam',
      'mutation ($id: String!) { decideShare(id: $id, approve: true) { status releaseId } }',
      { id: shareId },
    );
    assert.equal(ok.errors, undefined, JSON.stringify(ok.errors));
    assert.equal(ok.data!.decideShare.status, 'approved');
    releaseId = ok.data!.decideShare.releaseId;
    const again = await gql(
      'sam',
      'mutation ($id: String!) { decideShare(id: $id, approve: false, reason: "x") { status } }',
      { id: shareId },
    );
    assert.match(again.errors?.[0]?.message ?? '', /is approved, not pending/);
  });

  it('shows the release to its collaborator only', async () => {
    const mine = await gql<{
      releases: Array<{ id: string; fileCount: number }>;
    }>('cole', '{ releases { id fileCount } }');
    assert.deepEqual(
      mine.data!.releases.map((r) => r.id),
      [releaseId],
    );
    const other = await gql<{ releases: unknown[] }>(
      'otto',
      '{ releases { id } }',
    );
    assert.deepEqual(other.data!.releases, []);
    // Another collaborator's release is answered as one that does not
    // exist (new-user trial: "this release is not yours" told otto it did).
    const steal = await gql(
      'otto',
      'mutation ($id: String!) { releaseDownload(id: $id) { zipUrl } }',
      { id: releaseId },
    );
    assert.deepEqual(steal, await releaseDownloadOfNone('otto'));
    assert.deepEqual(steal.errors?.[0]?.extensions, { code: 'NOT_FOUND' });
    const query = await gql('cole', '{ cohort { counts { instances } } }');
    assert.equal(query.errors?.[0]?.extensions?.code, 'FORBIDDEN');
  });

  it('downloads a zip whose manifest checks out, holding exactly the frozen cohort', async () => {
    const link = await gql<{ releaseDownload: { zipUrl: string } }>(
      'cole',
      'mutation ($id: String!) { releaseDownload(id: $id) { zipUrl } }',
      { id: releaseId },
    );
    zipUrl = link.data!.releaseDownload.zipUrl;
    const res = await fetch(zipUrl);
    assert.equal(res.status, 200);
    const zip = Buffer.from(await res.arrayBuffer());
    const zipPath = join(work.path, 'release.zip');
    writeFileSync(zipPath, zip);
    // An independent reader checks every CRC, then unpacks.
    execFileSync('/usr/bin/python3', ['-m', 'zipfile', '-t', zipPath]);
    zipDir = join(work.path, 'unzipped');
    mkdirSync(zipDir);
    execFileSync('/usr/bin/python3', ['-m', 'zipfile', '-e', zipPath, zipDir]);
    const manifest = JSON.parse(
      readFileSync(join(zipDir, 'manifest.json'), 'utf8'),
    ) as {
      files: Array<{ path: string; sha256: string; size: number }>;
    };
    const unpacked = filesUnder(zipDir)
      .map((f) => f.slice(zipDir.length + 1))
      .sort();
    assert.deepEqual(
      unpacked,
      ['manifest.json', ...manifest.files.map((f) => f.path)].sort(),
    );
    for (const f of manifest.files) {
      const bytes = readFileSync(join(zipDir, f.path));
      assert.equal(bytes.length, f.size, f.path);
      assert.equal(
        createHash('sha256').update(bytes).digest('hex'),
        f.sha256,
        f.path,
      );
    }
    const dicom = manifest.files.filter((f) => f.path.endsWith('.dcm'));
    const chest = ctFiles.filter(
      (f) => dcmdump(f, ['0018,0015'])?.['0018,0015'] === 'CHEST',
    );
    assert.equal(dicom.length, chest.length);
    for (const f of dicom) {
      const v = dcmdump(join(zipDir, f.path), ['0008,0018', '0018,0015']);
      assert.equal(v?.['0018,0015'], 'CHEST');
      assert.ok(f.path.endsWith(`/${v?.['0008,0018']}.dcm`));
    }
    const rows = await parquetRows(
      `SELECT count(*) AS n, count(DISTINCT file) AS f FROM '${join(zipDir, 'metadata', 'instances.parquet')}'`,
    );
    assert.deepEqual(
      rows.map((r) => [Number(r.n), Number(r.f)]),
      [[dicom.length, dicom.length]],
    );
    assert.ok(
      readdirSync(join(zipDir, 'metadata')).includes('studies.parquet'),
    );
  });

  it('carries no planted identifier anywhere in the release', () => {
    const truth = JSON.parse(readFileSync(join(CT, 'truth.json'), 'utf8'));
    const needles = phiNeedles(truth);
    for (const f of filesUnder(zipDir)) {
      const text = readFileSync(f).toString('latin1');
      const found = needles.filter((n) => containsWord(text, n));
      assert.deepEqual(found, [], f);
    }
  });

  it('lets the collaborator browse exactly the release over DICOMweb', async () => {
    const base = server.url.replace(/graphql$/, 'dicomweb');
    const auth = {
      authorization: `Bearer ${token.cole}`,
      accept: 'application/dicom+json',
    };
    const res = await fetch(`${base}/studies`, { headers: auth });
    assert.equal(res.status, 200);
    const studies = (await res.json()) as Array<
      Record<string, { Value?: string[] }>
    >;
    const seen = studies.map((st) => st['0020000D']?.Value?.[0]).sort();
    // The release's studies, from the unzipped DICOM files' paths.
    const expected = [
      ...new Set(
        filesUnder(join(zipDir, 'dicom')).map(
          (f) => f.slice(zipDir.length + 1).split('/')[1],
        ),
      ),
    ].sort();
    assert.deepEqual(seen, expected);
    // An instance outside the release (the MR sample) does not exist for them.
    const other = await fetch(`${base}/studies?ModalitiesInStudy=MR`, {
      headers: auth,
    });
    const mr = other.status === 204 ? [] : ((await other.json()) as unknown[]);
    assert.deepEqual(mr, []);
  });

  it('serves one file with HTTP Range, and refuses a tampered link', async () => {
    const one = zipUrl.replace(
      '/download.zip?',
      '/files/metadata/instances.parquet?',
    );
    const part = await fetch(one, { headers: { range: 'bytes=0-3' } });
    assert.equal(part.status, 206);
    assert.equal(
      Buffer.from(await part.arrayBuffer()).toString('latin1'),
      'PAR1',
    );
    const whole = readFileSync(join(zipDir, 'metadata', 'instances.parquet'));
    assert.equal(
      part.headers.get('content-range'),
      `bytes 0-3/${whole.length}`,
    );
    const tail = await fetch(one, { headers: { range: 'bytes=-4' } });
    assert.deepEqual(Buffer.from(await tail.arrayBuffer()), whole.subarray(-4));
    const tampered = await fetch(zipUrl.replace('user=cole', 'user=otto'));
    assert.equal(tampered.status, 403);
  });

  it('stops a revoked release at once, even for a link already handed out', async () => {
    const r = await gql<{ revokeShare: { status: string } }>(
      'sam',
      'mutation ($id: String!) { revokeShare(id: $id, reason: "consent withdrawn") { status } }',
      { id: shareId },
    );
    assert.equal(r.data!.revokeShare.status, 'revoked');
    const res = await fetch(zipUrl);
    assert.equal(res.status, 403);
    assert.match(await res.text(), /this release is revoked/);
    const mine = await gql<{ releases: unknown[] }>(
      'cole',
      '{ releases { id } }',
    );
    assert.deepEqual(mine.data!.releases, []);
    // Revoked, it is still none of otto's business: no "is revoked".
    const other = await gql(
      'otto',
      'mutation ($id: String!) { releaseDownload(id: $id) { zipUrl } }',
      { id: releaseId },
    );
    assert.deepEqual(other, await releaseDownloadOfNone('otto'));
  });

  it('audited the request, the decision, the download and the refusals in an intact chain', () => {
    const log = new AuditLog(lake);
    const actions = log
      .entries()
      .map((e) => `${e.actor}:${e.action}:${e.outcome}`);
    for (const expected of [
      'rita:cohort.save:ok',
      'rita:share.request:ok',
      'rita:share.decide:denied',
      'sam:share.decide:ok',
      'otto:release.download:failed',
      'cole:release.download:ok',
      'sam:share.revoke:ok',
      'cole:release.download:denied',
    ])
      assert.ok(actions.includes(expected), `${expected} missing`);
    assert.ok(log.verify().entries >= actions.length);
    const entries = log.entries();
    // One entry per mutation, saying what it did.
    assert.deepEqual(
      entries
        .filter((e) => e.actor === 'rita' && e.action === 'cohort.save')
        .map((e) => [e.outcome, e.target]),
      [['ok', cohortId]],
    );
    // sam approved once (with the release it made), then tried to deny
    // the approved share: allowed, but it failed, and the log says so,
    // naming the share (new-user trial 5: it named none).
    assert.deepEqual(
      entries
        .filter((e) => e.actor === 'sam' && e.action === 'share.decide')
        .map((e) => [
          e.outcome,
          e.target,
          e.detail?.decision ?? e.detail?.error,
        ]),
      [
        ['ok', shareId, 'approve'],
        ['failed', shareId, 'BAD_USER_INPUT'],
      ],
    );
    assert.equal(
      entries.find((e) => e.detail?.decision === 'approve')?.detail?.release,
      releaseId,
    );
    // A link request is one entry, told apart from the download it
    // allows (new-user case: an untargeted duplicate entry).
    const links = entries.filter(
      (e) => e.action === 'release.download' && e.detail?.step === 'link',
    );
    // otto's attempts on cole's release are audited as such, with the
    // reason he was not told (he was answered as for no release).
    assert.deepEqual(
      links.map((e) => [e.actor, e.outcome, e.target, e.detail?.why]),
      [
        ['otto', 'failed', releaseId, 'this release is not yours'],
        ['otto', 'failed', NO_RELEASE, 'no such release'],
        ['cole', 'ok', releaseId, undefined],
        ['otto', 'failed', releaseId, 'this release is not yours'],
        ['otto', 'failed', NO_RELEASE, 'no such release'],
      ],
    );
    assert.ok(new AccessStore(lake).users().length >= 4);
  });
});
