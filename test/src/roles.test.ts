import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { AuditLog, Role } from '@lpacs/access';
import { startServer } from '@lpacs/api';
import type { RunningServer } from '@lpacs/api';
import { SAMPLE, bearer, runCli, tempDir, tokenFor } from './helpers';

const work = tempDir('roles');
const lake = join(work.path, 'lake');
let server: RunningServer;
const tokens = new Map<string, string>();

type Who = Role | 'anonymous';
const WHO: Who[] = [
  Role.Admin,
  Role.Steward,
  Role.Researcher,
  Role.Collaborator,
  'anonymous',
];

/** An operation that is one GraphQL document, sent as the caller. */
function gqlOperation(name: string, allowed: string, query: string) {
  return { name, allowed, run: (t?: string) => gqlStatus(t, query) };
}

/**
 * The policy written out by hand from the roles, independent of
 * the code's table: A admin, S steward, R researcher, C collaborator.
 */
const OPERATIONS: Array<{
  name: string;
  allowed: string;
  run: (t?: string) => Promise<number>;
}> = [
  gqlOperation('query a cohort', 'ASR', '{ cohort { counts { instances } } }'),
  gqlOperation('who am I', 'ASRC', '{ me { name role } }'),
  gqlOperation('list users', 'A', '{ users { name } }'),
  {
    name: 'add a user',
    allowed: 'A',
    run: (t) =>
      gqlStatus(
        t,
        `mutation { addUser(name: "u${Math.random().toString(36).slice(2, 8)}", role: "researcher") { user { name } } }`,
      ),
  },
  gqlOperation('list own tokens', 'ASRC', '{ tokens { id } }'),
  gqlOperation(
    'create a token',
    'ASRC',
    'mutation { createToken(label: "x", expiresInDays: 1) { token } }',
  ),
  gqlOperation('read the audit log', 'A', '{ auditLog(limit: 1) { seq } }'),
  gqlOperation('verify the audit log', 'A', '{ verifyAudit { entries } }'),
  { name: 'store by STOW-RS', allowed: 'A', run: (t) => stowStatus(t) },
  {
    name: 'receive from a peer lake (lpacs sync)',
    allowed: 'A',
    run: async (t) => {
      const res = await fetch(server.url.replace(/graphql$/, 'sync/have'), {
        method: 'POST',
        headers: t ? bearer(t) : { 'content-type': 'application/json' },
        body: JSON.stringify({ sha256: [] }),
      });
      await res.text();
      return res.status;
    },
  },
  gqlOperation(
    're-identify a pseudonym',
    'S',
    'mutation { reidentify(pseudonym: "LPNOBODY", reason: "audit test") { pseudonym } }',
  ),
  gqlOperation(
    'save a cohort',
    'AR',
    'mutation { saveCohort(name: "all") { id } }',
  ),
  gqlOperation(
    'see the SQL behind a filter',
    'A',
    '{ cohortSql(filter: { modality: ["CT"] }) { sql } }',
  ),
  gqlOperation(
    'see the lake status and quarantine',
    'AS',
    '{ lakeStatus { instances quarantinedCount } }',
  ),
  gqlOperation(
    'see operations (latency, errors, ingest, disk, backup)',
    'AS',
    '{ operations { uptimeSeconds } }',
  ),
  gqlOperation('list share requests', 'ASR', '{ shareRequests { id } }'),
  gqlOperation('list releases', 'ASC', '{ releases { id } }'),
  gqlOperation(
    'decide a share',
    'S',
    'mutation { decideShare(id: "sh_0000000000000000", approve: true) { id } }',
  ),
  {
    name: 'browse DICOMweb (QIDO-RS; collaborators only their releases)',
    allowed: 'ASRC',
    run: async (t) => {
      const res = await fetch(
        server.url.replace(/graphql$/, 'dicomweb/studies?limit=1'),
        t ? { headers: { authorization: `Bearer ${t}` } } : {},
      );
      await res.text();
      return res.status;
    },
  },
];

const LETTER: Record<Who, string> = {
  admin: 'A',
  steward: 'S',
  researcher: 'R',
  collaborator: 'C',
  anonymous: '-',
};

/** 'ok', or the error code the API answered with. */
async function gqlStatus(
  token: string | undefined,
  query: string,
): Promise<number> {
  const res = await fetch(server.url, {
    method: 'POST',
    headers: token ? bearer(token) : { 'content-type': 'application/json' },
    body: JSON.stringify({ query }),
  });
  const body = (await res.json()) as {
    errors?: Array<{ extensions?: { code?: string } }>;
  };
  const code = body.errors?.[0]?.extensions?.code;
  // Past the gate, a lookup of nothing (NOT_FOUND) still counts as allowed.
  if (!code || code === 'NOT_FOUND') return 200;
  return code === 'UNAUTHENTICATED' ? 401 : code === 'FORBIDDEN' ? 403 : 500;
}

async function stowStatus(token: string | undefined): Promise<number> {
  // An empty but well-formed request: allowed callers get the STOW answer
  // for "no parts" (400), refused ones 401/403 before the body is read.
  const res = await fetch(server.url.replace(/graphql$/, 'dicomweb/studies'), {
    method: 'POST',
    headers: {
      'content-type': 'multipart/related; type="application/dicom"; boundary=b',
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
    body: '--b--\r\n',
  });
  await res.text();
  return res.status === 400 ? 200 : res.status;
}

before(async () => {
  const run = await runCli(['ingest', SAMPLE, '--lake', lake, '--json']);
  assert.equal(run.code, 0, run.stderr);
  for (const who of WHO)
    if (who !== 'anonymous') tokens.set(who, await tokenFor(lake, who));
  server = await startServer({ lake, port: 0 });
});
after(async () => {
  await server?.close();
  work.remove();
});

describe('every operation as every role', () => {
  for (const op of OPERATIONS) {
    it(`${op.name}: allowed for ${op.allowed.split('').join(', ')} only`, async () => {
      const seen: string[] = [];
      for (const who of WHO) {
        const status = await op.run(tokens.get(who));
        const expected = op.allowed.includes(LETTER[who])
          ? 200
          : who === 'anonymous'
            ? 401
            : 403;
        seen.push(`${who}:${status}`);
        assert.equal(
          status,
          expected,
          `${op.name} as ${who} (${seen.join(' ')})`,
        );
      }
    });
  }

  it('shows an admin parameterised SQL: values only in the parameters', async () => {
    const res = await fetch(server.url, {
      method: 'POST',
      headers: bearer(tokens.get(Role.Admin)!),
      body: JSON.stringify({
        query:
          '{ cohortSql(filter: { modality: ["CT"], text: "o\'brien" }) { sql params } }',
      }),
    });
    const body = (await res.json()) as {
      data: { cohortSql: { sql: string; params: string[] } };
    };
    const { sql, params } = body.data.cohortSql;
    assert.match(sql, /"Modality" IN \(\?\)/);
    assert.ok(!sql.includes('brien'));
    assert.deepEqual(params, ['"CT"', '"%o\'brien%"', '"%o\'brien%"']);
  });

  it('answers a revoked or made-up token with 401 and audits it', async () => {
    const res = await fetch(server.url, {
      method: 'POST',
      headers: bearer('lpat_0123456789abcdef_' + 'x'.repeat(43)),
      body: JSON.stringify({ query: '{ me { name } }' }),
    });
    assert.equal(res.status, 401);
    const entry = new AuditLog(lake).query({
      action: 'authenticate',
      limit: 1,
    })[0];
    assert.equal(entry?.outcome, 'failed');
  });

  it('keeps an id of no token’s form, given to revokeToken, out of the audit log', async () => {
    const typed = 'ZZMRN998877';
    const before = new AuditLog(lake).entries().length;
    const query = `mutation { revokeToken(id: "${typed}") }`;
    // Not the researcher's own token: the refusal is audited; an admin
    // passes the gate and finds no such token.
    assert.equal(await gqlStatus(tokens.get(Role.Researcher), query), 403);
    assert.equal(await gqlStatus(tokens.get(Role.Admin), query), 200);
    // HMAC-SHA256 keyed with the site secret over `audit target`, NUL and
    // the value (16 hex digits), computed here from keys/site.key.
    const secret = Buffer.from(
      readFileSync(join(lake, 'keys', 'site.key'), 'utf8').trim(),
      'hex',
    );
    const digest = createHmac('sha256', secret)
      .update(`audit target\0${typed}`)
      .digest('hex')
      .slice(0, 16);
    const entries = new AuditLog(lake)
      .entries()
      .slice(before)
      .filter((e) => e.action === 'user.manage');
    assert.deepEqual(
      entries.map((e) => [e.actor, e.outcome, e.target]),
      [
        ['researcher', 'denied', `hmac:${digest}`],
        ['admin', 'ok', `hmac:${digest}`],
      ],
    );
    assert.ok(!readFileSync(new AuditLog(lake).path, 'utf8').includes(typed));
  });

  it('audited every refusal, in a chain that verifies', () => {
    const log = new AuditLog(lake);
    const denied = log
      .query({ limit: 10_000 })
      .filter((e) => e.outcome === 'denied');
    // Each refused (operation, caller) pair above left an entry.
    const refusals = OPERATIONS.reduce(
      (n, op) => n + WHO.filter((w) => !op.allowed.includes(LETTER[w])).length,
      0,
    );
    assert.ok(denied.length >= refusals, `${denied.length} < ${refusals}`);
    assert.ok(log.verify().entries > refusals);
  });
});
