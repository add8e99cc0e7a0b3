import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, readFileSync, readdirSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { AuditLog, Role } from '@lpacs/access';
import { startServer } from '@lpacs/api';
import type { RunningServer } from '@lpacs/api';
import {
  CT,
  dcmdump,
  erasePatient,
  filesUnder,
  parquetRows,
  runCli,
  tempDir,
  tokenFor,
} from './helpers';

// What an erasure covers besides rows and objects: the quarantined
// originals (PHI and all) of the patient or study, and for a patient a
// tombstone that refuses their files from then on, by every ingest path.
const work = tempDir('erase-coverage');
const input = join(work.path, 'input');
const lake = join(work.path, 'lake');
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
let server: RunningServer | undefined;

/** The PatientID pseudonyms in the instances table, with their studies. */
async function patients(): Promise<Map<string, string[]>> {
  const rows = await parquetRows(
    `SELECT "PatientID" AS p, list(DISTINCT "StudyInstanceUID" ORDER BY "StudyInstanceUID") AS s FROM read_parquet('${lake}/tables/instances/*/*.parquet') GROUP BY 1`,
  ).catch(() => []);
  return new Map(rows.map((r) => [String(r.p), r.s as string[]]));
}

/** A copy of `file` that says its pixels show text: quarantined, kept whole. */
function burned(file: string, to: string): Buffer {
  cpSync(file, to);
  execFileSync('dcmodify', ['-nb', '-i', '(0028,0301)=YES', to]);
  return readFileSync(to);
}

/** Quarantine entries: id, reason code, and the original's SHA-256 if kept. */
function quarantine(): Array<{
  code: string;
  original?: string;
  patient?: string;
  study?: string;
}> {
  const dir = join(lake, 'quarantine');
  return readdirSync(dir).map((id) => {
    const reason = JSON.parse(
      readFileSync(join(dir, id, 'reason.json'), 'utf8'),
    ) as { code: string; patient?: string; study?: string };
    const file = join(dir, id, 'file.dcm');
    return {
      code: reason.code,
      patient: reason.patient,
      study: reason.study,
      ...(existsSync(file) ? { original: sha(readFileSync(file)) } : {}),
    };
  });
}

const ctFiles = (patient: string) =>
  filesUnder(join(CT, patient)).filter((f) => f.endsWith('.dcm'));
let burnedFirst: Buffer;
let burnedSecond: Buffer;
let first = '';
let second = '';
let secondStudy = '';

before(async () => {
  for (const p of ['P0001', 'P0002'])
    cpSync(join(CT, p), join(input, p), { recursive: true });
  const one = ctFiles('P0001')[0]!;
  const two = ctFiles('P0002')[0]!;
  burnedFirst = burned(one, join(input, 'P0001', 'burned.dcm'));
  burnedSecond = burned(two, join(input, 'P0002', 'burned.dcm'));
  // One patient at a time, so each pseudonym is known by its folder.
  for (const p of ['P0001', 'P0002']) {
    const before = await patients();
    const r = await runCli(['ingest', join(input, p), '--lake', lake]);
    assert.equal(r.code, 0, r.stderr);
    const added = [...(await patients()).keys()].filter((k) => !before.has(k));
    assert.equal(added.length, 1);
    if (p === 'P0001') first = added[0]!;
    else second = added[0]!;
  }
  // The study of P0002's burned copy: the de-identified StudyInstanceUID of
  // its source slice, read by dcmdump from the lake's object of that slice,
  // found by its pixel data (copied as is; the tail of each file). Counting
  // objects per study picked the wrong one when both studies had as many
  // files (a flaky failure on CI).
  const sop = dcmdump(two, ['0008,0018'])!['0008,0018']!;
  const tail = (b: Buffer) => b.subarray(b.length - 8192).toString('hex');
  const twoTail = tail(readFileSync(two));
  const twins = filesUnder(join(lake, 'objects')).filter(
    (o) => tail(readFileSync(o)) === twoTail,
  );
  assert.equal(twins.length, 1, 'one stored object has the slice pixels');
  secondStudy = dcmdump(twins[0]!, ['0020,000d'])!['0020,000d']!;
  assert.ok((await patients()).get(second)!.includes(secondStudy));
  assert.ok(sop && secondStudy);
  assert.deepEqual(
    quarantine()
      .map((q) => q.original)
      .sort(),
    [sha(burnedFirst), sha(burnedSecond)].sort(),
  );
});
after(async () => {
  await server?.close();
  work.remove();
});

describe('erasing a patient (finding 3: quarantine; finding 8: tombstone)', () => {
  it('quarantine list names the patient of each kept original by pseudonym', async () => {
    const r = await runCli(['quarantine', 'list', '--lake', lake, '--json']);
    assert.equal(r.code, 0, r.stderr);
    const listed = JSON.parse(r.stdout) as Array<{
      id: string;
      patient?: string;
    }>;
    // An entry's id is its original's SHA-256 (first characters).
    const patientOf = (b: Buffer) =>
      listed.find((e) => sha(b).startsWith(e.id))?.patient;
    assert.equal(patientOf(burnedFirst), first);
    assert.equal(patientOf(burnedSecond), second);
    // Recorded with the entry when it was quarantined, so an erasure
    // need not read and parse every original again.
    const recorded = Object.fromEntries(
      quarantine().map((q) => [q.original, [q.patient, q.study]]),
    );
    assert.deepEqual(recorded[sha(burnedSecond)], [second, secondStudy]);
    assert.equal(recorded[sha(burnedFirst)]?.[0], first);
  });

  it("deletes the patient's quarantined originals and reports and audits the count", async () => {
    const mrn = dcmdump(ctFiles('P0001')[0]!, ['0010,0020'])!['0010,0020']!;
    assert.ok(burnedFirst.toString('latin1').includes(mrn));
    const r = await erasePatient(lake, first, { json: true });
    assert.equal(r.code, 0, r.stderr);
    const report = JSON.parse(r.stdout) as {
      quarantined: number;
      tombstones: number;
    };
    assert.equal(report.quarantined, 1);
    assert.equal(report.tombstones, 1);
    // The other patient's original stays.
    assert.deepEqual(
      quarantine().map((q) => q.original),
      [sha(burnedSecond)],
    );
    for (const f of filesUnder(lake))
      assert.ok(!readFileSync(f).toString('latin1').includes(mrn), f);
    const [entry] = new AuditLog(lake).query({ action: 'erase.patient' });
    assert.equal(entry?.detail?.quarantined, 1);
  });

  it("refuses the patient's files from lpacs ingest as ERASED, keeping no original", async () => {
    const r = await runCli([
      'ingest',
      join(input, 'P0001'),
      '--lake',
      lake,
      '--json',
    ]);
    assert.equal(r.code, 0, r.stderr);
    const report = JSON.parse(r.stdout) as {
      ingested: number;
      quarantined: number;
      quarantine: Array<{ code: string; message: string }>;
    };
    const files = ctFiles('P0001').length + 1; // and the burned copy
    assert.equal(report.ingested, 0);
    assert.equal(report.quarantined, files);
    const today = new Date().toISOString().slice(0, 10);
    for (const q of report.quarantine) {
      assert.equal(q.code, 'ERASED');
      assert.equal(
        q.message,
        `patient erased on ${today} at the site's request`,
      );
    }
    // The operator's reason is free text: kept in the audit log only.
    assert.ok(!r.stdout.includes('consent withdrawn'));
    for (const f of filesUnder(join(lake, 'quarantine')))
      assert.ok(!readFileSync(f, 'latin1').includes('consent withdrawn'), f);
    assert.equal((await patients()).has(first), false);
    const erased = quarantine().filter((q) => q.code === 'ERASED');
    assert.equal(erased.length, files);
    assert.ok(erased.every((q) => q.original === undefined));
  });

  it('quarantine retry names the erasure as why an ERASED entry has no file', async () => {
    // Only the ERASED entries: the other patient's original stays as is.
    const list = await runCli(['quarantine', 'list', '--lake', lake, '--json']);
    const ids = (JSON.parse(list.stdout) as Array<{ id: string; code: string }>)
      .filter((e) => e.code === 'ERASED')
      .map((e) => e.id);
    const r = await runCli([
      'quarantine',
      'retry',
      ...ids,
      '--lake',
      lake,
      '--json',
    ]);
    assert.equal(r.code, 0, r.stderr);
    const report = JSON.parse(r.stdout) as {
      entries: Array<{ verdict: string; message?: string }>;
    };
    const today = new Date().toISOString().slice(0, 10);
    const notRetryable = report.entries.filter(
      (e) => e.verdict === 'not-retryable',
    );
    assert.equal(notRetryable.length, ctFiles('P0001').length + 1);
    for (const e of notRetryable)
      assert.equal(
        e.message,
        `no file was kept: patient erased on ${today} at the site's request`,
      );
  });

  it('refuses them through STOW-RS too', async () => {
    const token = await tokenFor(lake, Role.Admin);
    server = await startServer({ lake, port: 0 });
    const boundary = 'erased-boundary';
    const body = Buffer.concat([
      Buffer.from(`--${boundary}\r\nContent-Type: application/dicom\r\n\r\n`),
      readFileSync(ctFiles('P0001')[1]!),
      Buffer.from(`\r\n--${boundary}--\r\n`),
    ]);
    const res = await fetch(
      server.url.replace(/graphql$/, 'dicomweb/studies'),
      {
        method: 'POST',
        headers: {
          'content-type': `multipart/related; type="application/dicom"; boundary=${boundary}`,
          authorization: `Bearer ${token}`,
        },
        body,
      },
    );
    const json = (await res.json()) as Record<
      string,
      { Value?: Array<Record<string, { Value?: unknown[] }>> }
    >;
    assert.equal(json['00081199']?.Value, undefined);
    // An LO holds 64 characters (PS3.5 6.2): the whole comment fits.
    const today = new Date().toISOString().slice(0, 10);
    assert.equal(
      json['00081198']?.Value?.[0]?.['00000902']?.Value?.[0],
      `ERASED: patient erased on ${today} at the site's request`,
    );
    assert.ok(!JSON.stringify(json).includes('consent withdrawn'));
    assert.equal((await patients()).has(first), false);
    await server.close();
    server = undefined;
  });
});

describe('erasing a study', () => {
  it("deletes the study's quarantined original, and leaves no tombstone", async () => {
    const r = await runCli([
      'erase',
      '--study',
      secondStudy,
      '--reason',
      'wrong patient',
      '--lake',
      lake,
      '--json',
    ]);
    assert.equal(r.code, 0, r.stderr);
    const report = JSON.parse(r.stdout) as {
      quarantined: number;
      tombstones: number;
      studies: number;
    };
    assert.equal(report.studies, 1);
    assert.equal(report.quarantined, 1);
    assert.equal(report.tombstones, 0);
    assert.ok(!quarantine().some((q) => q.original === sha(burnedSecond)));
    assert.deepEqual((await patients()).get(second)?.length, 1);
    // No tombstone: the study comes back when ingested again.
    const again = await runCli([
      'ingest',
      join(input, 'P0002'),
      '--lake',
      lake,
      '--json',
    ]);
    assert.equal(again.code, 0, again.stderr);
    assert.ok((JSON.parse(again.stdout) as { ingested: number }).ingested > 0);
    assert.deepEqual((await patients()).get(second)?.length, 2);
  });
});
