import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { AccessStore, AuditLog, Role } from '@lpacs/access';
import { SignInThrottle, startServer } from '@lpacs/api';
import type { RunningServer } from '@lpacs/api';
import { CLI, SAMPLE, runCli, tempDir } from './helpers';
import type { CliRun } from './helpers';

// Two findings of the new-user trial: a password change left the old
// sessions and tokens working, and sign-in took any number of guesses.
const work = tempDir('sign-in');
const lake = join(work.path, 'lake');
const PASSWORD = 'the first passphrase';
let server: RunningServer;
let base = '';
/** The throttle's clock, moved by the tests. */
let now = Date.parse('2026-12-01T09:00:00Z');

/** `lpacs ARGS` with `input` on its stdin (for --password-stdin). */
function runCliWithInput(args: string[], input: string): Promise<CliRun> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args]);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(input);
  });
}

/** POST /auth/sign-in as a client at `from` (the portal forwards it so). */
async function signIn(name: string, password: string, from: string) {
  const res = await fetch(`${base}/auth/sign-in`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-forwarded-for': from },
    body: JSON.stringify({ name, password }),
  });
  const body = (await res.json()) as { error?: string; name?: string };
  return {
    status: res.status,
    retryAfter: res.headers.get('retry-after'),
    cookie: res.headers.get('set-cookie')?.split(';')[0],
    body,
  };
}

/** `{ me { name } }` with the given credential headers: the name, or the error code. */
async function me(headers: Record<string, string>): Promise<string> {
  const res = await fetch(server.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ query: '{ me { name } }' }),
  });
  const body = (await res.json()) as {
    data?: { me: { name: string } };
    errors?: Array<{ extensions?: { code?: string } }>;
  };
  return body.data?.me.name ?? body.errors?.[0]?.extensions?.code ?? '?';
}

before(async () => {
  const run = await runCli(['ingest', join(SAMPLE, 'rle.dcm'), '--lake', lake]);
  assert.equal(run.code, 0, run.stderr);
  const store = new AccessStore(lake);
  for (const name of ['sam', 'rita', 'pat'])
    await store.addUser(name, Role.Steward, PASSWORD);
  server = await startServer({
    lake,
    port: 0,
    requestLog: false,
    signInThrottle: new SignInThrottle({ now: () => now }),
  });
  base = server.url.replace(/\/graphql$/, '');
});
after(async () => {
  await server?.close();
  work.remove();
});

describe('lpacs users password', () => {
  it("ends the user's portal sessions and revokes their API tokens", async () => {
    const session = await signIn('pat', PASSWORD, '10.0.9.1');
    assert.equal(session.status, 200);
    const created = await runCli(['tokens', 'create', 'pat', '--lake', lake]);
    assert.equal(created.code, 0, created.stderr);
    const token = created.stdout.split('\n')[0]!;
    const cookie = { cookie: session.cookie! };
    const bearer = { authorization: `Bearer ${token}` };
    assert.equal(await me(cookie), 'pat');
    assert.equal(await me(bearer), 'pat');

    const changed = await runCliWithInput(
      ['users', 'password', 'pat', '--password-stdin', '--lake', lake],
      'NewPassw0rd-long-enough\n',
    );
    assert.equal(changed.code, 0, changed.stderr);
    assert.equal(
      changed.stdout,
      'password of pat set\nrevoked 1 portal session and 1 API token; make new ones with: lpacs tokens create pat\n',
    );
    assert.equal(await me(cookie), 'UNAUTHENTICATED');
    assert.equal(await me(bearer), 'UNAUTHENTICATED');
    assert.equal((await signIn('pat', PASSWORD, '10.0.9.1')).status, 401);
    const again = await signIn('pat', 'NewPassw0rd-long-enough', '10.0.9.1');
    assert.equal(again.status, 200);
    assert.equal(await me({ cookie: again.cookie! }), 'pat');
    const [entry] = new AuditLog(lake).query({ action: 'user.password' });
    assert.deepEqual(entry?.detail, { sessions: 1, tokens: 1 });
  });
});

describe('sign-in throttling', () => {
  it('answers 429 to the right password after five wrong ones for the name, until the window passes', async () => {
    // Each guess from its own address: only the name's counter fills.
    for (let i = 1; i <= 5; i++) {
      const wrong = await signIn('sam', 'not the password', `10.1.0.${i}`);
      assert.equal(wrong.status, 401, `guess ${i}`);
    }
    const right = await signIn('sam', PASSWORD, '10.1.0.6');
    assert.equal(right.status, 429);
    assert.equal(right.cookie, undefined);
    // All five failed at the same instant of the test clock: 15 minutes.
    assert.equal(right.retryAfter, '900');
    assert.equal(
      right.body.error,
      'too many failed sign-ins for this user name or from this address; try again in 15 minutes',
    );
    const [entry] = new AuditLog(lake).query({ action: 'sign-in', limit: 1 });
    assert.deepEqual(
      {
        actor: entry?.actor,
        target: entry?.target,
        outcome: entry?.outcome,
        detail: entry?.detail,
      },
      {
        actor: 'anonymous',
        target: 'sam',
        outcome: 'denied',
        detail: { throttled: 'user', retryAfter: 900 },
      },
    );

    now += 14 * 60_000;
    const early = await signIn('sam', PASSWORD, '10.1.0.6');
    assert.equal(early.status, 429);
    assert.equal(early.retryAfter, '60');
    now += 60_000;
    const later = await signIn('sam', PASSWORD, '10.1.0.6');
    assert.equal(later.status, 200, JSON.stringify(later.body));
    assert.equal(await me({ cookie: later.cookie! }), 'sam');
  });

  it('starts the count again after a successful sign-in', async () => {
    for (let i = 1; i <= 4; i++)
      assert.equal((await signIn('sam', 'wrong', `10.2.0.${i}`)).status, 401);
    assert.equal((await signIn('sam', PASSWORD, '10.2.0.5')).status, 200);
    for (let i = 6; i <= 9; i++)
      assert.equal((await signIn('sam', 'wrong', `10.2.0.${i}`)).status, 401);
    assert.equal((await signIn('sam', PASSWORD, '10.2.0.10')).status, 200);
  });

  it('refuses a name that does not exist exactly as one that does', async () => {
    const refusals = [];
    for (const name of ['rita', 'nobody-here']) {
      for (let i = 1; i <= 5; i++)
        assert.equal((await signIn(name, 'wrong', `10.3.${i}.1`)).status, 401);
      refusals.push(await signIn(name, 'wrong', '10.3.9.9'));
    }
    const [real, unknown] = refusals;
    assert.equal(real?.status, 429);
    assert.deepEqual(
      {
        status: unknown?.status,
        retry: unknown?.retryAfter,
        body: unknown?.body,
      },
      { status: real?.status, retry: real?.retryAfter, body: real?.body },
    );
  });

  it('answers 429 to an address after five failures, whatever name it tries next', async () => {
    for (const name of ['a1', 'a2', 'a3', 'a4', 'a5'])
      assert.equal((await signIn(name, 'wrong', '10.4.0.1')).status, 401);
    const blocked = await signIn('pat', 'NewPassw0rd-long-enough', '10.4.0.1');
    assert.equal(blocked.status, 429);
    assert.equal(blocked.retryAfter, '900');
    const [entry] = new AuditLog(lake).query({ action: 'sign-in', limit: 1 });
    assert.deepEqual(entry?.detail, { throttled: 'address', retryAfter: 900 });
    const elsewhere = await signIn(
      'pat',
      'NewPassw0rd-long-enough',
      '10.4.0.2',
    );
    assert.equal(elsewhere.status, 200);
  });
});
