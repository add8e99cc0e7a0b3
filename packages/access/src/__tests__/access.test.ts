import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import {
  existsSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import {
  AccessStore,
  Action,
  AuditLog,
  authorize,
  hashPassword,
  Role,
  verifyPassword,
} from '../index';

const root = mkdtempSync(join(tmpdir(), 'lpacs-access-'));
after(() => rmSync(root, { recursive: true, force: true }));

function run(script: string): Promise<number | null> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['-e', script], { stdio: 'inherit' });
    child.on('close', resolve);
  });
}

describe('passwords', () => {
  it('verifies the password it hashed and nothing else', async () => {
    const hash = await hashPassword('correct horse battery');
    assert.match(hash, /^scrypt\$65536\$8\$1\$/);
    assert.ok(!hash.includes('correct'));
    assert.equal(await verifyPassword('correct horse battery', hash), true);
    assert.equal(await verifyPassword('correct horse batterY', hash), false);
    assert.notEqual(
      await hashPassword('correct horse battery'),
      hash,
      'salted',
    );
  });
});

describe('users and tokens', () => {
  const store = new AccessStore(join(root, 'lake'));

  it('issues a token that authenticates as its user until revoked', async () => {
    await store.addUser('ada', Role.Researcher, 'a long passphrase');
    const { token, info } = await store.issueToken('ada', { label: 'nb' });
    assert.match(token, /^lpat_[0-9a-f]{16}_[A-Za-z0-9_-]{43}$/);
    const who = store.authenticate(token);
    assert.deepEqual(
      { name: who.name, role: who.role, tokenId: who.tokenId },
      { name: 'ada', role: 'researcher', tokenId: info.id },
    );
    const file = readFileSync(
      join(root, 'lake', 'state', 'access.json'),
      'utf8',
    );
    assert.ok(!file.includes(token.slice(23)), 'the secret is not stored');
    assert.ok(!file.includes('a long passphrase'));
    assert.equal(
      statSync(join(root, 'lake', 'state', 'access.json')).mode & 0o777,
      0o600,
    );
    await store.revokeToken(info.id);
    assert.throws(() => store.authenticate(token), { code: 'UNAUTHENTICATED' });
  });

  it('refuses a tampered, expired or unknown token and a disabled user', async () => {
    await store.addUser('bob', Role.Collaborator);
    const { token } = await store.issueToken('bob');
    const last = token.at(-1) === 'A' ? 'B' : 'A';
    assert.throws(() => store.authenticate(token.slice(0, -1) + last), {
      code: 'UNAUTHENTICATED',
    });
    assert.throws(() => store.authenticate('lpat_nonsense'), {
      code: 'UNAUTHENTICATED',
    });
    // Expired: rewrite its expiry in the file as an operator's clock would see it.
    const path = join(root, 'lake', 'state', 'access.json');
    const doc = JSON.parse(readFileSync(path, 'utf8')) as {
      tokens: Array<{ expiresAt: string }>;
    };
    const expired = await store.issueToken('bob');
    assert.equal(store.authenticate(expired.token).name, 'bob');
    doc.tokens = (JSON.parse(readFileSync(path, 'utf8')) as typeof doc).tokens;
    doc.tokens.at(-1)!.expiresAt = new Date(Date.now() - 1000).toISOString();
    writeFileSync(path, JSON.stringify(doc));
    assert.throws(() => store.authenticate(expired.token), {
      code: 'UNAUTHENTICATED',
    });
    assert.equal(store.authenticate(token).name, 'bob');
    await store.disableUser('bob');
    assert.throws(() => store.authenticate(token), { code: 'UNAUTHENTICATED' });
  });

  it('signs in with the right password only, the same error either way', async () => {
    const session = await store.signIn('ada', 'a long passphrase');
    assert.equal(session.info.kind, 'session');
    assert.equal(store.authenticate(session.token).name, 'ada');
    const wrong = await store
      .signIn('ada', 'a wrong passphrase')
      .catch((e: Error) => e.message);
    const nobody = await store
      .signIn('zed', 'a long passphrase')
      .catch((e: Error) => e.message);
    assert.equal(wrong, 'wrong user name or password');
    assert.equal(nobody, wrong);
  });

  it('ends every session and API token of a user whose password changes', async () => {
    await store.addUser('pat', Role.Researcher, 'the first passphrase');
    await store.addUser('quinn', Role.Researcher, 'an unrelated passphrase');
    const session = await store.signIn('pat', 'the first passphrase');
    const api = await store.issueToken('pat', { label: 'notebook' });
    const spent = await store.issueToken('pat', { label: 'old' });
    await store.revokeToken(spent.info.id);
    const other = await store.signIn('quinn', 'an unrelated passphrase');
    const revoked = await store.setPassword('pat', 'the second passphrase');
    // One live session and one live token; the one revoked earlier is not counted.
    assert.deepEqual(revoked, { sessions: 1, tokens: 1 });
    for (const t of [session.token, api.token])
      assert.throws(() => store.authenticate(t), { code: 'UNAUTHENTICATED' });
    assert.equal(store.authenticate(other.token).name, 'quinn');
    await assert.rejects(store.signIn('pat', 'the first passphrase'));
    const fresh = await store.signIn('pat', 'the second passphrase');
    assert.equal(store.authenticate(fresh.token).name, 'pat');
  });

  it('names what is wrong with a new user', async () => {
    await assert.rejects(
      store.addUser('Ada Lovelace', Role.Admin),
      /user name "Ada Lovelace" must be/,
    );
    await assert.rejects(store.addUser('ada', Role.Admin), /exists already/);
    await assert.rejects(
      store.addUser('cyd', Role.Admin, 'short'),
      /at least 12/,
    );
  });

  it('loses no user when two processes add users at once', async () => {
    const lake = join(root, 'race');
    const script = (prefix: string) => `
      const { AccessStore, Role } = require(${JSON.stringify(join(__dirname, '..', 'index.js'))});
      (async () => {
        const s = new AccessStore(${JSON.stringify(lake)});
        for (let i = 0; i < 20; i++) await s.addUser('${prefix}' + i, Role.Researcher);
      })();`;
    const codes = await Promise.all([run(script('p')), run(script('q'))]);
    assert.deepEqual(codes, [0, 0]);
    assert.equal(new AccessStore(lake).users().length, 40);
  });
});

describe('authorize', () => {
  const who = (role: Role, scopes?: Action[]) => ({
    userId: 'u',
    name: 'n',
    role,
    tokenId: 't',
    ...(scopes ? { scopes } : {}),
  });

  it('lets a role do what its row allows and a scoped token only its scopes', () => {
    assert.equal(
      authorize(who(Role.Researcher), Action.CohortQuery).role,
      'researcher',
    );
    assert.throws(() => authorize(who(Role.Collaborator), Action.CohortQuery), {
      code: 'FORBIDDEN',
      message: 'the collaborator role may not cohort.query',
    });
    assert.throws(
      () =>
        authorize(
          who(Role.Researcher, [Action.CohortQuery]),
          Action.CohortSave,
        ),
      {
        code: 'FORBIDDEN',
        message: 'this token is not scoped for cohort.save',
      },
    );
    assert.throws(() => authorize(undefined, Action.CohortQuery), {
      code: 'UNAUTHENTICATED',
    });
  });
});

describe('audit log', () => {
  it('chains entries so that editing any line is found', async () => {
    const log = new AuditLog(join(root, 'audit-edit'));
    for (let i = 0; i < 5; i++)
      await log.append({
        actor: 'ada',
        action: Action.CohortQuery,
        outcome: 'ok',
        detail: { n: i },
      });
    assert.equal(log.verify().entries, 5);
    const lines = readFileSync(log.path, 'utf8').split('\n');
    lines[2] = lines[2]!.replace('"actor":"ada"', '"actor":"eve"');
    writeFileSync(log.path, lines.join('\n'));
    assert.throws(() => log.verify(), {
      code: 'AUDIT_BROKEN',
      message: /audit entry 3 \(seq 3\)/,
    });
  });

  it('finds a deleted line', async () => {
    const log = new AuditLog(join(root, 'audit-delete'));
    for (let i = 0; i < 4; i++)
      await log.append({ actor: 'ada', action: 'sign-in', outcome: 'ok' });
    const lines = readFileSync(log.path, 'utf8').split('\n');
    lines.splice(1, 1);
    writeFileSync(log.path, lines.join('\n'));
    assert.throws(() => log.verify(), {
      code: 'AUDIT_BROKEN',
      message: /entry 2 \(seq 3\)/,
    });
  });

  it('finds entries deleted from the end, an emptied log and a deleted one, by the head kept beside it', async () => {
    const lake = join(root, 'audit-cut');
    const log = new AuditLog(lake);
    for (let i = 0; i < 10; i++)
      await log.append({ actor: 'ada', action: 'sign-in', outcome: 'ok' });
    const whole = readFileSync(log.path, 'utf8');
    const lines = whole.split('\n').filter(Boolean);
    // The head, by hand: the count of lines and the last line's hash.
    const last = (JSON.parse(lines[9]!) as { hash: string }).hash;
    const recorded = JSON.parse(readFileSync(log.headPath, 'utf8')) as {
      entries: number;
      hash: string;
    };
    assert.deepEqual(
      { entries: recorded.entries, hash: recorded.hash },
      { entries: 10, hash: last },
    );
    assert.equal(log.headPath, join(lake, 'state', 'audit-head.json'));
    assert.equal(log.verify().entries, 10);
    // sed -i '8,$d': the first 7 lines are a chain that verifies alone.
    writeFileSync(log.path, `${lines.slice(0, 7).join('\n')}\n`);
    assert.throws(() => log.verify(), {
      code: 'AUDIT_BROKEN',
      message:
        /^the audit log holds 7 entries but its head \(state\/audit-head\.json\) names entry 10: entries were deleted from its end$/,
    });
    // An append after the cut does not hide it: the head stays.
    await log.append({ actor: 'eve', action: 'sign-in', outcome: 'ok' });
    assert.equal(log.head()?.hash, last);
    assert.throws(() => log.verify(), {
      code: 'AUDIT_BROKEN',
      message: /entries were deleted from its end/,
    });
    writeFileSync(log.path, '');
    assert.throws(() => log.verify(), {
      code: 'AUDIT_BROKEN',
      message: /holds 0 entries but .* names entry 10: it was emptied$/,
    });
    unlinkSync(log.path);
    assert.throws(() => log.verify(), {
      code: 'AUDIT_BROKEN',
      message: /holds 0 entries but .* names entry 10: it was deleted$/,
    });
    // The same count of other entries: the hash at the head's place differs.
    writeFileSync(log.path, whole);
    const other = new AuditLog(join(root, 'audit-other'));
    for (let i = 0; i < 10; i++)
      await other.append({ actor: 'eve', action: 'sign-in', outcome: 'ok' });
    writeFileSync(log.path, readFileSync(other.path));
    assert.throws(() => log.verify(), {
      code: 'AUDIT_BROKEN',
      message:
        /^audit entry 10 is not the one its head .* names .*: the log was rewritten$/,
    });
    writeFileSync(log.path, whole);
    assert.equal(log.verify().recorded?.entries, 10);
  });

  it('accepts a log one entry ahead of its head (a crash between the two writes) and catches up on the next append', async () => {
    const log = new AuditLog(join(root, 'audit-crash'));
    for (let i = 0; i < 3; i++)
      await log.append({ actor: 'ada', action: 'sign-in', outcome: 'ok' });
    const head = readFileSync(log.headPath);
    await log.append({ actor: 'ada', action: 'sign-out', outcome: 'ok' });
    writeFileSync(log.headPath, head); // as if killed before the rename
    const v = log.verify();
    assert.equal(v.entries, 4);
    assert.equal(v.recorded?.entries, 3);
    await log.append({ actor: 'ada', action: 'sign-in', outcome: 'ok' });
    assert.equal(log.head()?.entries, 5);
    assert.equal(log.head()?.hash, log.verify().head);
  });

  it('checks the log against an anchor kept elsewhere', async () => {
    const log = new AuditLog(join(root, 'audit-anchor'));
    for (let i = 0; i < 5; i++)
      await log.append({ actor: 'ada', action: 'sign-in', outcome: 'ok' });
    const anchor = { entries: 5, hash: log.verify().head };
    for (let i = 0; i < 2; i++)
      await log.append({ actor: 'ada', action: 'sign-in', outcome: 'ok' });
    assert.equal(log.verify(anchor).entries, 7);
    assert.throws(() => log.verify({ entries: 5, hash: 'f'.repeat(64) }), {
      code: 'AUDIT_BROKEN',
      message: /^audit entry 5 is not the one the anchor given names/,
    });
    // Both files rewritten to a shorter log: only the anchor finds it.
    const lines = readFileSync(log.path, 'utf8').split('\n').filter(Boolean);
    writeFileSync(log.path, `${lines.slice(0, 4).join('\n')}\n`);
    rmSync(log.headPath);
    assert.equal(log.verify().recorded, null);
    assert.throws(() => log.verify(anchor), {
      code: 'AUDIT_BROKEN',
      message: /holds 4 entries but the anchor given names entry 5/,
    });
  });

  it('records a head for a log from before heads were kept on its next append', async () => {
    const log = new AuditLog(join(root, 'audit-legacy'));
    for (let i = 0; i < 2; i++)
      await log.append({ actor: 'ada', action: 'sign-in', outcome: 'ok' });
    rmSync(log.headPath);
    assert.equal(existsSync(log.headPath), false);
    assert.deepEqual(
      { ...log.verify(), head: '' },
      { entries: 2, head: '', recorded: null },
    );
    await log.append({ actor: 'ada', action: 'sign-in', outcome: 'ok' });
    assert.equal(log.verify().recorded?.entries, 3);
  });

  it('keeps one unbroken chain when two processes append at once', async () => {
    const lake = join(root, 'audit-race');
    const script = (actor: string) => `
      const { AuditLog } = require(${JSON.stringify(join(__dirname, '..', 'index.js'))});
      (async () => {
        const log = new AuditLog(${JSON.stringify(lake)});
        for (let i = 0; i < 50; i++) await log.append({ actor: '${actor}', action: 'cohort.query', outcome: 'ok' });
      })();`;
    assert.deepEqual(
      await Promise.all([run(script('a')), run(script('b'))]),
      [0, 0],
    );
    const log = new AuditLog(lake);
    assert.equal(log.verify().entries, 100);
    assert.equal(log.query({ actor: 'a', limit: 1000 }).length, 50);
    // A bare date as the end of a range means the whole of that day.
    const today = new Date().toISOString().slice(0, 10);
    assert.equal(log.query({ to: today, limit: 1000 }).length, 100);
    assert.equal(log.query({ from: '2000-01-01', to: '2000-01-02' }).length, 0);
  });
});
