import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import {
  appendFileSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { AccessError, AuditLog } from '../index';
import type { AuditEvent } from '../index';

// A torn last line (a crash or a full disk mid-append): no newline at the
// end of the log. Readers leave it out; the next append moves it to
// audit/torn-<time>.part and records audit.recovered.

const root = mkdtempSync(join(tmpdir(), 'lpacs-audit-torn-'));
after(() => rmSync(root, { recursive: true, force: true }));
let n = 0;

const event = (target: string): AuditEvent => ({
  actor: 'cli:test',
  action: 'user.add',
  target,
  outcome: 'ok',
});

function freshLog(): AuditLog {
  return new AuditLog(join(root, `lake${++n}`));
}

/** The .part files beside a log, name and bytes. */
function setAside(log: AuditLog): Array<[string, Buffer]> {
  const dir = join(log.path, '..');
  return readdirSync(dir)
    .filter((f) => f.endsWith('.part'))
    .map((f) => [f, readFileSync(join(dir, f))]);
}

describe('audit log with a torn last line', () => {
  it('leaves a torn tail of 100 000 NUL bytes out of reads, then sets it aside and goes on', async () => {
    const log = freshLog();
    await log.append(event('a'));
    await log.append(event('b'));
    const tail = Buffer.alloc(100_000); // what a power cut can leave
    appendFileSync(log.path, tail);
    assert.equal(log.entries().length, 2);
    const v = log.verify();
    assert.equal(v.entries, 2);
    assert.deepEqual(v.torn, {
      line: 3,
      offset: readFileSync(log.path).length - 100_000,
      bytes: 100_000,
    });

    const next = await log.append(event('c'));
    assert.equal(next.seq, 4);
    const entries = log.entries();
    assert.deepEqual(
      entries.map((e) => [e.seq, e.action]),
      [
        [1, 'user.add'],
        [2, 'user.add'],
        [3, 'audit.recovered'],
        [4, 'user.add'],
      ],
    );
    const [[name, bytes]] = setAside(log) as [[string, Buffer]];
    assert.match(name, /^torn-\d{8}T\d{9}Z\.part$/);
    assert.ok(bytes.equals(tail));
    assert.equal(entries[2]!.target, `audit/${name}`);
    assert.deepEqual(entries[2]!.detail, {
      why: 'a write cut short (no newline at the end of the log)',
      line: 3,
      bytes: 100_000,
      sha256: createHash('sha256').update(tail).digest('hex'),
    });
    const after = log.verify();
    assert.equal(after.entries, 4);
    assert.equal(after.torn, undefined);
    assert.equal(after.recorded?.entries, 4);
  });

  it('sets aside a torn first line of a log that has no other', async () => {
    const log = freshLog();
    await log.append(event('a'));
    const cut = readFileSync(log.path).subarray(0, 50);
    writeFileSync(log.path, cut);
    rmSync(log.headPath);
    assert.deepEqual(log.entries(), []);
    assert.deepEqual(log.verify().torn, { line: 1, offset: 0, bytes: 50 });
    const first = await log.append(event('b'));
    assert.equal(first.seq, 2);
    const [recovered] = log.entries();
    assert.equal(recovered?.seq, 1);
    assert.equal(recovered?.detail?.line, 1);
    assert.ok(setAside(log)[0]![1].equals(cut));
    assert.equal(log.verify().entries, 2);
  });

  it('skips empty lines before a torn tail', async () => {
    const log = freshLog();
    await log.append(event('a'));
    appendFileSync(log.path, '\n\n{"seq":2,"at":"2026');
    const next = await log.append(event('b'));
    assert.equal(next.seq, 3);
    assert.equal(log.verify().entries, 3);
    assert.equal(setAside(log)[0]![1].toString(), '{"seq":2,"at":"2026');
  });

  it('refuses to append after a whole last line that is not an entry, naming the file and line', async () => {
    const log = freshLog();
    await log.append(event('a'));
    await log.append(event('b'));
    appendFileSync(log.path, 'not an entry\n');
    const before = readFileSync(log.path);
    await assert.rejects(log.append(event('c')), (err: unknown) => {
      assert.ok(err instanceof AccessError);
      assert.equal(err.code, 'AUDIT_BROKEN');
      assert.ok(
        err.message.startsWith(
          `${log.path} line 3 is not an audit entry: a whole line (ended by a newline), so damage or an edit, not a write cut short; nothing is appended after it.`,
        ),
        err.message,
      );
      return true;
    });
    assert.ok(readFileSync(log.path).equals(before));
    assert.throws(() => log.entries(), /line 3 is not an audit entry/);
  });
});
