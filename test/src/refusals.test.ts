import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { AccessStore, AuditLog, Role } from '@lpacs/access';
import { startServer } from '@lpacs/api';
import type { RunningServer } from '@lpacs/api';
import { SAMPLE, gqlAs, gqlResult, runCli, tempDir, tokenFor } from './helpers';

// Findings of a new-user trial: DICOMweb answered JSON whatever the
// Accept header asked, labelled error text as DICOM JSON, and took
// includefield and limit values it could not honour; tokens took scopes
// their role can never use; another user's cohort id was told apart from
// a made-up one; an oversized GraphQL body and an empty sign-in were
// answered in the wrong shape.
const work = tempDir('refusals');
const lake = join(work.path, 'lake');
let server: RunningServer;
let base = '';
let dicomweb = '';
let admin = '';
let rita = '';
let rob = '';
/** The study of the one object in the lake. */
let study = '';

before(async () => {
  const run = await runCli(['ingest', join(SAMPLE, 'rle.dcm'), '--lake', lake]);
  assert.equal(run.code, 0, run.stderr);
  admin = await tokenFor(lake, Role.Admin);
  rita = await tokenFor(lake, Role.Researcher, 'rita');
  rob = await tokenFor(lake, Role.Researcher, 'rob');
  await new AccessStore(lake).addUser('cole', Role.Collaborator);
  server = await startServer({ lake, port: 0, requestLog: false });
  base = server.url.replace(/\/graphql$/, '');
  dicomweb = `${base}/dicomweb`;
  const [found] = (await (
    await get(`${dicomweb}/studies`, 'application/dicom+json')
  ).json()) as Array<Record<string, { Value?: string[] }>>;
  study = found!['0020000D']!.Value![0]!;
});

after(async () => {
  await server?.close();
  work.remove();
});

function get(url: string, accept?: string): Promise<Response> {
  return fetch(url, {
    headers: {
      authorization: `Bearer ${admin}`,
      ...(accept === undefined ? {} : { accept }),
    },
  });
}

/** A one-part STOW-RS body of a sample file not in the lake. */
function stowBody(): { body: Buffer; type: string } {
  const b = 'refusals-boundary';
  return {
    body: Buffer.concat([
      Buffer.from(`--${b}\r\nContent-Type: application/dicom\r\n\r\n`),
      readFileSync(join(SAMPLE, 'explicit_little.dcm')),
      Buffer.from(`\r\n--${b}--\r\n`),
    ]),
    type: `multipart/related; type="application/dicom"; boundary=${b}`,
  };
}

async function instances(): Promise<number> {
  const d = await gqlAs<{ cohort: { counts: { instances: number } } }>(
    server.url,
    admin,
    '{ cohort { counts { instances } } }',
  );
  return d.cohort.counts.instances;
}

describe('DICOMweb content negotiation (RFC 9110 12.5.1, PS3.18 8.7)', () => {
  // The DICOM JSON answers: what each Accept must get. dicom+xml is a
  // media type lpacs does not write; q=0 refuses the type it names even
  // where */* would take it (the more specific range wins).
  const cases: Array<[string | undefined, number, string?]> = [
    [undefined, 200, 'application/dicom+json'],
    ['*/*', 200, 'application/dicom+json'],
    ['application/dicom+json', 200, 'application/dicom+json'],
    ['application/json', 200, 'application/json'],
    ['application/*;q=0.5', 200, 'application/dicom+json'],
    ['application/dicom+json;q=0, */*', 200, 'application/json'],
    ['application/dicom+json;q=0, application/json;q=0, */*', 406],
    ['multipart/related; type="application/dicom+xml"', 406],
    ['application/dicom+xml', 406],
    ['text/html', 406],
  ];

  it('answers QIDO-RS and WADO-RS metadata by the Accept header, 406 when it takes no JSON', async () => {
    for (const url of [
      `${dicomweb}/studies?limit=1`,
      `${dicomweb}/studies/${study}/series`,
      `${dicomweb}/studies/${study}/metadata`,
    ]) {
      for (const [accept, status, type] of cases) {
        const res = await get(url, accept);
        const text = await res.text();
        assert.equal(res.status, status, `${url} Accept ${accept}: ${text}`);
        if (type) {
          assert.equal(res.headers.get('content-type'), type);
          assert.ok(Array.isArray(JSON.parse(text)));
        } else {
          assert.equal(
            res.headers.get('content-type'),
            'text/plain; charset=utf-8',
          );
          assert.match(text, /application\/dicom\+json or application\/json/);
        }
      }
    }
  });

  it('refuses a STOW-RS it could not answer before storing anything', async () => {
    const before = await instances();
    for (const accept of ['application/dicom+xml', 'text/html']) {
      const { body, type } = stowBody();
      const res = await fetch(`${dicomweb}/studies`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${admin}`,
          'content-type': type,
          accept,
        },
        body,
      });
      assert.equal(res.status, 406, accept);
      assert.equal(
        res.headers.get('content-type'),
        'text/plain; charset=utf-8',
      );
      assert.match(await res.text(), /application\/dicom\+json/);
    }
    assert.equal(await instances(), before);
    const { body, type } = stowBody();
    const stored = await fetch(`${dicomweb}/studies`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${admin}`,
        'content-type': type,
        accept: 'application/json',
      },
      body,
    });
    assert.equal(stored.status, 200);
    assert.equal(stored.headers.get('content-type'), 'application/json');
    assert.ok((await stored.json()) as object);
    assert.equal(await instances(), before + 1);
  });
});

describe('DICOMweb errors', () => {
  it('are one line of plain text, labelled so, from QIDO, WADO and STOW alike', async () => {
    const answers: Array<[string, Response, number, RegExp]> = [
      [
        'QIDO bad key',
        await get(`${dicomweb}/studies?NoSuchKey=1`),
        400,
        /"NoSuchKey"/,
      ],
      [
        'WADO unknown study',
        await get(`${dicomweb}/studies/1.2.3.4/metadata`),
        404,
        /1\.2\.3\.4/,
      ],
    ];
    const post = (type: string) =>
      fetch(`${dicomweb}/studies`, {
        method: 'POST',
        headers: { authorization: `Bearer ${admin}`, 'content-type': type },
        body: 'not multipart',
      });
    answers.push(
      [
        'STOW application/dicom',
        await post('application/dicom'),
        415,
        /Content-Type must be multipart\/related/,
      ],
      [
        'STOW no boundary',
        await post('multipart/related; type="application/dicom"'),
        400,
        /no boundary parameter/,
      ],
      [
        'STOW wrong boundary',
        await post('multipart/related; type="application/dicom"; boundary=x'),
        400,
        /no part starts with the boundary/,
      ],
    );
    for (const [what, res, status, message] of answers) {
      assert.equal(res.status, status, what);
      assert.equal(
        res.headers.get('content-type'),
        'text/plain; charset=utf-8',
        what,
      );
      const text = await res.text();
      assert.match(text, message, what);
      assert.throws(() => JSON.parse(text), what);
    }
  });
});

describe('QIDO-RS includefield and limit', () => {
  it('refuses an includefield that is no DICOM attribute, naming the parameter', async () => {
    const res = await get(`${dicomweb}/studies?includefield=NotAKeyword`);
    assert.equal(res.status, 400);
    assert.match(await res.text(), /"includefield".*NotAKeyword/);
  });

  it('answers a real attribute it does not hold, with a Warning (PS3.18 8.3.4.3)', async () => {
    // AccessionNumber (0008,0050), PS3.6: an attribute, not in the catalog.
    for (const include of ['AccessionNumber', '00080050']) {
      const res = await get(`${dicomweb}/studies?includefield=${include}`);
      assert.equal(res.status, 200, include);
      assert.match(
        res.headers.get('warning') ?? '',
        /^299 lpacs ".*not available"/,
      );
      const [item] = (await res.json()) as Array<Record<string, unknown>>;
      assert.equal(item!['00080050'], undefined);
    }
  });

  it('cuts a limit over the maximum to 1000 and says so (PS3.18 8.3.4.4.1)', async () => {
    const res = await get(`${dicomweb}/studies?limit=100000`);
    assert.equal(res.status, 200);
    assert.match(
      res.headers.get('warning') ?? '',
      /^299 lpacs "limit 100000 is over this server's maximum: at most 1000 results per response"$/,
    );
    const within = await get(`${dicomweb}/studies?limit=1000`);
    assert.equal(within.headers.get('warning'), null);
  });
});

describe('token scopes the role can never use', () => {
  it('are refused by createToken, naming the scope and the role', async () => {
    const tokens = new AccessStore(lake).tokens().length;
    const refused = await gqlResult(
      server.url,
      rita,
      'mutation { createToken(scopes: ["share.decide"]) { token } }',
    );
    assert.equal(refused.errors?.[0]?.extensions?.code, 'BAD_USER_INPUT');
    assert.match(
      refused.errors![0]!.message,
      /scope "share\.decide" is not allowed for role researcher/,
    );
    assert.equal(new AccessStore(lake).tokens().length, tokens);
    // PERMISSIONS: cohort.query is a researcher's.
    await gqlAs(
      server.url,
      rita,
      'mutation { createToken(scopes: ["cohort.query"]) { token } }',
    );
  });

  it('are refused by lpacs tokens create with exit code 2, as an unknown scope is', async () => {
    const tokens = new AccessStore(lake).tokens().length;
    const run = await runCli([
      'tokens',
      'create',
      'cole',
      '--scope',
      'cohort.query',
      '--lake',
      lake,
    ]);
    assert.equal(run.code, 2, run.stderr);
    assert.match(
      run.stderr,
      /^lpacs tokens: scope "cohort\.query" is not allowed for role collaborator: a token of that role may have release\.list, release\.download, token\.own/,
    );
    const unknown = await runCli([
      'tokens',
      'create',
      'cole',
      '--scope',
      'no.such',
      '--lake',
      lake,
    ]);
    assert.equal(unknown.code, 2);
    assert.equal(new AccessStore(lake).tokens().length, tokens);
    const ok = await runCli([
      'tokens',
      'create',
      'cole',
      '--scope',
      'release.list',
      '--lake',
      lake,
    ]);
    assert.equal(ok.code, 0, ok.stderr);
  });

  it('are refused by the store itself', async () => {
    await assert.rejects(
      new AccessStore(lake).issueToken('cole', { scopes: ['ingest' as never] }),
      { code: 'BAD_USER_INPUT', message: /scope "ingest".*collaborator/ },
    );
  });
});

describe("another user's saved cohort", () => {
  it('is answered as a made-up id is: NOT_FOUND, the same message', async () => {
    const saved = await gqlAs<{ saveCohort: { id: string } }>(
      server.url,
      rita,
      'mutation { saveCohort(name: "ritas") { id } }',
    );
    const ask = (id: string) =>
      gqlResult(
        server.url,
        rob,
        'mutation ($c: String!) { requestShare(cohortId: $c, collaborator: "cole", purpose: "p", expiresAt: "2099-01-01") { id } }',
        { c: id },
      );
    const hers = await ask(saved.saveCohort.id);
    const none = await ask('co_0123456789abcdef');
    assert.equal(hers.errors?.[0]?.extensions?.code, 'NOT_FOUND');
    assert.equal(none.errors?.[0]?.extensions?.code, 'NOT_FOUND');
    assert.equal(
      hers.errors![0]!.message.replace(saved.saveCohort.id, 'ID'),
      none.errors![0]!.message.replace('co_0123456789abcdef', 'ID'),
    );
    // The audit log, which only admins read, tells the two apart.
    const entries = new AuditLog(lake)
      .query({ action: 'share.request', limit: 2 })
      .map((e) => ({ outcome: e.outcome, target: e.target, detail: e.detail }));
    assert.deepEqual(entries, [
      {
        outcome: 'failed',
        target: 'co_0123456789abcdef',
        detail: { why: 'no such cohort', error: 'NOT_FOUND' },
      },
      {
        outcome: 'failed',
        target: saved.saveCohort.id,
        detail: { why: 'not your cohort', error: 'NOT_FOUND' },
      },
    ]);
  });
});

describe('request-shape refusals', () => {
  it('answers a GraphQL body over 1 MB with 413 and a GraphQL error', async () => {
    const res = await fetch(server.url, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${admin}`,
        'content-type': 'application/json',
      },
      body: JSON.stringify({ query: `{ me { name } } #${'x'.repeat(2e6)}` }),
    });
    assert.equal(res.status, 413);
    assert.equal(res.headers.get('content-type'), 'application/json');
    const body = (await res.json()) as {
      errors: Array<{ message: string; extensions: { code: string } }>;
    };
    assert.equal(body.errors[0]!.extensions.code, 'PAYLOAD_TOO_LARGE');
    assert.match(body.errors[0]!.message, /too large/);
  });

  it('answers a sign-in without name or password 400, naming what is missing', async () => {
    for (const [body, missing] of [
      [{}, 'name and password'],
      [{ name: 'rita' }, 'password'],
      [{ password: 'x' }, 'name'],
    ] as const) {
      const res = await fetch(`${base}/auth/sign-in`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      assert.equal(res.status, 400, JSON.stringify(body));
      const { error } = (await res.json()) as { error: string };
      assert.ok(error.startsWith(`${missing} missing`), error);
    }
    // Both sent, if blank, is a sign-in that fails as any other.
    const blank = await fetch(`${base}/auth/sign-in`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: '', password: '' }),
    });
    assert.equal(blank.status, 401);
  });
});
