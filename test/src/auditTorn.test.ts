import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { cpSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CT, runCli, tempDir } from './helpers';

// The audit log of a real lake, damaged as a crash, a full disk or a
// hand would leave it, and the lpacs commands an operator runs next.

const work = tempDir('audit-torn');
after(() => work.remove());
/** A lake after an ingest and `users add u1`: two entries, head 2. */
const base = join(work.path, 'base');

interface Entry {
  seq: number;
  prev: string;
  hash: string;
  action: string;
  target?: string;
  detail?: Record<string, unknown>;
}

/** A copy of the base lake to damage. */
function lakeCopy(name: string): string {
  const lake = join(work.path, name);
  cpSync(base, lake, { recursive: true });
  return lake;
}

const logOf = (lake: string) => join(lake, 'audit', 'audit.ndjson');
const headOf = (lake: string) => join(lake, 'state', 'audit-head.json');

before(async () => {
  const ingest = await runCli(['ingest', join(CT, 'P0001'), '--lake', base]);
  assert.equal(ingest.code, 0, ingest.stderr);
  const add = await runCli([
    'users',
    'add',
    'u1',
    '--role',
    'researcher',
    '--lake',
    base,
  ]);
  assert.equal(add.code, 0, add.stderr);
  assert.equal(readFileSync(logOf(base), 'utf8').split('\n').length, 3);
});

describe('a torn or damaged audit log through the CLI', () => {
  it('sets aside a write cut short (its head never named it), records audit.recovered and goes on', async () => {
    const lake = lakeCopy('crashed');
    // A crash mid-append: the line of `tokens create` half on disk, the
    // head (rewritten only after the whole line) still at entry 2.
    const head2 = readFileSync(headOf(lake));
    const made = await runCli(['tokens', 'create', 'u1', '--lake', lake]);
    assert.equal(made.code, 0, made.stderr);
    writeFileSync(headOf(lake), head2);
    const full = readFileSync(logOf(lake));
    const start = full.lastIndexOf(0x0a, full.length - 2) + 1;
    const cut = full.subarray(0, full.length - 60);
    const torn = cut.subarray(start);
    writeFileSync(logOf(lake), cut);

    const verify = await runCli(['audit', 'verify', '--lake', lake]);
    assert.equal(verify.code, 0, verify.stderr);
    assert.match(
      verify.stdout,
      /^audit log intact: 2 entries, head [0-9a-f]{64}\n/,
    );
    assert.ok(
      verify.stdout.includes(
        `line 3 (${torn.length} bytes, no newline at the end of the log) is a write cut short (a crash or a full disk), not an entry: the next audited action moves it to ${join(lake, 'audit', 'torn-<time>.part')} and records audit.recovered\n`,
      ),
      verify.stdout,
    );
    const listed = await runCli(['audit', '--lake', lake]);
    assert.equal(listed.code, 0, listed.stderr);
    assert.equal(listed.stdout.trim().split('\n').length, 2);

    const next = await runCli(['tokens', 'create', 'u1', '--lake', lake]);
    assert.equal(next.code, 0, next.stderr);
    const parts = readdirSync(join(lake, 'audit')).filter((f) =>
      f.endsWith('.part'),
    );
    assert.equal(parts.length, 1);
    assert.ok(readFileSync(join(lake, 'audit', parts[0]!)).equals(torn));

    const text = readFileSync(logOf(lake), 'utf8');
    assert.ok(text.endsWith('\n'));
    const entries = text
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Entry);
    assert.deepEqual(
      entries.map((e) => [e.seq, e.action]),
      [
        [1, 'ingest'],
        [2, 'user.add'],
        [3, 'audit.recovered'],
        [4, 'token.issue'],
      ],
    );
    const recovered = entries[2]!;
    assert.equal(recovered.prev, entries[1]!.hash);
    assert.equal(recovered.target, `audit/${parts[0]}`);
    assert.deepEqual(recovered.detail, {
      why: 'a write cut short (no newline at the end of the log)',
      line: 3,
      bytes: torn.length,
      sha256: createHash('sha256').update(torn).digest('hex'),
    });
    const again = await runCli(['audit', 'verify', '--lake', lake]);
    assert.equal(again.code, 0, again.stderr);
    assert.equal(
      again.stdout,
      `audit log intact: 4 entries, head ${entries[3]!.hash}\n`,
    );
  });

  it('tells an entry written in whole and then cut (its head names it) from a crash, before and after it is set aside', async () => {
    const lake = lakeCopy('cut');
    const full = readFileSync(logOf(lake));
    writeFileSync(logOf(lake), full.subarray(0, full.length - 40));
    const start = full.lastIndexOf(0x0a, full.length - 2) + 1;
    const verify = await runCli(['audit', 'verify', '--lake', lake]);
    assert.equal(verify.code, 1);
    assert.equal(
      verify.stderr,
      `lpacs: AUDIT_BROKEN: the audit log holds 1 entry but its head (state/audit-head.json) names entry 2: line 2 is cut short (${full.length - 40 - start} bytes, no newline), so entries written in whole were cut from its end, in the middle of one (damage or an edit: a write cut short by a crash leaves the head behind it)\n`,
    );
    // Audited commands go on (as after any cut: the head is kept, so
    // verify goes on failing), with the cut line kept and recorded.
    const made = await runCli(['tokens', 'create', 'u1', '--lake', lake]);
    assert.equal(made.code, 0, made.stderr);
    const part = readdirSync(join(lake, 'audit')).find((f) =>
      f.endsWith('.part'),
    );
    const after = await runCli(['audit', 'verify', '--lake', lake]);
    assert.equal(after.code, 1);
    assert.match(
      after.stderr,
      new RegExp(
        `^lpacs: AUDIT_BROKEN: audit entry 2 is the audit.recovered entry that set aside audit/${part}, not the one its head \\(state/audit-head.json\\) names .*: the line it set aside had been written in whole and was then cut short`,
      ),
    );
  });

  it('refuses a whole last line that is not an entry, naming the file, the line and what to do, before users add acts', async () => {
    const lake = lakeCopy('lastline');
    const lines = readFileSync(logOf(lake), 'utf8').split('\n');
    lines[1] = lines[1]!.slice(0, 80); // cut, but its newline kept
    writeFileSync(logOf(lake), lines.join('\n'));
    const before = readFileSync(logOf(lake));
    const made = await runCli([
      'users',
      'add',
      'u2',
      '--role',
      'researcher',
      '--lake',
      lake,
    ]);
    assert.equal(made.code, 1);
    assert.equal(
      made.stderr,
      `lpacs: AUDIT_BROKEN: ${logOf(lake)} line 2 is not an audit entry: a whole line (ended by a newline), so damage or an edit, not a write cut short; nothing is appended after it. Keep a copy of the file; the log and its head (state/audit-head.json) of the last backup verify (lpacs restore into a new directory), without the entries since\n`,
    );
    assert.ok(readFileSync(logOf(lake)).equals(before));
    // Refused before it acted: no user u2 was added unaudited.
    const users = await runCli(['users', 'list', '--lake', lake]);
    assert.equal(users.code, 0, users.stderr);
    assert.match(users.stdout, /^u1 /m);
    assert.doesNotMatch(users.stdout, /^u2 /m);
  });

  it('names the file and line of a damaged line in the middle to lpacs audit and audit verify, and appends after the last entry', async () => {
    const lake = lakeCopy('middle');
    const more = await runCli(['tokens', 'create', 'u1', '--lake', lake]);
    assert.equal(more.code, 0, more.stderr);
    const lines = readFileSync(logOf(lake), 'utf8').split('\n');
    lines[1] = '{"seq":2, damaged';
    writeFileSync(logOf(lake), lines.join('\n'));
    const message = `lpacs: AUDIT_BROKEN: ${logOf(lake)} line 2 is not an audit entry: a whole line (ended by a newline), so damage or an edit, not a write cut short. Keep a copy of the file; the log and its head (state/audit-head.json) of the last backup verify (lpacs restore into a new directory), without the entries since\n`;
    for (const args of [['audit'], ['audit', 'verify']]) {
      const run = await runCli([...args, '--lake', lake]);
      assert.deepEqual([run.code, run.stderr], [1, message], args.join(' '));
    }
    // Appends go on after its last entry (only the last line is read to
    // append); verify goes on naming the damaged line.
    const add = await runCli([
      'users',
      'add',
      'u2',
      '--role',
      'researcher',
      '--lake',
      lake,
    ]);
    assert.equal(add.code, 0, add.stderr);
    const verify = await runCli(['audit', 'verify', '--lake', lake]);
    assert.deepEqual([verify.code, verify.stderr], [1, message]);
  });
});
