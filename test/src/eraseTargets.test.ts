import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { AuditLog } from '@lpacs/access';
import { LinkageReader } from '@lpacs/api';
import {
  CT,
  dcmdump,
  filesUnder,
  parquetRows,
  runCli,
  tempDir,
} from './helpers';

// Withdrawal requests name a patient or study the way the site knows
// them; a target with nothing in the lake must not be reported erased.
const work = tempDir('erase-targets');
const lake = join(work.path, 'lake');
const tombstones = join(lake, 'state', 'erased-patients.json');
const today = new Date().toISOString().slice(0, 10);
const p1 = filesUnder(join(CT, 'P0001')).filter((f) => f.endsWith('.dcm'));
const p2 = filesUnder(join(CT, 'P0002')).filter((f) => f.endsWith('.dcm'));

async function instances(): Promise<Array<{ p: string; s: string }>> {
  return (await parquetRows(
    `SELECT "PatientID" AS p, "StudyInstanceUID" AS s FROM read_parquet('${lake}/tables/instances/*/*.parquet')`,
  )) as Array<{ p: string; s: string }>;
}

function erase(...args: string[]) {
  return runCli(['erase', ...args, '--reason', 'withdrawn', '--lake', lake]);
}

function lastAudit() {
  return new AuditLog(lake).entries().at(-1);
}

before(async () => {
  for (const p of ['P0001', 'P0002', 'P0003']) {
    const run = await runCli(['ingest', join(CT, p), '--lake', lake]);
    assert.equal(run.code, 0, run.stderr);
  }
});
after(() => work.remove());

describe('erase of a target the lake does not hold', () => {
  it('fails for a StudyInstanceUID no study has, saying the lake UIDs are de-identified', async () => {
    const n = (await instances()).length;
    const run = await erase('--study', '1.2.3');
    assert.equal(run.code, 1, run.stdout);
    assert.match(run.stderr, /no instance and no quarantined original/);
    assert.match(run.stderr, /--original-study-uid/);
    assert.ok(!run.stderr.includes('1.2.3'), run.stderr);
    assert.equal((await instances()).length, n);
    assert.equal(lastAudit()?.outcome, 'failed');
    assert.equal(lastAudit()?.action, 'erase.study');
  });

  it('audits a --study that matched nothing as a hash even when it has the 2.25. form, and points to --original-study-uid', async () => {
    // The generated corpus's original UIDs are 2.25. and digits, as many
    // vendors' are: the form cannot tell them from a lake's.
    const p3 = filesUnder(join(CT, 'P0003')).find((f) => f.endsWith('.dcm'))!;
    const uid = dcmdump(p3, ['0020,000d'])!['0020,000d']!;
    assert.match(uid, /^2\.25\.\d+$/);
    const run = await erase('--study', uid);
    assert.equal(run.code, 1, run.stdout);
    assert.match(run.stderr, /give --original-study-uid UID instead/);
    assert.ok(!run.stderr.includes(uid), run.stderr);
    const digest = createHash('sha256').update(uid).digest('hex');
    assert.equal(lastAudit()?.target, `sha256:${digest.slice(0, 16)}`);
    assert.equal(lastAudit()?.outcome, 'failed');
    const log = readFileSync(join(lake, 'audit', 'audit.ndjson'), 'utf8');
    assert.ok(!log.includes(uid));
  });

  it('fails for a pseudonym with no data and leaves no tombstone; --tombstone-only leaves one', async () => {
    const nobody = 'LPAAAAAAAAAAAAAAAA';
    const run = await erase('--patient', nobody);
    assert.equal(run.code, 1, run.stdout);
    assert.match(run.stderr, /nothing erased.*--tombstone-only/);
    assert.equal(existsSync(tombstones), false);
    assert.equal(lastAudit()?.outcome, 'failed');
    // Typed as is and found nowhere: it might be the site's own PatientID.
    const digest = createHash('sha256').update(nobody).digest('hex');
    assert.equal(lastAudit()?.target, `sha256:${digest.slice(0, 16)}`);
    const only = await erase('--patient', nobody, '--tombstone-only');
    assert.equal(only.code, 0, only.stderr);
    assert.equal(
      only.stdout,
      `${nobody}: no data here; tombstoned: their files are refused if sent again\n`,
    );
    const kept = JSON.parse(readFileSync(tombstones, 'utf8')) as {
      patients: Record<string, unknown>;
    };
    assert.deepEqual(Object.keys(kept.patients), [nobody]);
  });

  it('never repeats a PatientID given where a pseudonym belongs', async () => {
    const mrn = dcmdump(p1[0]!, ['0010,0020'])!['0010,0020']!;
    const run = await erase('--patient', mrn);
    assert.equal(run.code, 2);
    assert.match(run.stderr, /--original-patient-id/);
    assert.ok(!run.stderr.includes(mrn), run.stderr);
  });

  it('says to name only one target when two are named', async () => {
    const run = await erase(
      '--original-patient-id',
      'X1',
      '--patient',
      'LPAAAAAAAAAAAAAAAA',
    );
    assert.equal(run.code, 2);
    assert.match(run.stderr, /^lpacs erase: name only one of --patient, /);
  });

  it('refuses --tombstone-only for a patient with data', async () => {
    const [row] = await instances();
    const run = await erase('--patient', row!.p, '--tombstone-only');
    assert.equal(run.code, 1, run.stdout);
    assert.match(run.stderr, /has \d+ instances/);
    assert.ok((await instances()).some((r) => r.p === row!.p));
  });

  it('answers NOT_A_LAKE for a --lake that is not one and creates nothing', async () => {
    const typo = join(work.path, 'typo');
    for (const args of [
      ['erase', '--patient', 'LPAAAAAAAAAAAAAAAA', '--reason', 'x'],
      ['erase', 'resume'],
      ['erase', '--original-patient-id', 'X1', '--reason', 'x'],
      ['erase', '--replay-from', lake],
      ['compact'],
      ['retention', '--older-than-days', '1', '--reason', 'x', '--apply'],
      ['models', 'list'],
      ['predict', '--model', 'm'],
      // Trial 7: said "is not encrypted" instead.
      ['keys', 'rotate', '--new-kek-file', join(work.path, 'new.kek')],
    ]) {
      const run = await runCli([...args, '--lake', typo]);
      assert.equal(run.code, 1, `${args.join(' ')}: ${run.stdout}`);
      assert.match(run.stderr, /NOT_A_LAKE/, args.join(' '));
      assert.equal(existsSync(typo), false, args.join(' '));
    }
  });
});

describe('erase by the identifiers a withdrawal request carries', () => {
  it('erases the patient of an original PatientID, never writing it', async () => {
    const mrn = dcmdump(p1[0]!, ['0010,0020'])!['0010,0020']!;
    // The linkage, not the site key, says which pseudonym is this patient.
    const rows = await instances();
    const pseudonym = [...new Set(rows.map((r) => r.p))].find(
      (p) => new LinkageReader(lake).lookup(p)?.patientID === mrn,
    );
    assert.ok(pseudonym);
    const run = await runCli([
      'erase',
      '--original-patient-id',
      mrn,
      '--reason',
      'consent withdrawn',
      '--lake',
      lake,
      '--json',
    ]);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(
      (JSON.parse(run.stdout) as { instances: number }).instances,
      p1.length,
    );
    const left = await instances();
    assert.equal(left.length, rows.length - p1.length);
    assert.ok(!left.some((r) => r.p === pseudonym));
    const entry = lastAudit();
    assert.equal(entry?.action, 'erase.patient');
    assert.equal(entry?.target, pseudonym);
    assert.equal(entry?.outcome, 'ok');
    assert.ok(!run.stdout.includes(mrn) && !run.stderr.includes(mrn));
    for (const f of filesUnder(lake))
      assert.ok(!readFileSync(f).toString('latin1').includes(mrn), f);
  });

  it('keeps the operator’s reason out of the tombstones, and --replay-from copies none, even from an older file', async () => {
    const file = readFileSync(tombstones, 'utf8');
    assert.ok(!file.includes('consent withdrawn'), file);
    const kept = JSON.parse(file) as {
      patients: Record<string, Record<string, string>>;
    };
    for (const t of Object.values(kept.patients))
      assert.deepEqual(Object.keys(t).sort(), ['at', 'kind']);
    // A file written before this release held each reason.
    const older = join(work.path, 'older');
    const init = await runCli(['init', '--lake', older]);
    assert.equal(init.code, 0, init.stderr);
    for (const t of Object.values(kept.patients)) t.reason = 'told by phone';
    mkdirSync(join(older, 'state'), { recursive: true });
    writeFileSync(
      join(older, 'state', 'erased-patients.json'),
      JSON.stringify(kept),
    );
    const restored = join(work.path, 'restored');
    assert.equal((await runCli(['init', '--lake', restored])).code, 0);
    const replay = await runCli([
      'erase',
      '--replay-from',
      older,
      '--lake',
      restored,
    ]);
    assert.equal(replay.code, 0, replay.stderr);
    const copied = readFileSync(
      join(restored, 'state', 'erased-patients.json'),
      'utf8',
    );
    assert.deepEqual(
      Object.keys((JSON.parse(copied) as typeof kept).patients),
      Object.keys(kept.patients),
    );
    assert.ok(!copied.includes('told by phone'), copied);
  });

  it('says a patient erased before is already erased', async () => {
    const mrn = dcmdump(p1[0]!, ['0010,0020'])!['0010,0020']!;
    const run = await erase('--original-patient-id', mrn);
    assert.equal(run.code, 0, run.stderr);
    assert.match(
      run.stdout,
      new RegExp(
        `^LP[A-Z2-7]{16}: already erased on ${today}; nothing left\\n$`,
      ),
    );
  });

  it('erases the study of an original StudyInstanceUID and counts accession links apart from records', async () => {
    const uid = dcmdump(p2[0]!, ['0020,000d'])!['0020,000d']!;
    const inStudy = p2.filter(
      (f) => dcmdump(f, ['0020,000d'])!['0020,000d'] === uid,
    );
    const run = await runCli([
      'erase',
      '--original-study-uid',
      uid,
      '--reason',
      'withdrawn',
      '--lake',
      lake,
      '--json',
    ]);
    assert.equal(run.code, 0, run.stderr);
    const r = JSON.parse(run.stdout) as {
      instances: number;
      linkageRecords: number;
      accessionLinks: number;
    };
    assert.equal(r.instances, inStudy.length);
    // The patient keeps another study: no record goes, links do.
    assert.equal(r.linkageRecords, 0);
    assert.ok(r.accessionLinks > 0);
    assert.ok(!run.stdout.includes(uid));
    assert.ok(!JSON.stringify(new AuditLog(lake).entries()).includes(uid));
    const again = await erase('--original-study-uid', uid);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, new RegExp(`already erased on ${today}`));
  });
});
