import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { request } from 'node:https';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { AccessStore, Role } from '@lpacs/access';
import { startServer } from '@lpacs/api';
import type { RunningServer } from '@lpacs/api';
import { SAMPLE, runCli, selfSignedCert, tempDir, tokenFor } from './helpers';

const work = tempDir('https');
const lake = join(work.path, 'lake');
let server: RunningServer;
let ca: Buffer;
let token = '';
const PORTAL = 'https://portal.example.test';

/** An HTTPS request trusting only the test's own certificate. */
function call(
  path: string,
  options: {
    method?: string;
    headers?: Record<string, string>;
    body?: string;
  } = {},
): Promise<{
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}> {
  const url = new URL(path, server.url);
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      { method: options.method ?? 'GET', headers: options.headers, ca },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks).toString(),
          }),
        );
      },
    );
    req.once('error', reject);
    req.end(options.body);
  });
}

before(async () => {
  const run = await runCli(['ingest', SAMPLE, '--lake', lake, '--json']);
  assert.equal(run.code, 0, run.stderr);
  const { cert, key } = selfSignedCert(work.path);
  ca = readFileSync(cert);
  await new AccessStore(lake).addUser(
    'rita',
    Role.Researcher,
    'a long https passphrase',
  );
  token = await tokenFor(lake, Role.Researcher, 'rita');
  server = await startServer({
    lake,
    port: 0,
    tls: { cert: readFileSync(cert), key: readFileSync(key) },
    corsOrigins: [PORTAL],
  });
});
after(async () => {
  await server?.close();
  work.remove();
});

describe('HTTPS and CORS', () => {
  it('serves GraphQL over TLS with the configured certificate', async () => {
    assert.match(server.url, /^https:\/\/127\.0\.0\.1:\d+\/graphql$/);
    const r = await call('/graphql', {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        authorization: `Bearer ${token}`,
      },
      body: JSON.stringify({ query: '{ me { name } }' }),
    });
    assert.equal(r.status, 200);
    assert.deepEqual(JSON.parse(r.body), { data: { me: { name: 'rita' } } });
  });

  it('marks the session cookie Secure, HttpOnly and SameSite=Strict', async () => {
    const r = await call('/auth/sign-in', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        name: 'rita',
        password: 'a long https passphrase',
      }),
    });
    assert.equal(r.status, 200);
    const cookie = String(r.headers['set-cookie']);
    for (const attr of ['HttpOnly', 'SameSite=Strict', 'Secure'])
      assert.ok(cookie.includes(attr), `${attr} in ${cookie}`);
  });

  it('lets only the configured origin call from a browser', async () => {
    const pre = await call('/graphql', {
      method: 'OPTIONS',
      headers: { origin: PORTAL, 'access-control-request-method': 'POST' },
    });
    assert.equal(pre.status, 204);
    assert.equal(pre.headers['access-control-allow-origin'], PORTAL);
    const other = await call('/healthz', {
      headers: { origin: 'https://evil.example.test' },
    });
    assert.equal(other.status, 200);
    assert.equal(other.headers['access-control-allow-origin'], undefined);
  });
});
