import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { AccessStore, AuditLog, Role } from '@lpacs/access';
import { startServer } from '@lpacs/api';
import type { RunningServer } from '@lpacs/api';
import { SAMPLE, runCli, tempDir } from './helpers';
import { startPortal } from './portalHarness';

// The new-user trial found that the portal's /api/graphql turned any body
// into JSON for the API, so a cross-site text/plain or form POST with the
// session cookie ran a mutation the API itself would have refused as a
// possible CSRF. These are plain HTTP requests to a started portal.
const work = tempDir('portal-proxy');
const lake = join(work.path, 'lake');
const PASSWORD = 'a portal passphrase';
let api: RunningServer;
let portal: { url: string; stop: () => void };
/** rita's session cookie, `lpacs_session=...`, from signing in through the portal. */
let cookie = '';

/** A mutation with a side effect anyone can check: a cohort named `name`. */
function saveCohort(name: string): string {
  return JSON.stringify({
    query: `mutation { saveCohort(name: "${name}") { id } }`,
  });
}

function post(
  path: string,
  body: string,
  headers: Record<string, string>,
): Promise<Response> {
  return fetch(new URL(path, portal.url), {
    method: 'POST',
    headers: { cookie, ...headers },
    body,
  });
}

/**
 * What a forged mutation would change: the cohorts the API keeps (read
 * from its state file, not asked of the portal) and the audit's
 * cohort.save entries.
 */
function effects(): { cohorts: string[]; saves: number } {
  const file = join(lake, 'state', 'sharing.json');
  const state = (
    existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')) : { cohorts: [] }
  ) as { cohorts: Array<{ name: string }> };
  return {
    cohorts: state.cohorts.map((c) => c.name),
    saves: new AuditLog(lake).query({ action: 'cohort.save', limit: 1000 })
      .length,
  };
}

before(async () => {
  const run = await runCli(['ingest', join(SAMPLE, 'rle.dcm'), '--lake', lake]);
  assert.equal(run.code, 0, run.stderr);
  await new AccessStore(lake).addUser('rita', Role.Researcher, PASSWORD);
  api = await startServer({ lake, port: 0, requestLog: false });
  portal = await startPortal(api.url);
  const signedIn = await fetch(new URL('api/auth/sign-in', portal.url), {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'rita', password: PASSWORD }),
  });
  assert.equal(signedIn.status, 200);
  cookie = signedIn.headers.get('set-cookie')!.split(';')[0]!;
});
after(async () => {
  portal?.stop();
  await api?.close();
  work.remove();
});

describe('the portal GraphQL proxy', () => {
  it('refuses text/plain and form bodies with 415 before the API sees them', async () => {
    const before = effects();
    for (const type of [
      'text/plain',
      'text/plain;charset=UTF-8',
      'application/x-www-form-urlencoded',
      'multipart/form-data; boundary=x',
    ]) {
      const res = await post('api/graphql', saveCohort(`forged ${type}`), {
        'content-type': type,
      });
      assert.equal(res.status, 415, type);
      const body = (await res.json()) as { errors: Array<{ message: string }> };
      assert.match(body.errors[0]!.message, /application\/json/);
    }
    // A body without a content type at all.
    const bare = await post('api/graphql', saveCohort('forged bare'), {});
    assert.equal(bare.status, 415);
    assert.deepEqual(effects(), before);
  });

  it('refuses a JSON mutation whose Origin is not the portal', async () => {
    const before = effects();
    for (const origin of ['http://evil.example', 'null']) {
      const res = await post('api/graphql', saveCohort('forged origin'), {
        'content-type': 'application/json',
        origin,
      });
      assert.equal(res.status, 403, origin);
      const body = (await res.json()) as {
        errors: Array<{ extensions: { code: string } }>;
      };
      assert.equal(body.errors[0]!.extensions.code, 'FORBIDDEN');
    }
    assert.deepEqual(effects(), before);
  });

  it('forwards a JSON mutation from its own origin, with the cookie', async () => {
    const before = effects();
    const own = new URL(portal.url).origin;
    const res = await post('api/graphql', saveCohort('from the portal'), {
      'content-type': 'application/json; charset=utf-8',
      origin: own,
    });
    assert.equal(res.status, 200);
    const body = (await res.json()) as {
      data?: { saveCohort: { id: string } };
    };
    assert.match(body.data?.saveCohort.id ?? '', /^co_[0-9a-f]{16}$/);
    assert.deepEqual(effects(), {
      cohorts: [...before.cohorts, 'from the portal'],
      saves: before.saves + 1,
    });
  });

  it('has no GET route for GraphQL', async () => {
    const url = new URL('api/graphql', portal.url);
    url.searchParams.set('query', '{ me { name } }');
    const res = await fetch(url, { headers: { cookie } });
    assert.equal(res.status, 405);
  });
});

describe('the portal sign-in proxy', () => {
  it('refuses a cross-site form that would sign the browser in', async () => {
    const res = await fetch(new URL('api/auth/sign-in', portal.url), {
      method: 'POST',
      headers: { 'content-type': 'text/plain' },
      body: JSON.stringify({ name: 'rita', password: PASSWORD }),
    });
    assert.equal(res.status, 415);
    assert.equal(res.headers.get('set-cookie'), null);
  });

  it('tells the API which client failed, so one client does not lock out the rest', async () => {
    // Two clients as a reverse proxy in front of the portal reports them.
    const signIn = (name: string, password: string, from: string) =>
      fetch(new URL('api/auth/sign-in', portal.url), {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'x-forwarded-for': from,
        },
        body: JSON.stringify({ name, password }),
      });
    for (const name of ['g1', 'g2', 'g3', 'g4', 'g5'])
      assert.equal((await signIn(name, 'guess', '10.7.0.1')).status, 401);
    assert.equal((await signIn('rita', PASSWORD, '10.7.0.1')).status, 429);
    assert.equal((await signIn('rita', PASSWORD, '10.7.0.2')).status, 200);
  });

  it("passes the API's 429 and Retry-After through", async () => {
    let last: Response | undefined;
    for (let i = 0; i < 6; i++)
      last = await fetch(new URL('api/auth/sign-in', portal.url), {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ name: 'rita', password: 'not her password' }),
      });
    assert.equal(last!.status, 429);
    // Five failures within a second or two of real time: about 15 minutes.
    const retry = Number(last!.headers.get('retry-after'));
    assert.ok(retry > 880 && retry <= 900, String(retry));
    const body = (await last!.json()) as { error: string };
    assert.match(body.error, /too many failed sign-ins/);
  });

  it('signs out with a JSON POST from the portal, not with a bare one', async () => {
    const me = async () => {
      const res = await post('api/graphql', '{"query":"{ me { name } }"}', {
        'content-type': 'application/json',
      });
      const body = (await res.json()) as {
        data?: { me: { name: string } | null };
        errors?: Array<{ extensions?: { code?: string } }>;
      };
      return body.data?.me?.name ?? body.errors?.[0]?.extensions?.code;
    };
    assert.equal(await me(), 'rita');
    const bare = await post('api/auth/sign-out', '', {});
    assert.equal(bare.status, 415);
    assert.equal(await me(), 'rita');
    const out = await post('api/auth/sign-out', '{}', {
      'content-type': 'application/json',
      origin: new URL(portal.url).origin,
    });
    assert.equal(out.status, 200);
    assert.equal(await me(), 'UNAUTHENTICATED');
  });
});
