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

// The same schema leaked without a token through the answers to mistakes:
// "Cannot query field "cohor" on type "Query". Did you mean "cohort"?".
describe('GraphQL mistakes without a token', () => {
  const typos: Record<string, { query: string; variables?: object }> = {
    'a field': { query: '{ cohor { counts { studies } } }' },
    'a nested field': { query: '{ cohort { counts { studie } } }' },
    'an argument': { query: '{ cohort(filtr: {}) { counts { studies } } }' },
    'no selection': { query: '{ cohort }' },
    'an input field in variables': {
      query:
        'query ($f: CohortFilter) { cohort(filter: $f) { counts { studies } } }',
      variables: { f: { modalty: ['CT'] } },
    },
  };
  async function ask(
    t: { query: string; variables?: object },
    headers: Record<string, string> = { 'content-type': 'application/json' },
  ) {
    const res = await fetch(server.url, {
      method: 'POST',
      headers,
      body: JSON.stringify(t),
    });
    return { status: res.status, text: await res.text() };
  }
  /** Every name the schema gives its types and their fields, read with a token. */
  async function schemaNames(): Promise<string[]> {
    const r = await post(
      '{ __schema { types { name fields { name args { name } } inputFields { name } } } }',
      bearer(token),
    );
    const types = (
      r.body.data as {
        __schema: {
          types: Array<{
            name: string;
            fields: Array<{ name: string; args: { name: string }[] }> | null;
            inputFields: Array<{ name: string }> | null;
          }>;
        };
      }
    ).__schema.types.filter((t) => !t.name.startsWith('__'));
    const names = new Set<string>();
    for (const t of types) {
      names.add(t.name);
      for (const f of t.fields ?? []) {
        names.add(f.name);
        for (const a of f.args) names.add(a.name);
      }
      for (const f of t.inputFields ?? []) names.add(f.name);
    }
    return [...names];
  }

  for (const [what, t] of Object.entries(typos)) {
    it(`answers UNAUTHENTICATED naming nothing of the schema: ${what}`, async () => {
      const names = await schemaNames();
      assert.ok(names.includes('cohort') && names.includes('modality'));
      const r = await ask(t);
      assert.equal(r.status, 401, r.text);
      const body = JSON.parse(r.text) as {
        errors: Array<{ message: string; extensions: { code: string } }>;
      };
      assert.equal(body.errors.length, 1);
      assert.equal(body.errors[0]!.extensions.code, 'UNAUTHENTICATED');
      assert.doesNotMatch(r.text, /Did you mean/);
      // No name the schema holds appears in the message, quoted as
      // GraphQL's messages quote them.
      for (const n of names)
        assert.ok(!body.errors[0]!.message.includes(`"${n}"`), n);
    });

    it(`keeps the schema's words for a signed-in caller: ${what}`, async () => {
      const r = await ask(t, bearer(token));
      assert.ok(r.status === 400 || r.status === 200, r.text);
      const body = JSON.parse(r.text) as {
        errors: Array<{ extensions: { code: string } }>;
      };
      assert.ok(
        ['GRAPHQL_VALIDATION_FAILED', 'BAD_USER_INPUT'].includes(
          body.errors[0]!.extensions.code,
        ),
        r.text,
      );
    });
  }

  it('suggests the field to a signed-in caller', async () => {
    const r = await ask(typos['a field']!, bearer(token));
    assert.match(r.text, /Did you mean \\"cohort\\"\?/);
  });

  it('still answers a syntax error as one (it names nothing of the schema)', async () => {
    const r = await ask({ query: '{ cohort(' });
    assert.equal(r.status, 400);
    assert.match(r.text, /Syntax Error/);
  });
});
