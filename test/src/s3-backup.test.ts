import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startS3Peer } from '@lpacs/lake';
import type { S3Peer } from '@lpacs/lake';
import { CT, filesUnder, parquetRows, runCli, tempDir } from './helpers';
import { lakeDifferences } from './lakeDiff';

const work = tempDir('s3-backup');
const lake = join(work.path, 'lake');
const DEST = 's3://lpacs-backups/site-a/nightly';
let peer: S3Peer;

/**
 * botocore (Debian's python3-botocore), an S3 client that is not lpacs:
 * what it lists and downloads is what a site's other tools would see.
 */
const BOTO = `
import hashlib, json, os, sys
import botocore.session
cmd = json.loads(sys.argv[1])
s3 = botocore.session.get_session().create_client(
    's3', endpoint_url=os.environ['AWS_ENDPOINT_URL'], region_name='us-east-1',
    aws_access_key_id=os.environ['AWS_ACCESS_KEY_ID'],
    aws_secret_access_key=os.environ['AWS_SECRET_ACCESS_KEY'])
if cmd['op'] == 'list':
    out, token = {}, None
    while True:
        kw = {'Bucket': cmd['bucket'], 'Prefix': cmd['prefix']}
        if token: kw['ContinuationToken'] = token
        page = s3.list_objects_v2(**kw)
        for o in page.get('Contents', []):
            out[o['Key']] = {'size': o['Size'], 'etag': o['ETag'].strip('"')}
        if not page.get('IsTruncated'): break
        token = page['NextContinuationToken']
    print(json.dumps(out))
elif cmd['op'] == 'get':
    for key, path in cmd['files'].items():
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, 'wb') as f:
            f.write(s3.get_object(Bucket=cmd['bucket'], Key=key)['Body'].read())
    print('{}')
elif cmd['op'] == 'put':
    s3.put_object(Bucket=cmd['bucket'], Key=cmd['key'], Body=cmd['body'].encode())
    print('{}')
`;

function boto(cmd: Record<string, unknown>): unknown {
  return JSON.parse(
    execFileSync('/usr/bin/python3', ['-c', BOTO, JSON.stringify(cmd)], {
      env: { ...process.env, ...peer.env },
      encoding: 'utf8',
    }),
  );
}

const listBucket = () =>
  boto({
    op: 'list',
    bucket: 'lpacs-backups',
    prefix: 'site-a/nightly/',
  }) as Record<string, { size: number; etag: string }>;

interface SnapshotEntry {
  path: string;
  sha256: string;
  blob?: boolean;
}

/** The files a snapshot lists, read from the bucket by botocore. */
function snapshotFiles(id: string): SnapshotEntry[] {
  const path = join(work.path, 'manifests', `${id}.json`);
  boto({
    op: 'get',
    bucket: 'lpacs-backups',
    files: { [`site-a/nightly/snapshots/${id}.json`]: path },
  });
  return (JSON.parse(readFileSync(path, 'utf8')) as { files: SnapshotEntry[] })
    .files;
}

async function cli(args: string[]) {
  const r = await runCli([...args, '--json'], peer.env);
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout) as {
    snapshot: string;
    files: number;
    copied: number;
  };
}

before(async () => {
  peer = await startS3Peer(join(work.path, 's3'));
  const r = await runCli(['ingest', CT, '--lake', lake, '--json']);
  assert.equal(r.code, 0, r.stderr);
});
after(async () => {
  await peer.stop();
  work.remove();
});

describe('backup to and restore from S3-compatible storage', () => {
  let first: Awaited<ReturnType<typeof cli>>;

  it('puts every file of the lake in the bucket under the lake layout, each equal to the lake file (MD5 ETag read by botocore)', async () => {
    first = await cli(['backup', DEST, '--lake', lake]);
    assert.equal(first.copied, first.files);
    const listed = listBucket();
    const local = filesUnder(join(lake, 'objects'));
    assert.ok(local.length > 0);
    for (const file of local) {
      const key = `site-a/nightly/${file.slice(lake.length + 1)}`;
      const md5 = createHash('md5').update(readFileSync(file)).digest('hex');
      assert.equal(listed[key]?.etag, md5, key);
    }
    const expected = [
      ...snapshotFiles(first.snapshot).map((f) =>
        f.blob ? `blobs/${f.sha256}` : f.path,
      ),
      `snapshots/${first.snapshot}.json`,
      `snapshots/${first.snapshot}.duckdb.sql`,
    ].map((p) => `site-a/nightly/${p}`);
    assert.deepEqual(Object.keys(listed).sort(), [...new Set(expected)].sort());
  });

  it('copies nothing already in the bucket on the next backup but what changed (new-user case: every state file was sent again)', async () => {
    const second = await cli(['backup', DEST, '--lake', lake]);
    const [a, b] = [first, second].map((r) => snapshotFiles(r.snapshot));
    const data = (files: SnapshotEntry[]) =>
      files
        .filter((f) => /^(tables|objects)\//.test(f.path))
        .map((f) => f.path)
        .sort();
    assert.deepEqual(data(b!), data(a!));
    assert.ok(data(b!).length > 0);
    // The rest is kept by content: only contents the bucket lacks are
    // sent. Since the first backup the lake gained state/last-backup.json,
    // its list of the snapshots in this bucket (state/backups/, named by
    // the first 16 hex digits of the SHA-256 of the bucket URL) and an
    // audit entry for that backup, with the chain head it moved
    // (state/audit-head.json); nothing else changed.
    const had = new Set(a!.filter((f) => f.blob).map((f) => f.sha256));
    const fresh = b!.filter((f) => f.blob && !had.has(f.sha256));
    const ledger = createHash('sha256').update(DEST).digest('hex').slice(0, 16);
    assert.deepEqual(fresh.map((f) => f.path).sort(), [
      'audit/audit.ndjson',
      'state/audit-head.json',
      `state/backups/${ledger}.json`,
      'state/last-backup.json',
    ]);
    assert.equal(second.copied, fresh.length);
  });

  it('restores from the bucket a lake equal in every table and object', async () => {
    const restored = join(work.path, 'restored');
    await cli(['restore', DEST, '--lake', restored]);
    // Rows of every table, objects checked against their names, and
    // quarantine records, as in the lake.
    assert.deepEqual(await lakeDifferences(restored, lake), []);
  });

  it("writes DuckDB views that name exactly the snapshot's Parquet files in the bucket", async () => {
    const sqlKey = `site-a/nightly/snapshots/${first.snapshot}.duckdb.sql`;
    const copy = join(work.path, 'reader');
    boto({
      op: 'get',
      bucket: 'lpacs-backups',
      files: { [sqlKey]: join(copy, 'views.sql') },
    });
    const sql = readFileSync(join(copy, 'views.sql'), 'utf8');
    const urls = [...sql.matchAll(/'(s3:\/\/[^']+)'/g)].map((m) => m[1]!);
    assert.ok(urls.some((u) => u.includes('/tables/instances/')));
    // Fetch what the views name with botocore, point the views at the
    // copies (httpfs cannot be installed here), and query them.
    boto({
      op: 'get',
      bucket: 'lpacs-backups',
      files: Object.fromEntries(
        urls.map((u) => [
          u.slice('s3://lpacs-backups/'.length),
          join(copy, u.slice(DEST.length + 1)),
        ]),
      ),
    });
    const local = sql.split(`${DEST}/`).join(`${copy}/`);
    const statements = local
      .split('\n')
      .filter((l) => l.startsWith('CREATE'))
      .join('\n');
    const viewed = await parquetRows(
      `${statements}\nSELECT * FROM instances ORDER BY "SOPInstanceUID"`,
    );
    const direct = await parquetRows(
      `SELECT * FROM read_parquet('${lake}/tables/instances/*/*.parquet') ORDER BY "SOPInstanceUID"`,
    );
    assert.equal(viewed.length, direct.length);
    assert.deepEqual(viewed, direct);
  });

  it('refuses an object changed in the bucket, naming it, and leaves no lake behind', async () => {
    const listed = listBucket();
    const key = Object.keys(listed).find((k) => k.includes('/objects/'))!;
    boto({ op: 'put', bucket: 'lpacs-backups', key, body: 'tampered' });
    const target = join(work.path, 'tampered');
    const r = await runCli(['restore', DEST, '--lake', target], peer.env);
    assert.notEqual(r.code, 0);
    assert.match(
      r.stderr,
      new RegExp(
        `${key.slice('site-a/nightly/'.length)} does not match its checksum`,
      ),
    );
    assert.equal(existsSync(target), false);
  });

  it('warns that an unencrypted lake goes to the bucket in the clear', async () => {
    const r = await runCli(['backup', DEST, '--lake', lake], peer.env);
    assert.equal(r.code, 0, r.stderr);
    assert.match(
      r.stderr,
      /is not encrypted, so its site secret, linkage and objects go to s3:\/\/lpacs-backups\/site-a\/nightly in the clear/,
    );
  });

  it('sends an encrypted lake as ciphertext, and restores it only with its KEK', async () => {
    const sealed = join(work.path, 'sealed');
    const kekFile = join(work.path, 'kek');
    writeFileSync(kekFile, randomBytes(32).toString('hex'));
    const withKek = { ...peer.env, LPACS_KEK_FILE: kekFile, LPACS_KEK: '' };
    const noKek = { ...peer.env, LPACS_KEK_FILE: '', LPACS_KEK: '' };
    const init = ['init', '--lake', sealed, '--encrypt', '--kek-file', kekFile];
    assert.equal((await runCli(init)).code, 0);
    const ingest = await runCli(['ingest', CT, '--lake', sealed], withKek);
    assert.equal(ingest.code, 0, ingest.stderr);
    const dest = 's3://lpacs-backups/site-a/sealed';
    const b = await runCli(['backup', dest, '--lake', sealed], withKek);
    assert.equal(b.code, 0, b.stderr);
    assert.doesNotMatch(b.stderr, /in the clear/);
    // Its snapshot's reader script says the tables need the lake's keys,
    // rather than naming files no outside reader can open.
    const id = /^snapshot (\S+) in /.exec(b.stdout)![1]!;
    const views = join(work.path, 'sealed-views.sql');
    boto({
      op: 'get',
      bucket: 'lpacs-backups',
      files: { [`site-a/sealed/snapshots/${id}.duckdb.sql`]: views },
    });
    const sql = readFileSync(views, 'utf8');
    assert.match(sql, /this lake's tables are encrypted/);
    assert.doesNotMatch(sql, /read_parquet/);
    const listed = boto({
      op: 'list',
      bucket: 'lpacs-backups',
      prefix: 'site-a/sealed/objects/',
    }) as Record<string, unknown>;
    const keys = Object.keys(listed);
    assert.equal(keys.length, filesUnder(join(sealed, 'objects')).length);
    const fetched = join(work.path, 'sealed-objects');
    boto({
      op: 'get',
      bucket: 'lpacs-backups',
      files: Object.fromEntries(keys.map((k, i) => [k, join(fetched, `${i}`)])),
    });
    for (const f of filesUnder(fetched)) {
      const bytes = readFileSync(f);
      assert.equal(bytes.subarray(0, 4).toString('latin1'), 'LPE1', f);
      assert.equal(bytes.includes(Buffer.from('DICM')), false, f);
    }
    const target = join(work.path, 'sealed-restored');
    const refused = await runCli(['restore', dest, '--lake', target], noKek);
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, /KEK_REQUIRED/);
    assert.equal(existsSync(target), false);
    const restored = await runCli(['restore', dest, '--lake', target], withKek);
    assert.equal(restored.code, 0, restored.stderr);
    const status = await runCli(
      ['status', '--lake', target, '--json'],
      withKek,
    );
    assert.equal(
      (JSON.parse(status.stdout) as { instances: number }).instances,
      filesUnder(join(sealed, 'objects')).length,
    );
  });

  it('says what is missing when no endpoint is configured', async () => {
    const r = await runCli(['backup', DEST, '--lake', lake], {
      AWS_ENDPOINT_URL: '',
      AWS_ENDPOINT_URL_S3: '',
    });
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /no S3 endpoint: set AWS_ENDPOINT_URL/);
  });
});
