import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { AuditLog, Role } from '@lpacs/access';
import { LinkageReader, startServer } from '@lpacs/api';
import type { RunningServer } from '@lpacs/api';
import {
  CT,
  erasePatient,
  filesUnder,
  gqlAs,
  gqlResult,
  parquetRows,
  runCli,
  tempDir,
  tokenFor,
} from './helpers';

const work = tempDir('erase');
const lake = join(work.path, 'lake');
let server: RunningServer;
const token: Record<string, string> = {};
let patient = '';
let patientKeys: string[] = [];
let patientUids: string[] = [];
let patientStudy = '';
let otherStudy = '';
let total = 0;
let zipUrl = '';
let shareId = '';
let releaseId = '';

function gql<T>(who: string, query: string, variables?: object): Promise<T> {
  return gqlAs<T>(server.url, token[who]!, query, variables);
}

/** Rows for a patient in every Parquet file under the lake, old versions included. */
async function rowsAnywhere(pseudonym: string): Promise<number> {
  const files = filesUnder(join(lake, 'tables')).filter((f) =>
    f.endsWith('.parquet'),
  );
  let n = 0;
  for (const f of files) {
    const [r] = await parquetRows(
      `SELECT count(*) AS n FROM read_parquet('${f}') WHERE "PatientID" = '${pseudonym}'`,
    ).catch(() => [{ n: 0 }]); // predictions have no PatientID column
    n += Number(r?.n ?? 0);
  }
  return n;
}

before(async () => {
  const run = await runCli(['ingest', CT, '--lake', lake, '--json']);
  assert.equal(run.code, 0, run.stderr);
  const rows = await parquetRows(
    `SELECT "PatientID" AS p, object_key AS k, "SOPInstanceUID" AS i, "SeriesInstanceUID" AS se, "StudyInstanceUID" AS st FROM read_parquet('${lake}/tables/instances/*/*.parquet') ORDER BY 1`,
  );
  total = rows.length;
  patient = String(rows[0]!.p);
  const mine = rows.filter((r) => r.p === patient);
  patientKeys = mine.map((r) => String(r.k));
  patientStudy = String(mine[0]!.st);
  otherStudy = String(rows.find((r) => r.p !== patient)!.st);
  patientUids = [
    ...new Set(mine.flatMap((r) => [r.i, r.se, r.st].map(String))),
  ];
  for (const [name, role] of [
    ['rita', Role.Researcher],
    ['sam', Role.Steward],
    ['cole', Role.Collaborator],
  ] as const)
    token[name] = await tokenFor(lake, role, name);
  server = await startServer({ lake, port: 0 });
  // A release holding every patient, before the consent is withdrawn.
  const saved = await gql<{ saveCohort: { id: string } }>(
    'rita',
    'mutation { saveCohort(name: "all") { id } }',
  );
  const inAYear = new Date(Date.now() + 100 * 86_400_000)
    .toISOString()
    .slice(0, 10);
  const share = await gql<{ requestShare: { id: string } }>(
    'rita',
    'mutation ($c: String!, $e: String!) { requestShare(cohortId: $c, collaborator: "cole", purpose: "p", expiresAt: $e) { id } }',
    { c: saved.saveCohort.id, e: inAYear },
  );
  shareId = share.requestShare.id;
  const decided = await gql<{ decideShare: { releaseId: string } }>(
    'sam',
    'mutation ($id: String!) { decideShare(id: $id, approve: true) { releaseId } }',
    { id: shareId },
  );
  const link = await gql<{ releaseDownload: { zipUrl: string } }>(
    'cole',
    'mutation ($id: String!) { releaseDownload(id: $id) { zipUrl } }',
    { id: decided.decideShare.releaseId },
  );
  zipUrl = link.releaseDownload.zipUrl;
  releaseId = decided.decideShare.releaseId;
});
after(async () => {
  await server?.close();
  work.remove();
});

describe('erasing a patient (withdrawn consent)', () => {
  it('removes the patient from every table, object, linkage record and release', async () => {
    assert.ok(patientKeys.length > 0 && patientKeys.length < total);
    assert.ok((await rowsAnywhere(patient)) > 0);
    assert.ok(new LinkageReader(lake).lookup(patient));
    // An erasure needs the lake alone: the server is stopped for it, as
    // docs/ops.md says, and started again after.
    await server.close();
    const run = await erasePatient(lake, patient, { json: true });
    assert.equal(run.code, 0, run.stderr);
    server = await startServer({ lake, port: 0 });
    const report = JSON.parse(run.stdout) as {
      instances: number;
      objects: number;
      releasesRevoked: string[];
    };
    assert.equal(report.instances, patientKeys.length);
    assert.equal(report.objects, patientKeys.length);
    assert.deepEqual(report.releasesRevoked, [shareId]);
    assert.equal(await rowsAnywhere(patient), 0);
    const objects = new Set(
      filesUnder(join(lake, 'objects')).map((f) => f.slice(lake.length + 1)),
    );
    for (const key of patientKeys) assert.ok(!objects.has(key), key);
    assert.equal(objects.size, total - patientKeys.length);
    assert.equal(new LinkageReader(lake).lookup(patient), undefined);
    // No file of the lake names the patient any more (Parquet is checked
    // above, decompressed) but the tombstone that refuses their files and
    // the audit log, whose entry a rerun after a restore needs.
    const tombstones = join(lake, 'state', 'erased-patients.json');
    const audit = join(lake, 'audit', 'audit.ndjson');
    assert.deepEqual(
      Object.keys(
        (JSON.parse(readFileSync(tombstones, 'utf8')) as { patients: object })
          .patients,
      ),
      [patient],
    );
    for (const f of filesUnder(lake).filter(
      (x) => !x.endsWith('.parquet') && x !== tombstones && x !== audit,
    ))
      assert.ok(!readFileSync(f).toString('latin1').includes(patient), f);
  });

  it("leaves none of the patient's UIDs in any Parquet row or other file", async () => {
    let controls = 0;
    // Every table's every file, every row read back by the test's DuckDB
    // and searched as text (a UID in the attributes table's value column
    // counts too).
    for (const f of filesUnder(join(lake, 'tables')).filter((x) =>
      x.endsWith('.parquet'),
    )) {
      const text = JSON.stringify(
        await parquetRows(`SELECT * FROM read_parquet('${f}')`),
        (_k, v: unknown) => (typeof v === 'bigint' ? String(v) : v),
      );
      for (const uid of patientUids)
        assert.ok(!text.includes(uid), `${uid} in ${f}`);
      if (text.includes(otherStudy)) controls++;
    }
    // The same search finds another patient's study, which stays.
    assert.ok(controls > 0, 'the search finds a UID that is there');
    const audit = join(lake, 'audit', 'audit.ndjson');
    for (const f of filesUnder(lake).filter(
      (x) => !x.endsWith('.parquet') && x !== audit,
    )) {
      const text = readFileSync(f).toString('latin1');
      for (const uid of patientUids)
        assert.ok(!text.includes(uid), `${uid} in ${f}`);
    }
  });

  it('answers queries and downloads without the patient once started again', async () => {
    // DICOMweb: the study is not found by QIDO-RS, its objects not by WADO-RS.
    const dicomweb = server.url.replace(/graphql$/, 'dicomweb');
    const qido = await fetch(
      `${dicomweb}/studies?StudyInstanceUID=${patientStudy}`,
      {
        headers: {
          authorization: `Bearer ${token.rita}`,
          accept: 'application/dicom+json',
        },
      },
    );
    assert.ok(qido.status === 204 || qido.status === 200, String(qido.status));
    const found = qido.status === 204 ? [] : ((await qido.json()) as unknown[]);
    assert.deepEqual(found, []);
    const wado = await fetch(`${dicomweb}/studies/${patientStudy}`, {
      headers: {
        authorization: `Bearer ${token.rita}`,
        accept: 'multipart/related; type="application/dicom"',
      },
    });
    assert.equal(wado.status, 404);
    const c = await gql<{
      cohort: { counts: { instances: number; patients: number } };
    }>('rita', '{ cohort { counts { instances patients } } }');
    assert.equal(c.cohort.counts.instances, total - patientKeys.length);
    const gone = await gql<{ cohort: { counts: { instances: number } } }>(
      'rita',
      'query ($t: String!) { cohort(filter: { text: $t }) { counts { instances } } }',
      { t: 'CT' },
    );
    assert.ok(gone.cohort.counts.instances <= total - patientKeys.length);
    // The link of the release, signed by the server stopped for the
    // erasure, and a new one: the release is revoked.
    const res = await fetch(
      zipUrl.replace(/^http:\/\/[^/]+/, new URL(server.url).origin),
    );
    assert.equal(res.status, 403);
    const again = await gqlResult(
      server.url,
      token.cole!,
      'mutation ($id: String!) { releaseDownload(id: $id) { zipUrl } }',
      { id: releaseId },
    );
    assert.equal(again.data, null, JSON.stringify(again));
    assert.match(again.errors?.[0]?.message ?? '', /revoked/);
    const shares = await gql<{
      shareRequests: Array<{ id: string; status: string; reason: string }>;
    }>('sam', '{ shareRequests { id status reason } }');
    assert.deepEqual(
      shares.shareRequests.find((s) => s.id === shareId),
      {
        id: shareId,
        status: 'revoked',
        reason: 'holds data erased on request',
      },
    );
  });

  it('audits who erased and why, naming the patient by the pseudonym a rerun needs', () => {
    const [entry] = new AuditLog(lake).query({ action: 'erase.patient' });
    assert.equal(entry?.detail?.reason, 'consent withdrawn');
    assert.equal(entry?.target, patient);
    assert.ok(new AuditLog(lake).verify().entries > 0);
  });
});
