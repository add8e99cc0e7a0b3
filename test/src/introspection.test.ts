import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { AuditLog, Role } from '@lpacs/access';
import { startServer } from '@lpacs/api';
import type { RunningServer } from '@lpacs/api';
import { SAMPLE, bearer, runCli, tempDir, tokenFor } from './helpers';

// Introspection answered anyone the whole schema, though every API call
// needs a token (README).
const work = tempDir('introspection');
const lake = join(work.path, 'lake');
let server: RunningServer;
let token = '';

async function post(
  query: string,
  headers: Record<string, string> = { 'content-type': 'application/json' },
) {
  const res = await fetch(server.url, {
    method: 'POST',
    headers,
    body: JSON.stringify({ query }),
  });
  return {
    status: res.status,
    body: (await res.json()) as {
      data?: Record<string, unknown> | null;
      errors?: Array<{ extensions?: { code?: string } }>;
    },
  };
}

before(async () => {
  const run = await runCli(['ingest', join(SAMPLE, 'rle.dcm'), '--lake', lake]);
  assert.equal(run.code, 0, run.stderr);
  token = await tokenFor(lake, Role.Researcher, 'rita');
  server = await startServer({ lake, port: 0, requestLog: false });
});
after(async () => {
  await server?.close();
  work.remove();
});

describe('GraphQL introspection', () => {
  const asks = {
    __schema: '{ __schema { queryType { fields { name } } } }',
    __type: '{ __type(name: "Query") { fields { name } } }',
    'a fragment':
      'query { ...F } fragment F on Query { __schema { types { name } } }',
    'beside __typename':
      '{ __typename t: __type(name: "CohortFilter") { name } }',
  };
  for (const [what, query] of Object.entries(asks)) {
    it(`is refused without a token: ${what}`, async () => {
      const r = await post(query);
      assert.equal(r.status, 401);
      assert.equal(r.body.errors?.[0]?.extensions?.code, 'UNAUTHENTICATED');
      assert.ok(!JSON.stringify(r.body).includes('cohort'));
      assert.equal(r.body.data ?? undefined, undefined);
    });
  }

  it('audits the refusal', async () => {
    const before = new AuditLog(lake).entries().length;
    await post(asks.__schema);
    const added = new AuditLog(lake).entries().slice(before);
    assert.deepEqual(
      added.map((e) => [e.actor, e.action, e.outcome]),
      [['anonymous', 'introspection', 'denied']],
    );
  });

  it('answers a caller with a token', async () => {
    const r = await post(asks.__schema, bearer(token));
    assert.equal(r.status, 200);
    const fields = (
      r.body.data as { __schema: { queryType: { fields: { name: string }[] } } }
    ).__schema.queryType.fields.map((f) => f.name);
    assert.ok(fields.includes('cohort'), fields.join(','));
  });
});
