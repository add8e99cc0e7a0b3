import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import {
  copyFileSync,
  readFileSync,
  readdirSync,
  writeFileSync,
} from 'node:fs';
import { createConnection, createServer } from 'node:net';
import type { Server, Socket } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { AccessStore, Action, AuditLog, Role } from '@lpacs/access';
import { startServer } from '@lpacs/api';
import {
  IMPLEMENTATION_CLASS_UID,
  IMPLEMENTATION_VERSION_NAME,
} from '@lpacs/deid';
import { Tag, encodeFileMeta, parseDicom, topString } from '@lpacs/dicom';
import type { RunningServer } from '@lpacs/api';
import {
  CT,
  bearer,
  dcmdump,
  filesUnder,
  gqlAs,
  parquetRows,
  runCli,
  tempDir,
  tokenFor,
} from './helpers';

const work = tempDir('sync');
const lakeA = join(work.path, 'a');
const lakeB = join(work.path, 'b');
let serverA: RunningServer;
let serverB: RunningServer;
let baseB = '';
let syncToken = '';
const token: Record<string, string> = {};
const ctFiles = filesUnder(CT).filter((f) => f.endsWith('.dcm'));
const chest = ctFiles.filter(
  (f) => dcmdump(f, ['0018,0015'])?.['0018,0015'] === 'CHEST',
);
let cohortId = '';

interface Report {
  total: number;
  sent: number;
  alreadyPresent: number;
  conflicts: string[];
  bytesSent: number;
  failed: Array<{ sha256: string; code: string }>;
  remaining: number;
  stopped?: string;
}

async function sync(
  args: string[],
  tokenOfPeer = syncToken,
): Promise<Report & { code: number | null }> {
  const r = await runCli([
    'sync',
    ...args,
    '--lake',
    lakeA,
    '--token',
    tokenOfPeer,
    '--json',
  ]);
  assert.ok(r.stdout.trim().startsWith('{'), `${r.stdout}\n${r.stderr}`);
  return { ...(JSON.parse(r.stdout) as Report), code: r.code };
}

function gql<T>(who: string, query: string, variables = {}): Promise<T> {
  return gqlAs<T>(serverA.url, token[who]!, query, variables);
}

/** SHA-256 of every object file of a lake, hashed here from its bytes. */
function objectHashes(root: string): Set<string> {
  return new Set(
    filesUnder(join(root, 'objects')).map((f) =>
      createHash('sha256').update(readFileSync(f)).digest('hex'),
    ),
  );
}

async function instanceRows(root: string) {
  return parquetRows(
    `SELECT "SOPInstanceUID", "StudyInstanceUID", "SeriesInstanceUID",
            "PatientID", "StudyDate", age_years, sha256, size_bytes
       FROM read_parquet('${root}/tables/instances/*/*.parquet')
      ORDER BY "SOPInstanceUID"`,
  );
}

/**
 * A TCP relay to B that cuts every connection, and stops listening, once
 * the third `POST /sync/objects` request has started to flow: the
 * connection drops in the middle of a request body.
 */
function droppingRelay(port: number): Promise<{ server: Server; url: string }> {
  const sockets = new Set<Socket>();
  let requests = 0;
  let tail = '';
  const server = createServer((client) => {
    const upstream = createConnection({ host: '127.0.0.1', port });
    sockets.add(client).add(upstream);
    const cut = () => {
      server.close();
      for (const s of sockets) s.destroy();
    };
    client.on('data', (chunk: Buffer) => {
      const text = tail + chunk.toString('latin1');
      const seen = text.split('POST /sync/objects').length - 1;
      tail = text.slice(-32);
      if (requests + seen >= 3) {
        upstream.write(chunk.subarray(0, Math.min(chunk.length, 2000)), cut);
        return;
      }
      requests += seen;
      upstream.write(chunk);
    });
    upstream.on('data', (chunk: Buffer) => client.write(chunk));
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => {
      const a = server.address() as { port: number };
      resolve({ server, url: `http://127.0.0.1:${a.port}` });
    }),
  );
}

before(async () => {
  const run = await runCli(['ingest', CT, '--lake', lakeA, '--json']);
  assert.equal(run.code, 0, run.stderr);
  // B exists with its own secret before anything arrives.
  assert.equal((await runCli(['init', '--lake', lakeB])).code, 0);
  token.rita = await tokenFor(lakeA, Role.Researcher, 'rita');
  token.sam = await tokenFor(lakeA, Role.Steward, 'sam');
  await tokenFor(lakeA, Role.Collaborator, 'cole');
  const store = new AccessStore(lakeB);
  await store.addUser('peer-a', Role.Admin);
  syncToken = (
    await store.issueToken('peer-a', {
      label: 'sync from A',
      scopes: [Action.SyncReceive],
    })
  ).token;
  token.bResearcher = await tokenFor(lakeB, Role.Researcher, 'rob');
  serverA = await startServer({ lake: lakeA, port: 0 });
  serverB = await startServer({ lake: lakeB, port: 0 });
  baseB = serverB.url.replace(/\/graphql$/, '');
});
after(async () => {
  await serverA?.close();
  await serverB?.close();
  await serverC?.close();
  work.remove();
});

/** A third lake, C, holding another encoding of one of A's objects. */
const lakeC = join(work.path, 'c');
let serverC: RunningServer | undefined;

const sha256Of = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** POSTs objects to a peer's /sync/objects as `lpacs sync` does. */
async function sendObjects(base: string, t: string, objects: Buffer[]) {
  const boundary = 'xyz';
  const res = await fetch(`${base}/sync/objects`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${t}`,
      'content-type': `multipart/related; type="application/dicom"; boundary=${boundary}`,
    },
    body: Buffer.concat([
      ...objects.flatMap((b) => [
        Buffer.from(
          `--${boundary}\r\ncontent-type: application/dicom\r\nx-lpacs-sha256: ${sha256Of(b)}\r\n\r\n`,
        ),
        b,
        Buffer.from('\r\n'),
      ]),
      Buffer.from(`--${boundary}--\r\n`),
    ]),
  });
  assert.equal(res.status, 200);
  return ((await res.json()) as { results: Array<Record<string, string>> })
    .results;
}

describe('lpacs sync between two lakes', () => {
  it('sends an approved release, all of it, to an empty peer', async () => {
    const { saveCohort } = await gql<{ saveCohort: { id: string } }>(
      'rita',
      'mutation ($f: CohortFilter) { saveCohort(name: "chest", filter: $f) { id } }',
      { f: { bodyPart: ['CHEST'] } },
    );
    const { requestShare } = await gql<{ requestShare: { id: string } }>(
      'rita',
      'mutation ($c: String!, $e: String!) { requestShare(cohortId: $c, collaborator: "cole", purpose: "p", expiresAt: $e) { id } }',
      {
        c: saveCohort.id,
        e: new Date(Date.now() + 7 * 864e5).toISOString().slice(0, 10),
      },
    );
    const { decideShare } = await gql<{ decideShare: { releaseId: string } }>(
      'sam',
      'mutation ($id: String!) { decideShare(id: $id, approve: true) { releaseId } }',
      { id: requestShare.id },
    );
    assert.ok(chest.length > 0 && chest.length < ctFiles.length);
    const r = await sync(['--release', decideShare.releaseId, '--to', baseB]);
    assert.equal(r.code, 0, JSON.stringify(r));
    assert.deepEqual(
      [r.total, r.sent, r.alreadyPresent, r.failed.length],
      [chest.length, chest.length, 0, 0],
    );
  });

  it('refuses a release that does not exist, naming it', async () => {
    const r = await runCli([
      'sync',
      '--release',
      'rl_nothing',
      '--to',
      baseB,
      '--token',
      syncToken,
      '--lake',
      lakeA,
    ]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /release "rl_nothing" is not an approved release/);
  });

  it('stops on a dropped connection with what B committed, and a rerun sends only the rest', async () => {
    const { saveCohort } = await gql<{ saveCohort: { id: string } }>(
      'rita',
      'mutation { saveCohort(name: "all CT") { id } }',
    );
    cohortId = saveCohort.id;
    const relay = await droppingRelay(Number(new URL(baseB).port));
    const cut = await sync([
      '--cohort',
      cohortId,
      '--to',
      relay.url,
      '--batch-size',
      '8',
    ]);
    relay.server.close();
    const todo = ctFiles.length - chest.length;
    // Two requests of 8 were answered; the third was cut mid-body.
    assert.equal(cut.code, 1);
    assert.match(cut.stopped ?? '', /cannot reach|dropped/);
    assert.deepEqual(
      [cut.sent, cut.alreadyPresent, cut.remaining, cut.failed.length],
      [16, chest.length, todo - 16, 0],
    );
    assert.equal((await instanceRows(lakeB)).length, chest.length + 16);

    const rerun = await sync(['--cohort', cohortId, '--to', baseB]);
    assert.equal(rerun.code, 0, JSON.stringify(rerun));
    assert.deepEqual(
      [rerun.sent, rerun.alreadyPresent, rerun.remaining, rerun.failed.length],
      [todo - 16, chest.length + 16, 0, 0],
    );
  });

  it('sends nothing the second time', async () => {
    const again = await sync(['--cohort', cohortId, '--to', baseB]);
    assert.equal(again.code, 0);
    assert.deepEqual([again.sent, again.alreadyPresent], [0, ctFiles.length]);
  });

  it('leaves B the same objects and rows as A: de-identified once, not twice', async () => {
    assert.deepEqual(objectHashes(lakeB), objectHashes(lakeA));
    const a = await instanceRows(lakeA);
    const b = await instanceRows(lakeB);
    assert.equal(b.length, ctFiles.length);
    assert.deepEqual(b, a);
    const one = filesUnder(join(lakeB, 'objects'))[0]!;
    assert.equal(dcmdump(one, ['0012,0062'])?.['0012,0062'], 'YES');
    // B's API answers for what arrived.
    const res = await fetch(serverB.url, {
      method: 'POST',
      headers: bearer(token.bResearcher!),
      body: JSON.stringify({ query: '{ cohort { counts { instances } } }' }),
    });
    const body = (await res.json()) as {
      data: { cohort: { counts: { instances: number } } };
    };
    assert.equal(body.data.cohort.counts.instances, ctFiles.length);
  });

  it('refuses an object that is not de-identified, and one whose bytes do not match their SHA-256', async () => {
    const raw = readFileSync(ctFiles[0]!);
    const rawSha = createHash('sha256').update(raw).digest('hex');
    const boundary = 'xyz';
    const part = (sha: string, bytes: Buffer) => [
      Buffer.from(
        `--${boundary}\r\ncontent-type: application/dicom\r\nx-lpacs-sha256: ${sha}\r\n\r\n`,
      ),
      bytes,
      Buffer.from('\r\n'),
    ];
    const res = await fetch(`${baseB}/sync/objects`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${syncToken}`,
        'content-type': `multipart/related; type="application/dicom"; boundary=${boundary}`,
      },
      body: Buffer.concat([
        ...part(rawSha, raw),
        ...part('0'.repeat(64), raw),
        Buffer.from(`--${boundary}--\r\n`),
      ]),
    });
    assert.equal(res.status, 200);
    const { results } = (await res.json()) as {
      results: Array<{ sha256: string; outcome: string; code?: string }>;
    };
    assert.deepEqual(
      results.sort((x, y) => x.sha256.localeCompare(y.sha256)),
      [
        { sha256: '0'.repeat(64), outcome: 'corrupt', code: 'SHA256_MISMATCH' },
        {
          sha256: rawSha,
          outcome: 'refused',
          code: 'MISSING_ATTRIBUTE',
          message:
            'a synced object must carry PatientIdentityRemoved (0012,0062) YES and a DeidentificationMethod (0012,0063)',
        },
      ].sort((x, y) => x.sha256.localeCompare(y.sha256)),
    );
    assert.equal((await instanceRows(lakeB)).length, ctFiles.length);
  });

  it('refuses an original that merely carries the two attributes (new-user case)', async () => {
    // dcmodify adds PatientIdentityRemoved YES, a DeidentificationMethod
    // and even the Basic Profile's code to an identified original.
    const path = join(work.path, 'claims-deidentified.dcm');
    copyFileSync(ctFiles[1]!, path);
    execFileSync('dcmodify', [
      '-nb',
      ...['-i', '(0012,0062)=YES', '-i', '(0012,0063)=manual'],
      ...['-i', '(0012,0064)[0].(0008,0100)=113100'],
      path,
    ]);
    const raw = readFileSync(path);
    const sha = createHash('sha256').update(raw).digest('hex');
    const boundary = 'xyz';
    const res = await fetch(`${baseB}/sync/objects`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${syncToken}`,
        'content-type': `multipart/related; type="application/dicom"; boundary=${boundary}`,
      },
      body: Buffer.concat([
        Buffer.from(
          `--${boundary}\r\ncontent-type: application/dicom\r\nx-lpacs-sha256: ${sha}\r\n\r\n`,
        ),
        raw,
        Buffer.from(`\r\n--${boundary}--\r\n`),
      ]),
    });
    const { results } = (await res.json()) as {
      results: Array<{ sha256: string; outcome: string; code?: string }>;
    };
    assert.deepEqual(results, [
      {
        sha256: sha,
        outcome: 'refused',
        code: 'NOT_DEIDENTIFIED',
        message:
          'a synced object that is not de-identified as it says: its PatientID (0010,0020) is not an lpacs pseudonym',
      },
    ]);
    assert.equal((await instanceRows(lakeB)).length, ctFiles.length);
  });

  it('lets only a sync.receive caller ask what B has', async () => {
    const ask = (t?: string) =>
      fetch(`${baseB}/sync/have`, {
        method: 'POST',
        headers: t ? bearer(t) : { 'content-type': 'application/json' },
        body: JSON.stringify({ sha256: [] }),
      }).then((r) => r.status);
    assert.equal(await ask(syncToken), 200);
    assert.equal(await ask(token.bResearcher), 403);
    assert.equal(await ask(), 401);
  });

  it('audits the send on A and each receipt on B', () => {
    const sent = new AuditLog(lakeA).query({ action: 'sync.send' });
    assert.equal(sent.length, 4);
    const received = new AuditLog(lakeB).query({
      action: Action.SyncReceive,
      limit: 1000,
    });
    // The researcher's and the anonymous request above were refused.
    assert.equal(received.filter((e) => e.outcome === 'denied').length, 2);
    const stored = received.reduce(
      (n, e) => n + Number(e.detail?.stored ?? 0),
      0,
    );
    assert.equal(stored, ctFiles.length);
  });

  // After the audit counts above: these runs add sync.send entries.
  it('says a refused token was refused and how to get one, not to rerun', async () => {
    const run = (t: string) =>
      runCli([
        'sync',
        '--cohort',
        cohortId,
        '--to',
        baseB,
        '--token',
        t,
        '--lake',
        lakeA,
      ]);
    const unknown = await run(`lpat_${'0'.repeat(16)}_${'x'.repeat(43)}`);
    assert.equal(unknown.code, 1);
    assert.match(unknown.stdout, /answered 401/);
    assert.match(
      unknown.stdout,
      /\nthe peer refused the token \(unknown, expired or revoked\): ask the peer's admin for a token of the receiving lake with sync\.receive \(there: lpacs tokens create USER --scope sync\.receive\)/,
    );
    const researcher = await run(token.bResearcher!);
    assert.equal(researcher.code, 1);
    assert.match(researcher.stdout, /answered 403/);
    assert.match(researcher.stdout, /it needs sync\.receive/);
    for (const r of [unknown, researcher])
      assert.doesNotMatch(r.stdout, /rerun the same command/);
  });
});

describe('a peer that holds another encoding of an object (same SOP Instance UID and indexed values, other bytes)', () => {
  let tokenC = '';
  let baseC = '';
  /** A's object, as A stores it, and C's re-encoding of it. */
  let own = '';
  let other = '';
  let sop = '';

  before(async () => {
    assert.equal((await runCli(['init', '--lake', lakeC])).code, 0);
    const store = new AccessStore(lakeC);
    await store.addUser('peer-a', Role.Admin);
    tokenC = (
      await store.issueToken('peer-a', {
        label: 'sync from A',
        scopes: [Action.SyncReceive],
      })
    ).token;
    serverC = await startServer({ lake: lakeC, port: 0 });
    baseC = serverC.url.replace(/\/graphql$/, '');
    // One of A's objects, converted by dcmtk to implicit VR: the same
    // attributes and pixels, other bytes.
    const [row] = await instanceRows(lakeA);
    const sha = String(row!.sha256);
    own = join(lakeA, 'objects', sha.slice(0, 2), `${sha}.dcm`);
    other = join(work.path, 'implicit.dcm');
    execFileSync('dcmconv', ['+ti', own, other]);
    // dcmconv writes DCMTK's file meta; lpacs writes its own for an
    // implicit VR object (as ingest does for an implicit VR original).
    const converted = readFileSync(other);
    const body = converted.subarray(144 + converted.readUInt32LE(140));
    writeFileSync(
      other,
      Buffer.concat([
        encodeFileMeta({
          mediaStorageSOPClassUID: topString(
            parseDicom(readFileSync(own)).meta,
            Tag.MediaStorageSOPClassUID,
          )!,
          mediaStorageSOPInstanceUID: String(row!.SOPInstanceUID),
          transferSyntaxUID: '1.2.840.10008.1.2',
          implementationClassUID: IMPLEMENTATION_CLASS_UID,
          implementationVersionName: IMPLEMENTATION_VERSION_NAME,
        }),
        body,
      ]),
    );
    const dump = (f: string) =>
      execFileSync(
        'dcmdump',
        ['-q', '-Un', '+P', '0002,0010', '+P', '0008,0018', f],
        {
          encoding: 'latin1',
        },
      );
    sop = String(row!.SOPInstanceUID);
    assert.match(dump(own), /\(0002,0010\) UI \[1\.2\.840\.10008\.1\.2\.1\]/);
    assert.match(dump(other), /\(0002,0010\) UI \[1\.2\.840\.10008\.1\.2\]/);
    for (const f of [own, other]) assert.ok(dump(f).includes(`[${sop}]`), f);
    assert.notEqual(sha256Of(readFileSync(other)), sha);
    const first = await sendObjects(baseC, tokenC, [readFileSync(other)]);
    assert.deepEqual(first, [
      { sha256: sha256Of(readFileSync(other)), outcome: 'stored' },
    ]);
  });

  it('answers it as a conflict, keeps both versions and traces them', async () => {
    const r = await sync(['--cohort', cohortId, '--to', baseC], tokenC);
    const ownSha = sha256Of(readFileSync(own));
    assert.equal(r.code, 0, JSON.stringify(r));
    assert.deepEqual(
      [r.sent, r.alreadyPresent, r.conflicts, r.failed.length],
      [ctFiles.length - 1, 0, [ownSha], 0],
    );
    // C's instance is still the version it had; A's is kept beside it,
    // byte for byte, and a CONFLICT record names it.
    const rows = await instanceRows(lakeC);
    assert.equal(rows.length, ctFiles.length);
    assert.equal(
      rows.find((x) => x.SOPInstanceUID === sop)?.sha256,
      sha256Of(readFileSync(other)),
    );
    assert.ok(objectHashes(lakeC).has(ownSha));
    const records = readdirSync(join(lakeC, 'quarantine')).map(
      (id) =>
        JSON.parse(
          readFileSync(join(lakeC, 'quarantine', id, 'reason.json'), 'utf8'),
        ) as { code: string; message: string },
    );
    assert.deepEqual(
      records.map((x) => x.code),
      ['CONFLICT'],
    );
    assert.ok(
      records[0]!.message.includes(`SOP Instance ${sop} `) &&
        records[0]!.message.includes(
          `objects/${ownSha.slice(0, 2)}/${ownSha}.dcm`,
        ),
      records[0]!.message,
    );
  });

  it('sends nothing for it the second time: have names it a conflict, not missing', async () => {
    const ownSha = sha256Of(readFileSync(own));
    const res = await fetch(`${baseC}/sync/have`, {
      method: 'POST',
      headers: bearer(tokenC),
      body: JSON.stringify({ sha256: [ownSha] }),
    });
    assert.deepEqual(await res.json(), { missing: [], conflicts: [ownSha] });
    const again = await sync(['--cohort', cohortId, '--to', baseC], tokenC);
    assert.equal(again.code, 0, JSON.stringify(again));
    assert.deepEqual(
      [again.sent, again.bytesSent, again.alreadyPresent, again.conflicts],
      [0, 0, ctFiles.length - 1, [ownSha]],
    );
    // Nothing more was received: one CONFLICT record still.
    assert.equal(readdirSync(join(lakeC, 'quarantine')).length, 1);
  });
});
