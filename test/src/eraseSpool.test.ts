import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import {
  existsSync,
  readFileSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join, relative } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { CLI, REPO, dcmdump, runCli, tempDir } from './helpers';
import { killServes, serveDimse, stopServe } from './dimseHarness';

// A C-STORE SCP killed with SIGKILL mid-association leaves the originals
// it answered in the lake's spool and the de-identified objects its
// worker stored ahead of a commit it never made. Erasing the patient
// must remove both: run as an operator would, with dcmtk's storescu
// against lpacs serve --dimse-port on 127.0.0.1.

const work = tempDir('erase-spool');
const corpus = join(work.path, 'ct');
const kekFile = join(work.path, 'kek');
after(() => {
  killServes();
  work.remove();
});

/** The erased patient's files: 2 studies of 2 series of 25 slices. */
const A = { dir: join(corpus, 'P0001'), id: '', name: '' };
/** Another patient, sent in the killed association too: kept. */
const B = { dir: join(corpus, 'P0002'), id: '' };
/** B's files sent first in the killed association. */
const B_SENT = 5;

function filesIn(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() || e.isFIFO())
    .map((e) => join(e.parentPath, e.name))
    .sort();
}

before(() => {
  const made = spawnSync(
    process.execPath,
    [
      join(REPO, 'datasets', 'generate-ct.mjs'),
      ...['--out', corpus, '--patients', '2', '--studies', '2'],
      ...['--series', '2', '--slices', '25', '--size', '64'],
    ],
    { encoding: 'utf8' },
  );
  assert.equal(made.status, 0, made.stderr);
  const first = filesIn(A.dir)[0]!;
  const a = dcmdump(first, ['0010,0020', '0010,0010'])!;
  A.id = a['0010,0020']!;
  A.name = a['0010,0010']!;
  B.id = dcmdump(filesIn(B.dir)[0]!, ['0010,0020'])!['0010,0020']!;
  assert.ok(A.id && A.name && B.id && A.id !== B.id);
  writeFileSync(kekFile, randomBytes(32).toString('hex') + '\n');
});

/** A process of this pid still exists (not even a zombie). */
function gone(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return false;
  } catch {
    return true;
  }
}

/**
 * A lake (UIDs retained) holding A's first study, committed by one
 * association, whose SCP was then killed with SIGKILL after answering
 * 20 of A's second study sent by a second association, which sent 5 of
 * B's files first.
 */
async function crashedLake(
  name: string,
  env: Record<string, string> = {},
  init: string[] = [],
): Promise<string> {
  const lake = join(work.path, name);
  const made = await runCli(
    ['init', '--lake', lake, '--retain', 'uids', ...init],
    env,
  );
  assert.equal(made.code, 0, made.stderr);
  const s = await serveDimse(lake, ['--allow-ae', 'MODALITY1'], env);
  const first = spawnSync(
    'storescu',
    [
      ...['+sd', '+r', '-aet', 'MODALITY1', '-aec', 'LPACS'],
      ...['127.0.0.1', `${s.dimsePort}`, join(A.dir, 'ST01')],
    ],
    { encoding: 'latin1', timeout: 60_000 },
  );
  assert.equal(first.status, 0, first.stderr);
  const push = spawn('storescu', [
    ...['-v', '+sd', '+r', '-aet', 'MODALITY1', '-aec', 'LPACS'],
    ...['127.0.0.1', `${s.dimsePort}`],
    ...filesIn(B.dir).slice(0, B_SENT),
    join(A.dir, 'ST02'),
  ]);
  let log = '';
  push.stdout.on('data', (d: Buffer) => (log += d.toString('latin1')));
  push.stderr.on('data', (d: Buffer) => (log += d.toString('latin1')));
  const pushed = new Promise((resolve) => push.once('exit', resolve));
  const answers = () => log.match(/Received Store Response/g)?.length ?? 0;
  for (let i = 0; i < 3000 && answers() < B_SENT + 20; i++) await sleep(5);
  assert.ok(answers() >= B_SENT + 20, log);
  const pid = s.child.pid!;
  assert.equal((await stopServe(s.child, 'SIGKILL')).signal, 'SIGKILL');
  await pushed;
  for (let i = 0; i < 100 && !gone(pid); i++) await sleep(50);
  assert.ok(gone(pid));
  return lake;
}

/** The lake's instance rows, read with `lpacs sql` (which opens a sealed lake's tables with its key). */
async function rows(
  lake: string,
  env: Record<string, string> = {},
): Promise<Array<{ patient: string; key: string; series: string }>> {
  if (!existsSync(join(lake, 'tables', 'instances'))) return [];
  const batches = readdirSync(join(lake, 'tables', 'instances'));
  if (!batches.some((b) => b.startsWith('batch='))) return [];
  const run = await runCli(
    [
      'sql',
      'SELECT "PatientID" AS patient, object_key AS key, "SeriesInstanceUID" AS series FROM instances',
      ...['--lake', lake, '--json'],
    ],
    env,
  );
  assert.equal(run.code, 0, run.stderr);
  return JSON.parse(run.stdout) as Array<{
    patient: string;
    key: string;
    series: string;
  }>;
}

/**
 * What a crashed lake committed, split by patient. The SCP commits a
 * batch once 200 ms pass with no C-STORE, so under load part of the
 * killed association (B's files first, then A's) may have committed
 * before the kill; the tests count what did rather than assume none.
 * A's pseudonym is the patient of the first association's 50 rows.
 */
async function committed(lake: string, env: Record<string, string> = {}) {
  const all = await rows(lake, env);
  const count = new Map<string, number>();
  for (const r of all) count.set(r.patient, (count.get(r.patient) ?? 0) + 1);
  const pseudonym = [...count].find(([, n]) => n >= 50)?.[0];
  assert.ok(
    pseudonym,
    `A's first study committed: ${JSON.stringify([...count])}`,
  );
  const a = all.filter((r) => r.patient === pseudonym);
  const b = all.filter((r) => r.patient !== pseudonym);
  assert.ok(new Set(b.map((r) => r.patient)).size <= 1, 'only A and B');
  assert.ok(b.length <= B_SENT);
  return { all, pseudonym, a, b, series: new Set(a.map((r) => r.series)).size };
}

const objectsOf = (lake: string) =>
  filesIn(join(lake, 'objects')).filter((f) => f.endsWith('.dcm'));

const spoolOf = (lake: string) =>
  filesIn(join(lake, 'spool')).filter((f) => f.endsWith('.dcm'));

/** The files under `lake` whose bytes hold `text`. */
function holding(lake: string, text: string): string[] {
  const needle = Buffer.from(text, 'latin1');
  return filesIn(lake)
    .filter((f) => readFileSync(f).includes(needle))
    .map((f) => relative(lake, f));
}

describe('lpacs erase after a C-STORE SCP was killed with SIGKILL', () => {
  it("removes the patient's spooled originals and unreferenced objects, counts them, and a restart ingests nothing of theirs", async () => {
    const lake = await crashedLake('clear');
    // What was on disk before, read independently.
    const before = await committed(lake);
    const pseudonym = before.pseudonym;
    const spooled = spoolOf(lake).map(
      (f) => dcmdump(f, ['0010,0020'])!['0010,0020'],
    );
    const spooledA = spooled.filter((id) => id === A.id).length;
    const spooledB = spooled.filter((id) => id === B.id).length;
    assert.equal(spooledA + spooledB, spooled.length);
    // The last answers before the kill are still in the spool.
    assert.ok(spooledA >= 1, `${spooledA}`);
    assert.equal(spooledB + before.b.length, B_SENT);
    const named = new Set(before.a.map((r) => r.key));
    const kept = before.b.map((r) => r.key);
    const objects = objectsOf(lake).map((f) => relative(lake, f));
    const unnamed = objects.filter((k) => !named.has(k) && !kept.includes(k));
    // The orphans are de-identified: the pseudonym, not the original ID.
    const orphanIds = unnamed.map(
      (k) => dcmdump(join(lake, k), ['0010,0020'])!['0010,0020'],
    );
    assert.ok(orphanIds.filter((id) => id === pseudonym).length > 0);
    assert.ok(holding(join(lake, 'spool'), A.id).length > 0);

    const run = await runCli([
      ...['erase', '--lake', lake, '--original-patient-id', A.id],
      ...['--reason', 'consent withdrawn test'],
    ]);
    assert.equal(run.code, 0, run.stderr);
    assert.match(
      run.stdout,
      new RegExp(
        `^erased ${before.a.length} instances in ${before.series} series \\(${named.size} objects, 1 linkage record removed, 0 quarantined originals, ${spooledA} spooled originals, ${unnamed.length} objects no row named swept\\)`,
      ),
    );
    const audit = JSON.parse(
      (await runCli(['audit', '--lake', lake, '--json'])).stdout,
    ) as Array<{ action: string; detail: Record<string, unknown> }>;
    const entry = audit.find((e) => e.action === 'erase.patient')!;
    assert.equal(entry.detail.spooled, spooledA);
    assert.equal(entry.detail.orphansSwept, unnamed.length);

    // Nothing of A anywhere: original ID and name nowhere, the pseudonym
    // only where an erasure keeps it (the audit log, the tombstone).
    assert.deepEqual(holding(lake, A.id), []);
    assert.deepEqual(holding(lake, A.name), []);
    assert.deepEqual(
      holding(lake, pseudonym).filter(
        (f) => !f.startsWith('audit/') && f !== 'state/erased-patients.json',
      ),
      [],
    );
    assert.equal(spoolOf(lake).length, spooledB, "B's stay");
    assert.deepEqual(
      objectsOf(lake).map((f) => relative(lake, f)),
      kept.sort(),
    );

    // The next SCP ingests B's and nothing of A's, and empties the spool.
    const again = await serveDimse(lake, ['--allow-ae', 'MODALITY1']);
    assert.equal((await stopServe(again.child, 'SIGTERM')).code, 0);
    const after = await rows(lake);
    assert.equal(after.length, B_SENT);
    assert.ok(after.every((r) => r.patient !== pseudonym));
    assert.deepEqual(filesIn(join(lake, 'spool')), []);
    assert.deepEqual(filesIn(join(lake, 'quarantine')), []);
    assert.deepEqual(holding(lake, A.id), []);
  });

  it('opens the sealed spool of an encrypted lake with its key', async () => {
    const env = { LPACS_KEK_FILE: kekFile, LPACS_KEK: '' };
    const lake = await crashedLake('sealed', env, [
      ...['--encrypt', '--kek-file', kekFile],
    ]);
    const before = await committed(lake, env);
    const spooled = spoolOf(lake).length;
    assert.ok(spooled >= 1);
    // Sealed: the original ID is in no spooled file.
    assert.deepEqual(holding(join(lake, 'spool'), A.id), []);
    const run = await runCli(
      [
        ...['erase', '--lake', lake, '--original-patient-id', A.id],
        ...['--reason', 'consent withdrawn test', '--json'],
      ],
      env,
    );
    assert.equal(run.code, 0, run.stderr);
    const report = JSON.parse(run.stdout) as { spooled: number };
    const left = spoolOf(lake).length;
    assert.equal(report.spooled, spooled - left);
    assert.ok(report.spooled >= 1);
    assert.equal(left + before.b.length, B_SENT);
    // What is left is B's: the next SCP ingests exactly that many.
    const again = await serveDimse(lake, ['--allow-ae', 'MODALITY1'], env);
    assert.equal((await stopServe(again.child, 'SIGTERM')).code, 0);
    const ingested = JSON.parse(
      (await runCli(['audit', '--lake', lake, '--json'], env)).stdout,
    ) as Array<{ detail?: Record<string, unknown> }>;
    const recovered = ingested.find((e) => e.detail?.ended === 'recovered');
    assert.equal(recovered?.detail?.ingested ?? 0, left);
    const after = await rows(lake, env);
    assert.equal(after.length, B_SENT);
    assert.ok(after.every((r) => r.patient !== before.pseudonym));
    assert.deepEqual(filesIn(join(lake, 'spool')), []);
    assert.deepEqual(filesIn(join(lake, 'quarantine')), []);
  });

  it('erase resume after a kill in the spool step finishes it', async () => {
    const lake = await crashedLake('resumed');
    const before = await committed(lake);
    const spooledA = spoolOf(lake).filter(
      (f) => dcmdump(f, ['0010,0020'])!['0010,0020'] === A.id,
    ).length;
    // A FIFO named as a spooled file: reading it blocks the erasure in
    // its spool step, after every step before it is done.
    const folder = readdirSync(join(lake, 'spool'))[0]!;
    const fifo = join(lake, 'spool', folder, '000000000000-1-00.dcm');
    assert.equal(spawnSync('mkfifo', [fifo]).status, 0);
    const child = spawn(process.execPath, [
      ...[CLI, 'erase', '--lake', lake, '--original-patient-id', A.id],
      ...['--reason', 'consent withdrawn test'],
    ]);
    const exited = new Promise((resolve) => child.once('exit', resolve));
    const plan = join(lake, 'state', 'erasure.json');
    const steps = () =>
      existsSync(plan)
        ? (JSON.parse(readFileSync(plan, 'utf8')) as { done: string[] }).done
        : [];
    for (let i = 0; i < 600 && !steps().includes('quarantine'); i++)
      await sleep(50);
    await sleep(500); // in the spool step, blocked on the FIFO
    child.kill('SIGKILL');
    await exited;
    assert.deepEqual(steps(), [
      ...['tables', 'objects', 'orphans', 'leftovers', 'jobs', 'linkage'],
      'quarantine',
    ]);
    rmSync(fifo);
    assert.equal(holding(join(lake, 'spool'), A.id).length, spooledA);

    const run = await runCli(['erase', 'resume', '--lake', lake]);
    assert.equal(run.code, 0, run.stderr);
    assert.match(
      run.stdout,
      new RegExp(
        `^finished an interrupted erasure \\(erase.patient, begun [^)]+\\): erased ${before.a.length} instances in ${before.series} series \\(0 objects, 0 linkage records removed, 0 quarantined originals, ${spooledA} spooled originals\\)`,
      ),
    );
    assert.equal(existsSync(plan), false);
    assert.deepEqual(holding(lake, A.id), []);
    assert.equal(spoolOf(lake).length, B_SENT - before.b.length);
  });
});
