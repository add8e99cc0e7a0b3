import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
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
  for (const child of serving) await stop(child, 'SIGTERM');
  work.remove();
});

/** `lpacs serve` processes still running, stopped by `after` if a test failed. */
const serving = new Set<ChildProcessWithoutNullStreams>();

/** A real `lpacs serve ARGS` on the lake, on 127.0.0.1 and a free port. */
async function serve(
  args: string[] = [],
): Promise<{ base: string; child: ChildProcessWithoutNullStreams }> {
  const child = spawn(process.execPath, [
    CLI,
    'serve',
    '--lake',
    lake,
    '--port',
    '0',
    ...args,
  ]);
  serving.add(child);
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const base = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /at (http:\/\/127\.0\.0\.1:\d+)\/graphql/.exec(out);
      if (m) resolve(m[1]!);
    });
    child.once('exit', (code) =>
      reject(new Error(`serve exited ${code}: ${stderr}`)),
    );
  });
  return { base, child };
}

/** Stops a `serve` by `signal` and waits until it has exited. */
async function stop(
  child: ChildProcessWithoutNullStreams,
  signal: NodeJS.Signals,
): Promise<void> {
  serving.delete(child);
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill(signal);
  await exited;
}

/** POST /auth/sign-in at `at`, with X-Forwarded-For `forwarded` if given. */
async function signInAt(
  at: string,
  name: string,
  password: string,
  forwarded?: string,
) {
  const res = await fetch(`${at}/auth/sign-in`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      ...(forwarded ? { 'x-forwarded-for': forwarded } : {}),
    },
    body: JSON.stringify({ name, password }),
  });
  await res.text();
  return { status: res.status, retryAfter: res.headers.get('retry-after') };
}

/**
 * How the audit log names a user name no user has: HMAC-SHA256 keyed with
 * the site secret (keys/site.key, hex) over `audit target`, NUL and the
 * name; the first 16 hex digits. Computed here from the file.
 */
function digestOf(name: string): string {
  const secret = Buffer.from(
    readFileSync(join(lake, 'keys', 'site.key'), 'utf8').trim(),
    'hex',
  );
  const hex = createHmac('sha256', secret)
    .update(`audit target\0${name}`)
    .digest('hex');
  return `hmac:${hex.slice(0, 16)}`;
}

/**
 * The newest `n` sign-in entries, newest first: outcome, target, detail;
 * a refusal's retryAfter (real seconds, so not exact) as `retry: 'about 900'`
 * when it is within a minute of 900.
 */
function signIns(n: number) {
  return new AuditLog(lake).query({ action: 'sign-in', limit: n }).map((e) => {
    const { retryAfter, ...detail } = e.detail ?? {};
    const retry = Number(retryAfter);
    return {
      outcome: e.outcome,
      target: e.target,
      detail,
      ...(retryAfter === undefined
        ? {}
        : { retry: retry > 840 && retry <= 900 ? 'about 900' : retry }),
    };
  });
}

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
        detail: { throttled: 'user', retryAfter: 900, from: '10.1.0.6' },
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

  it('writes a name no user has as a keyed digest: a password typed as the name stays out of the log', async () => {
    const typo = await signIn(PASSWORD, '', '10.5.0.1');
    assert.equal(typo.status, 401);
    assert.deepEqual(signIns(1), [
      {
        outcome: 'failed',
        target: digestOf(PASSWORD),
        detail: { from: '10.5.0.1' },
      },
    ]);
    assert.ok(
      !readFileSync(new AuditLog(lake).path, 'utf8').includes(PASSWORD),
    );
  });

  it('answers 429 to an address after five failures, whatever name it tries next', async () => {
    for (const name of ['a1', 'a2', 'a3', 'a4', 'a5'])
      assert.equal((await signIn(name, 'wrong', '10.4.0.1')).status, 401);
    const blocked = await signIn('pat', 'NewPassw0rd-long-enough', '10.4.0.1');
    assert.equal(blocked.status, 429);
    assert.equal(blocked.retryAfter, '900');
    const [entry] = new AuditLog(lake).query({ action: 'sign-in', limit: 1 });
    assert.deepEqual(entry?.detail, {
      throttled: 'address',
      retryAfter: 900,
      from: '10.4.0.1',
    });
    const elsewhere = await signIn(
      'pat',
      'NewPassw0rd-long-enough',
      '10.4.0.2',
    );
    assert.equal(elsewhere.status, 200);
  });
});

describe('sign-in throttling in a real lpacs serve', () => {
  it('keeps the counts when the server is killed and started again', async () => {
    const first = await serve();
    // Five wrong passwords for una, each from its own (forwarded) address,
    // and five names tried from 10.61.0.1.
    for (let i = 1; i <= 5; i++) {
      const wrong = await signInAt(first.base, 'una', 'wrong', `10.60.0.${i}`);
      assert.equal(wrong.status, 401);
      const guess = await signInAt(first.base, `g${i}`, 'wrong', '10.61.0.1');
      assert.equal(guess.status, 401);
    }
    // kill -9: only what was on disk before each 401 survives.
    await stop(first.child, 'SIGKILL');
    const second = await serve();
    const una = await signInAt(second.base, 'una', 'wrong', '10.60.0.6');
    assert.equal(una.status, 429);
    // The five failures were a few seconds ago: about 15 minutes to wait.
    const retry = Number(una.retryAfter);
    assert.ok(retry > 840 && retry <= 900, String(retry));
    const fromThere = await signInAt(
      second.base,
      'rita',
      PASSWORD,
      '10.61.0.1',
    );
    assert.equal(fromThere.status, 429);
    assert.deepEqual(
      signIns(2).map((e) => e.detail?.throttled),
      ['address', 'user'],
    );
    // Someone else, from elsewhere, still signs in.
    const rita = await signInAt(second.base, 'rita', PASSWORD, '10.62.0.1');
    assert.equal(rita.status, 200);
    await stop(second.child, 'SIGTERM');
  });

  it('with --trust-proxy, walks X-Forwarded-For back through the trusted proxies to the client', async () => {
    // The portal here (127.0.0.1) behind a reverse proxy at 10.80.0.2:
    // the client's own header comes first, then what each proxy appended.
    const { base, child } = await serve([
      '--trust-proxy',
      '127.0.0.1',
      '--trust-proxy',
      '10.80.0.0/16',
    ]);
    for (let i = 1; i <= 5; i++) {
      const spoofed = `203.0.113.${i}, 198.51.100.7, 10.80.0.2`;
      assert.equal(
        (await signInAt(base, `h${i}`, 'wrong', spoofed)).status,
        401,
      );
    }
    const blocked = await signInAt(
      base,
      'rita',
      PASSWORD,
      '203.0.113.99, 198.51.100.7, 10.80.0.2',
    );
    assert.equal(blocked.status, 429);
    const other = await signInAt(
      base,
      'rita',
      PASSWORD,
      '198.51.100.8, 10.80.0.2',
    );
    assert.equal(other.status, 200);
    assert.deepEqual(signIns(3), [
      { outcome: 'ok', target: 'rita', detail: { from: '198.51.100.8' } },
      {
        outcome: 'denied',
        target: 'rita',
        detail: { throttled: 'address', from: '198.51.100.7' },
        retry: 'about 900',
      },
      {
        outcome: 'failed',
        target: digestOf('h5'),
        detail: { from: '198.51.100.7' },
      },
    ]);

    // IPv6 clients count by /64; an IPv4-mapped address as its IPv4.
    for (let i = 1; i <= 5; i++)
      assert.equal(
        (await signInAt(base, `v${i}`, 'wrong', `2001:db8:1:2:${i}::1`)).status,
        401,
      );
    const sameNet = await signInAt(
      base,
      'rita',
      PASSWORD,
      '2001:db8:1:2:bbbb::2',
    );
    assert.equal(sameNet.status, 429);
    const nextNet = await signInAt(base, 'rita', PASSWORD, '2001:db8:1:3::1');
    assert.equal(nextNet.status, 200);
    for (let i = 1; i <= 5; i++)
      assert.equal(
        (await signInAt(base, `m${i}`, 'wrong', '::ffff:10.90.0.1')).status,
        401,
      );
    assert.equal(
      (await signInAt(base, 'rita', PASSWORD, '10.90.0.1')).status,
      429,
    );
    assert.deepEqual(signIns(1)[0]?.detail, {
      throttled: 'address',
      from: '10.90.0.1',
    });
    await stop(child, 'SIGTERM');
  });

  // Last: this one fills the counter of 127.0.0.1 itself.
  it('ignores X-Forwarded-For from a peer it does not trust', async () => {
    const { base, child } = await serve(['--trust-proxy', 'none']);
    // Each guess claims another address; all come from 127.0.0.1.
    for (let i = 1; i <= 5; i++)
      assert.equal(
        (await signInAt(base, `s${i}`, 'wrong', `10.70.0.${i}`)).status,
        401,
      );
    const blocked = await signInAt(base, 'rita', PASSWORD, '10.70.0.9');
    assert.equal(blocked.status, 429);
    assert.deepEqual(signIns(2), [
      {
        outcome: 'denied',
        target: 'rita',
        detail: { throttled: 'address', from: '127.0.0.1' },
        retry: 'about 900',
      },
      {
        outcome: 'failed',
        target: digestOf('s5'),
        detail: { from: '127.0.0.1' },
      },
    ]);
    await stop(child, 'SIGTERM');
  });
});
