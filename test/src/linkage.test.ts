import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { AuditLog, Role } from '@lpacs/access';
import { startServer } from '@lpacs/api';
import type { RunningServer } from '@lpacs/api';
import {
  CT,
  bearer,
  dcmdump,
  filesUnder,
  parquetRows,
  runCli,
  tempDir,
  tokenFor,
} from './helpers';

interface Truth {
  patients: Array<{
    patientId: string;
    studies: Array<{ accessionNumber: string }>;
  }>;
}

// Only the first patient's files are ingested, so every pseudonym in this
// lake stands for that patient: the expected original is known without
// using lpacs's own keys.
const truth = JSON.parse(readFileSync(join(CT, 'truth.json'), 'utf8')) as Truth;
const patient = truth.patients[0]!;
const work = tempDir('linkage');
const lake = join(work.path, 'lake');
let server: RunningServer;
let pseudonym = '';

async function reidentify(token: string, p: string, reason = 'consent check') {
  const res = await fetch(server.url, {
    method: 'POST',
    headers: bearer(token),
    body: JSON.stringify({
      query:
        'mutation ($p: String!, $r: String!) { reidentify(pseudonym: $p, reason: $r) { pseudonym patientID accessions { original pseudonym } } }',
      variables: { p, r: reason },
    }),
  });
  return (await res.json()) as {
    data?: {
      reidentify: {
        patientID: string;
        accessions: Array<{ original: string; pseudonym: string }>;
      };
    };
    errors?: Array<{ message: string; extensions?: { code?: string } }>;
  };
}

before(async () => {
  const run = await runCli([
    'ingest',
    join(CT, 'P0001'),
    '--lake',
    lake,
    '--json',
  ]);
  assert.equal(run.code, 0, run.stderr);
  const ids = await parquetRows(
    `SELECT DISTINCT "PatientID" AS p FROM '${lake}/tables/instances/*/*.parquet'`,
  );
  assert.equal(ids.length, 1);
  pseudonym = String(ids[0]!.p);
  server = await startServer({ lake, port: 0 });
});
after(async () => {
  await server?.close();
  work.remove();
});

describe('the linkage (original -> pseudonym)', () => {
  it('gives a steward the original PatientID and accession numbers', async () => {
    const r = await reidentify(await tokenFor(lake, Role.Steward), pseudonym);
    assert.equal(r.errors, undefined, JSON.stringify(r.errors));
    assert.equal(r.data!.reidentify.patientID, patient.patientId);
    const originals = r
      .data!.reidentify.accessions.map((a) => a.original)
      .sort();
    assert.deepEqual(
      originals,
      patient.studies.map((s) => s.accessionNumber).sort(),
    );
    // The pseudonyms are what the de-identified objects carry (dcmdump).
    const stored = new Set(
      filesUnder(join(lake, 'objects')).map(
        (f) => dcmdump(f, ['0008,0050'])?.['0008,0050'],
      ),
    );
    assert.deepEqual(
      r.data!.reidentify.accessions.map((a) => a.pseudonym).sort(),
      [...stored].sort(),
    );
  });

  it('is refused to everyone else, and a lookup needs a reason', async () => {
    for (const role of [Role.Admin, Role.Researcher, Role.Collaborator]) {
      const r = await reidentify(await tokenFor(lake, role), pseudonym);
      assert.equal(r.errors?.[0]?.extensions?.code, 'FORBIDDEN', role);
    }
    const noReason = await reidentify(
      await tokenFor(lake, Role.Steward),
      pseudonym,
      ' ',
    );
    assert.match(noReason.errors?.[0]?.message ?? '', /needs a reason/);
  });

  it('is encrypted on disk: no original identifier in its files', () => {
    const files = filesUnder(join(lake, 'keys', 'linkage'));
    assert.ok(files.length > 0);
    for (const f of files) {
      const text = readFileSync(f).toString('latin1');
      assert.ok(!text.includes(patient.patientId), f);
      for (const s of patient.studies)
        assert.ok(!text.includes(s.accessionNumber), f);
    }
  });

  it('keeps an MRN typed where the pseudonym belongs out of the audit log and the answer, naming it by a digest keyed with the site secret', async () => {
    const steward = await tokenFor(lake, Role.Steward);
    // The patient's own MRN (from the corpus's truth) and one of the form
    // a new user pasted.
    for (const typed of [patient.patientId, 'ZZMRN998877']) {
      const before = new AuditLog(lake).entries().length;
      const r = await reidentify(steward, typed, 'who is this');
      assert.equal(r.errors?.[0]?.extensions?.code, 'NOT_FOUND');
      assert.match(r.errors?.[0]?.message ?? '', /is not a pseudonym/);
      assert.ok(!JSON.stringify(r).includes(typed));
      const entries = new AuditLog(lake).entries().slice(before);
      const lookup = entries.find((e) => e.action === 'linkage.lookup');
      // HMAC-SHA256 keyed with the site secret (keys/site.key, hex) over
      // the purpose, a NUL and the value, computed here from the file.
      const secret = Buffer.from(
        readFileSync(join(lake, 'keys', 'site.key'), 'utf8').trim(),
        'hex',
      );
      const digest = createHmac('sha256', secret)
        .update(`audit target\0${typed}`)
        .digest('hex');
      assert.deepEqual(
        [lookup?.outcome, lookup?.target, lookup?.detail?.given],
        ['failed', `hmac:${digest.slice(0, 16)}`, 'not a pseudonym'],
      );
      assert.ok(
        !readFileSync(new AuditLog(lake).path, 'utf8').includes(typed),
        typed,
      );
    }
    // A pseudonym's form is written as given, found or not.
    const nobody = 'LPAAAAAAAAAAAAAAAA';
    const r = await reidentify(steward, nobody, 'who is this');
    assert.equal(r.errors?.[0]?.extensions?.code, 'NOT_FOUND');
    const [last] = new AuditLog(lake).query({ action: 'linkage.lookup' });
    assert.equal(last?.target, nobody);
  });

  it('audits each use with its reason, never the original', () => {
    const entries = new AuditLog(lake).query({ action: 'linkage.lookup' });
    assert.ok(
      entries.some(
        (e) => e.actor === 'steward' && e.detail?.reason === 'consent check',
      ),
    );
    const all = readFileSync(new AuditLog(lake).path, 'utf8');
    assert.ok(!all.includes(patient.patientId));
  });
});
