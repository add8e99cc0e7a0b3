import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { S3Store, s3LocationFromUrl } from '../s3/S3Store';
import { startS3Peer } from '../s3/startS3Peer';
import type { S3Peer } from '../s3/startS3Peer';
import { EMPTY_SHA256, canonicalQuery, signV4, uriEncode } from '../s3/signV4';
import type { UnsignedRequest } from '../s3/signV4';

/**
 * botocore (Debian's python3-botocore, not lpacs code) signing the same
 * request at the same instant: the independent check of our SigV4.
 */
const BOTOCORE = `
import json, sys, datetime
from unittest import mock
from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
out = []
for req in json.load(sys.stdin):
    r = AWSRequest(method=req['method'], url=req['url'], headers=req['headers'], data=req['body'].encode())
    auth = S3SigV4Auth(Credentials(req['key'], req['secret'], req.get('token')), 's3', req['region'])
    fixed = datetime.datetime.strptime(req['amzDate'], '%Y%m%dT%H%M%SZ')
    with mock.patch('botocore.auth.datetime') as dt:
        dt.datetime.utcnow.return_value = fixed
        dt.datetime.now.return_value = fixed
        auth.add_auth(r)
    out.append(r.headers['Authorization'])
print(json.dumps(out))
`;

const creds = {
  accessKeyId: 'AKIDLPACSTEST',
  secretAccessKey: 'c3VwZXIgc2VjcmV0/+=',
};

describe('SigV4', () => {
  it('signs the request of the AWS S3 documentation to its published signature', () => {
    // "GET Object" example of the S3 SigV4 header-auth documentation.
    const headers = signV4(
      {
        method: 'GET',
        host: 'examplebucket.s3.amazonaws.com',
        path: '/test.txt',
        headers: { range: 'bytes=0-9' },
        payloadHash: EMPTY_SHA256,
      },
      {
        accessKeyId: 'AKIAIOSFODNN7EXAMPLE',
        secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
      },
      'us-east-1',
      new Date('2013-05-24T00:00:00Z'),
    );
    assert.match(
      headers.authorization!,
      /Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41$/,
    );
  });

  it('agrees with botocore on odd keys, queries, tokens and regions', () => {
    const at = new Date('2026-12-04T12:34:56Z');
    const cases: Array<{
      req: UnsignedRequest;
      region: string;
      token?: string;
      body?: string;
    }> = [
      {
        req: {
          method: 'PUT',
          host: '127.0.0.1:9000',
          path: "/lake/site a/objects/ab/x+y(1)!*'é=.dcm",
          headers: { 'content-length': '5' },
          payloadHash: createHash('sha256').update('hello').digest('hex'),
        },
        region: 'eu-central-1',
        body: 'hello',
      },
      {
        req: {
          method: 'GET',
          host: 'store.example.org',
          path: '/lake',
          query: {
            'list-type': '2',
            prefix: 'site a/snapshots/',
            'continuation-token': 'a/b+c=d',
            'max-keys': '2',
          },
          payloadHash: EMPTY_SHA256,
        },
        region: 'us-east-1',
        token: 'FwoGZXIvYXdzEXAMPLE//token=',
      },
      {
        req: {
          method: 'HEAD',
          host: 'store.example.org:8443',
          path: '/lake/tables/instances/batch=20261204T120000Z-0a1b2c3d/part-0.parquet',
          payloadHash: EMPTY_SHA256,
        },
        region: 'garage',
      },
    ];
    const ours = cases.map(
      (c) =>
        signV4(c.req, { ...creds, sessionToken: c.token }, c.region, at)
          .authorization,
    );
    const input = cases.map((c) => {
      const qs = canonicalQuery(c.req.query);
      return {
        method: c.req.method,
        url: `http://${c.req.host}${uriEncode(c.req.path, true)}${qs ? `?${qs}` : ''}`,
        headers: {
          ...c.req.headers,
          'X-Amz-Content-SHA256': c.req.payloadHash,
        },
        key: creds.accessKeyId,
        secret: creds.secretAccessKey,
        token: c.token,
        region: c.region,
        amzDate: '20261204T123456Z',
        // botocore hashes the body itself.
        body: c.body ?? '',
      };
    });
    const theirs = JSON.parse(
      execFileSync('/usr/bin/python3', ['-c', BOTOCORE], {
        input: JSON.stringify(input),
        encoding: 'utf8',
      }),
    ) as string[];
    assert.deepEqual(ours, theirs);
  });

  it('encodes every byte outside A-Z a-z 0-9 - . _ ~ (RFC 3986), keeping / in paths', () => {
    assert.equal(
      uriEncode("a b+c!*'()é/x", true),
      'a%20b%2Bc%21%2A%27%28%29%C3%A9/x',
    );
    assert.equal(uriEncode('a/b'), 'a%2Fb');
  });
});

describe('S3Store against s3rver on 127.0.0.1', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lpacs-s3-'));
  let peer: S3Peer;
  let store: S3Store;
  let env: NodeJS.ProcessEnv;

  before(async () => {
    peer = await startS3Peer(join(dir, 'store'));
    env = peer.env;
    store = new S3Store(s3LocationFromUrl('s3://lpacs-test/site a/lake', env));
    await store.ensureBucket();
    await store.ensureBucket(); // a second time is a no-op
  });
  after(async () => {
    await peer.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('puts, sizes, gets and deletes files and bytes, returning the SHA-256 of what went and came', async () => {
    const file = join(dir, 'in.bin');
    const bytes = Buffer.alloc(300_001, 0);
    for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 7919) % 251;
    writeFileSync(file, bytes);
    const sha = createHash('sha256').update(bytes).digest('hex');
    assert.equal(
      await store.putFile('objects/ab/o (1).dcm', file, bytes.length),
      sha,
    );
    assert.equal(await store.size('objects/ab/o (1).dcm'), bytes.length);
    assert.equal(await store.size('objects/ab/missing.dcm'), undefined);
    const out = join(dir, 'out.bin');
    assert.equal(await store.getFile('objects/ab/o (1).dcm', out), sha);
    assert.ok(readFileSync(out).equals(bytes));
    await store.putBytes('snapshots/s.json', Buffer.from('{"a":1}'));
    assert.equal(
      (await store.getBytes('snapshots/s.json'))?.toString(),
      '{"a":1}',
    );
    assert.equal(await store.getBytes('snapshots/none.json'), undefined);
    await store.delete('snapshots/s.json');
    assert.equal(await store.size('snapshots/s.json'), undefined);
  });

  it('lists every key under a prefix across pages, relative to the store prefix', async () => {
    const keys = ['l/a', 'l/b c', 'l/d&e', 'l/f<g', 'l/h/i'];
    for (const k of keys) await store.putBytes(k, Buffer.from(k));
    const listed = await store.list('l/', 2);
    assert.deepEqual(listed.map((o) => o.key).sort(), [...keys].sort());
    assert.deepEqual(
      listed.map((o) => o.size).sort(),
      keys.map((k) => Buffer.byteLength(k)).sort(),
    );
  });

  it('names the store, the key and the S3 error code when a request fails', async () => {
    await assert.rejects(store.getFile('nowhere/x', join(dir, 'x')), {
      name: 'S3Error',
      status: 404,
      message:
        'S3 GET s3://lpacs-test/site a/lake/nowhere/x: NoSuchKey: The specified key does not exist. (HTTP 404)',
    });
    const other = new S3Store(s3LocationFromUrl('s3://no-such-bucket/x', env));
    await assert.rejects(other.putBytes('k', Buffer.from('v')), /NoSuchBucket/);
  });

  it('says what to check when the store refuses the credentials or cannot be reached (new-user cases)', async () => {
    const wrongKey = new S3Store(
      s3LocationFromUrl('s3://lpacs-test/x', {
        ...env,
        AWS_ACCESS_KEY_ID: 'WRONGKEY',
      }),
    );
    // A HEAD's refusal has no body; the message still says what to check.
    await assert.rejects(wrongKey.size('k'), {
      name: 'S3Error',
      status: 403,
      message:
        'S3 HEAD s3://lpacs-test/x/k: AccessDenied: Forbidden (HTTP 403): check AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, and that they may use this bucket',
    });
    const closed = new S3Store(
      s3LocationFromUrl('s3://lpacs-test/x', env, 'http://127.0.0.1:1'),
    );
    await assert.rejects(closed.size('k'), {
      name: 'S3Error',
      code: 'ECONNREFUSED',
      message:
        /^cannot reach the S3 endpoint http:\/\/127\.0\.0\.1:1 \(AWS_ENDPOINT_URL or --s3-endpoint\) for s3:\/\/lpacs-test\/x\/k: connect ECONNREFUSED/,
    });
  });

  it('refuses locations without a bucket, endpoint or credentials, and has no default endpoint', () => {
    assert.throws(
      () => s3LocationFromUrl('s3://A_B/x', env),
      /not an S3 location/,
    );
    assert.throws(
      () => s3LocationFromUrl('s3://Bucket/x', env),
      /not an S3 location/,
    );
    // An upper-case scheme is still S3 (it once made a local folder "S3:").
    assert.equal(s3LocationFromUrl('S3://bucket/x', env).bucket, 'bucket');
    for (const bad of ['s3://bucket/../escape', 's3://bucket/a/./b'])
      assert.throws(
        () => s3LocationFromUrl(bad, env),
        /may not hold \. or \.\. segments/,
      );
    assert.throws(
      () =>
        s3LocationFromUrl('s3://bucket/x', {
          ...env,
          AWS_ENDPOINT_URL: undefined,
        }),
      /no S3 endpoint: set AWS_ENDPOINT_URL/,
    );
    assert.throws(
      () =>
        s3LocationFromUrl('s3://bucket/x', {
          ...env,
          AWS_SECRET_ACCESS_KEY: '',
        }),
      /S3 credentials missing/,
    );
    assert.throws(
      () => s3LocationFromUrl('s3://bucket/x', env, 'http://h:1/path'),
      /must be http\(s\):\/\/host\[:port\] with no path/,
    );
    const loc = s3LocationFromUrl('s3://bucket/a/b/', {
      ...env,
      AWS_REGION: 'eu-west-3',
    });
    assert.deepEqual(
      { bucket: loc.bucket, prefix: loc.prefix, region: loc.region },
      { bucket: 'bucket', prefix: 'a/b', region: 'eu-west-3' },
    );
  });
});

describe('S3Store against a store that sheds load (a local HTTP server of this test)', () => {
  /** A server answering from `script` in turn, keeping what PUTs sent. */
  async function flaky(script: Array<'503' | 'reset' | 'ok'>) {
    const bodies: string[] = [];
    let hits = 0;
    const server = createServer((req, res) => {
      const step = script[Math.min(hits++, script.length - 1)];
      if (step === 'reset') {
        req.socket.destroy();
        return;
      }
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        if (step === '503') res.writeHead(503).end();
        else {
          bodies.push(Buffer.concat(chunks).toString());
          res.writeHead(200).end();
        }
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const { port } = server.address() as AddressInfo;
    const store = new S3Store(
      s3LocationFromUrl('s3://bucket/p', {
        AWS_ENDPOINT_URL: `http://127.0.0.1:${port}`,
        AWS_ACCESS_KEY_ID: 'k',
        AWS_SECRET_ACCESS_KEY: 's',
      }),
    );
    return { store, bodies, hits: () => hits, close: () => server.close() };
  }

  it('sends again after a 503 and a dropped connection, the whole body each time', async () => {
    const f = await flaky(['503', 'reset', 'ok']);
    try {
      const file = join(tmpdir(), `lpacs-s3-retry-${process.pid}`);
      writeFileSync(file, 'x'.repeat(100_000));
      await f.store.putFile('k', file, 100_000);
      rmSync(file);
      assert.equal(f.hits(), 3);
      assert.deepEqual(f.bodies, ['x'.repeat(100_000)]);
    } finally {
      f.close();
    }
  });

  it('gives up after four tries, saying what the store answered', async () => {
    const f = await flaky(['503']);
    try {
      await assert.rejects(f.store.putBytes('k', Buffer.from('v')), {
        name: 'S3Error',
        status: 503,
        message:
          /^S3 PUT s3:\/\/bucket\/p\/k: HTTP_503: Service Unavailable \(HTTP 503\)$/,
      });
      assert.equal(f.hits(), 4);
    } finally {
      f.close();
    }
  });
});
