import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import type { Server, Socket } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startServer } from '@lpacs/api';
import type { RunningServer } from '@lpacs/api';
import {
  CT,
  filesUnder,
  parquetRows,
  runCli,
  selfSignedCert,
  syncArgs,
  syncSetup,
  tempDir,
} from './helpers';

// lpacs sync between two lakes on 127.0.0.1 over HTTPS: B serves TLS with
// a certificate openssl made for 127.0.0.1, A's CLI trusts it through
// NODE_EXTRA_CA_CERTS (as docs/ops.md tells a site with a private CA),
// and a TCP relay in front of B cuts the TLS connection mid-stream.

const work = tempDir('sync-https');
const lakeA = join(work.path, 'a');
const lakeB = join(work.path, 'b');
let cert = '';
let key = '';
let serverB: RunningServer;
let baseB = '';
let token = '';
let cohort = '';
let total = 0;

interface Report {
  total: number;
  sent: number;
  alreadyPresent: number;
  remaining: number;
  failed: unknown[];
  stopped?: string;
}

async function sync(to: string): Promise<Report & { code: number | null }> {
  const r = await runCli(
    [
      ...syncArgs({ cohort, to, lake: lakeA, token }),
      '--batch-size',
      '4',
      '--json',
    ],
    { NODE_EXTRA_CA_CERTS: cert },
  );
  assert.ok(r.stdout.trim().startsWith('{'), `${r.stdout}\n${r.stderr}`);
  return { ...(JSON.parse(r.stdout) as Report), code: r.code };
}

/** SHA-256 of every object file of a lake, hashed here from its bytes. */
function objectHashes(root: string): string[] {
  return filesUnder(join(root, 'objects'))
    .map((f) => createHash('sha256').update(readFileSync(f)).digest('hex'))
    .sort();
}

async function rowsOf(root: string): Promise<number> {
  const [r] = await parquetRows(
    `SELECT count(*) AS n FROM read_parquet('${root}/tables/instances/*/*.parquet')`,
  ).catch(() => [{ n: 0 }]);
  return Number(r?.n ?? 0);
}

/**
 * A TCP relay to B's TLS port that passes bytes through untouched until
 * the client has sent `limit` bytes, then cuts every connection and stops
 * listening: the TLS session dies in the middle of a request body.
 */
function cuttingRelay(
  port: number,
  limit: number,
): Promise<{ server: Server; url: string }> {
  const sockets = new Set<Socket>();
  let sent = 0;
  const server = createServer((client) => {
    const upstream = createConnection({ host: '127.0.0.1', port });
    sockets.add(client).add(upstream);
    client.on('data', (chunk: Buffer) => {
      sent += chunk.length;
      if (sent > limit) {
        server.close();
        for (const s of sockets) s.destroy();
        return;
      }
      upstream.write(chunk);
    });
    upstream.on('data', (chunk: Buffer) => client.write(chunk));
    for (const [a, b] of [
      [client, upstream],
      [upstream, client],
    ] as const) {
      a.on('error', () => b.destroy());
      a.on('close', () => b.destroy());
    }
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => {
      const a = server.address() as { port: number };
      resolve({ server, url: `https://127.0.0.1:${a.port}` });
    }),
  );
}

before(async () => {
  const run = await runCli(['ingest', CT, '--lake', lakeA, '--json']);
  assert.equal(run.code, 0, run.stderr);
  assert.equal((await runCli(['init', '--lake', lakeB])).code, 0);
  ({ cert, key } = selfSignedCert(work.path));
  ({ cohort, total, token } = await syncSetup(lakeA, lakeB));
  serverB = await startServer({
    lake: lakeB,
    port: 0,
    tls: { cert: readFileSync(cert), key: readFileSync(key) },
  });
  baseB = serverB.url.replace(/\/graphql$/, '');
  assert.match(baseB, /^https:\/\/127\.0\.0\.1:\d+$/);
});
after(async () => {
  await serverB?.close();
  work.remove();
});

describe('lpacs sync over HTTPS', () => {
  it('refuses a peer whose certificate it does not trust, sending nothing', async () => {
    const r = await runCli([
      ...syncArgs({ cohort, to: baseB, lake: lakeA, token }),
      '--json',
    ]);
    assert.equal(r.code, 1);
    const report = JSON.parse(r.stdout) as Report;
    assert.equal(report.sent, 0);
    // Node names the TLS failure by its code.
    assert.match(report.stopped ?? '', /DEPTH_ZERO_SELF_SIGNED_CERT/);
    assert.equal(await rowsOf(lakeB), 0);
    // Without --json the operator is told how to trust the peer.
    const text = await runCli([
      ...syncArgs({ cohort, to: baseB, lake: lakeA, token }),
    ]);
    assert.equal(text.code, 1);
    assert.match(text.stdout, /DEPTH_ZERO_SELF_SIGNED_CERT/);
    assert.match(text.stdout, /NODE_EXTRA_CA_CERTS=/);
    assert.equal(await rowsOf(lakeB), 0);
  });

  it('names the host a certificate is for when it is trusted but for another name', async () => {
    // A lake serving a certificate for peer.example, trusted through
    // NODE_EXTRA_CA_CERTS but reached as 127.0.0.1: trusting its CA
    // cannot help, so the advice is about the name, not the CA.
    const other = selfSignedCert(work.path, 'DNS:peer.example');
    const lakeC = join(work.path, 'c');
    assert.equal((await runCli(['init', '--lake', lakeC])).code, 0);
    const serverC = await startServer({
      lake: lakeC,
      port: 0,
      tls: { cert: readFileSync(other.cert), key: readFileSync(other.key) },
    });
    try {
      const to = serverC.url.replace(/\/graphql$/, '');
      const r = await runCli(
        [...syncArgs({ cohort, to, lake: lakeA, token })],
        { NODE_EXTRA_CA_CERTS: other.cert },
      );
      assert.equal(r.code, 1);
      const lines = r.stdout.trim().split('\n');
      assert.equal(
        lines.at(-2),
        `not sent        ${total}: cannot reach ${to}: ERR_TLS_CERT_ALTNAME_INVALID (the certificate is for DNS:peer.example)`,
      );
      assert.equal(
        lines.at(-1),
        'the certificate is not for the host in --to: use the name it was issued for, or ask for one that names this host',
      );
      assert.equal(await rowsOf(lakeC), 0);
    } finally {
      await serverC.close();
    }
  });

  it('stops when the TLS connection is cut, and a rerun sends only what B lacks', async () => {
    const bytes = filesUnder(join(lakeA, 'objects')).reduce(
      (n, f) => n + readFileSync(f).length,
      0,
    );
    // Cut once about 40% of the objects' bytes went through.
    const relay = await cuttingRelay(
      Number(new URL(baseB).port),
      Math.floor(bytes * 0.4),
    );
    const cut = await sync(relay.url);
    relay.server.close();
    assert.equal(cut.code, 1);
    assert.ok(cut.stopped, 'the run says why it stopped');
    assert.ok(cut.sent > 0 && cut.remaining > 0, JSON.stringify(cut));
    assert.equal(cut.sent + cut.remaining + cut.alreadyPresent, total);
    // What B holds, counted in its Parquet files: at least what A was
    // told was stored (a batch committed whose answer was lost is more).
    const held = await rowsOf(lakeB);
    assert.ok(held >= cut.sent && held < total, `${held} of ${total}`);

    const rerun = await sync(baseB);
    assert.equal(rerun.code, 0, JSON.stringify(rerun));
    assert.deepEqual(
      [rerun.sent, rerun.alreadyPresent, rerun.remaining, rerun.failed.length],
      [total - held, held, 0, 0],
    );
    assert.equal(await rowsOf(lakeB), total);
    // B holds exactly A's objects, byte for byte.
    assert.deepEqual(objectHashes(lakeB), objectHashes(lakeA));

    const again = await sync(baseB);
    assert.deepEqual(
      [again.code, again.sent, again.alreadyPresent],
      [0, 0, total],
    );
  });
});
