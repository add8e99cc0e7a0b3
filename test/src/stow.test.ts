import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startServer } from '@lpacs/api';
import type { RunningServer } from '@lpacs/api';
import { Role } from '@lpacs/access';
import { IngestSession } from '@lpacs/ingest';
import type { RunHooks } from '@lpacs/ingest';
import {
  CT,
  SAMPLE,
  bearer,
  containsWord,
  filesUnder,
  parquetRows,
  phiNeedles,
  runCli,
  tempDir,
  tokenFor,
} from './helpers';

const truth = JSON.parse(readFileSync(join(CT, 'truth.json'), 'utf8'));
const work = tempDir('stow');
let server: RunningServer;
let stowUrl: string;
let admin: string;
const slices = filesUnder(CT)
  .filter((f) => f.endsWith('.dcm'))
  .slice(0, 3);

/** UI values as dcmtk reads them, as numbers (-Un), by tag. */
function uidsByDcmdump(file: string, tags: string[]): Record<string, string> {
  const out = execFileSync(
    'dcmdump',
    ['-q', '-Un', ...tags.flatMap((t) => ['+P', t]), file],
    { encoding: 'latin1' },
  );
  const found: Record<string, string> = {};
  for (const tag of tags) {
    const value = new RegExp(`^\\(${tag}\\) UI \\[([^\\]]*)\\]`, 'm').exec(
      out,
    )?.[1];
    if (value !== undefined) found[tag] = value;
  }
  return found;
}

/** SOP Class and Instance UID as dcmtk reads them, as numbers (-Un). */
function sopUidsByDcmdump(file: string): [string, string] {
  const uids = uidsByDcmdump(file, ['0008,0016', '0008,0018']);
  return [uids['0008,0016']!, uids['0008,0018']!];
}

/** The parts' study and series UIDs as sent (dcmdump). */
function placesAsSent(files: string[]): string[] {
  return files.flatMap((f) =>
    Object.values(uidsByDcmdump(f, ['0020,000d', '0020,000e'])),
  );
}

type DicomJson = Record<
  string,
  { vr: string; Value?: Array<Record<string, { Value?: unknown[] }>> }
>;

function multipart(
  parts: Buffer[],
  boundary = 'lpacs-test-boundary',
): { body: Buffer; type: string } {
  const chunks: Buffer[] = [];
  for (const part of parts) {
    chunks.push(
      Buffer.from(`--${boundary}\r\nContent-Type: application/dicom\r\n\r\n`),
      part,
      Buffer.from('\r\n'),
    );
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`));
  return {
    body: Buffer.concat(chunks),
    type: `multipart/related; type="application/dicom"; boundary=${boundary}`,
  };
}

async function stow(parts: Buffer[], url = stowUrl) {
  const { body, type } = multipart(parts);
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': type, authorization: `Bearer ${admin}` },
    body,
  });
  const text = await res.text();
  return { status: res.status, text, json: JSON.parse(text) as DicomJson };
}

async function instanceCount(): Promise<number> {
  const res = await fetch(server.url, {
    method: 'POST',
    headers: bearer(admin),
    body: JSON.stringify({ query: '{ cohort { counts { instances } } }' }),
  });
  return (
    (await res.json()) as {
      data: { cohort: { counts: { instances: number } } };
    }
  ).data.cohort.counts.instances;
}

/**
 * GETs a RetrieveURL from WADO-RS and writes its one DICOM part to a file
 * under `name`, for dcmdump to read.
 */
async function retrieve(url: string, name: string): Promise<string> {
  const res = await fetch(url, {
    headers: {
      authorization: `Bearer ${admin}`,
      accept: 'multipart/related; type="application/dicom"',
    },
  });
  assert.equal(res.status, 200, url);
  const boundary = /boundary="?([^";]+)"?/.exec(
    res.headers.get('content-type') ?? '',
  )?.[1];
  assert.ok(boundary, 'a multipart answer');
  const body = Buffer.from(await res.arrayBuffer());
  const start = body.indexOf('DICM') - 128;
  const end = body.indexOf(`\r\n--${boundary}`, start);
  assert.ok(start >= 0 && end > start, 'one DICOM part');
  const path = join(work.path, name);
  writeFileSync(path, body.subarray(start, end));
  return path;
}

/** The study, series and instance UIDs a WADO-RS instance URL names. */
function urlPlace(url: string): string[] {
  const m =
    /\/studies\/([0-9.]+)\/series\/([0-9.]+)\/instances\/([0-9.]+)$/.exec(url);
  assert.ok(m, url);
  return [m[1]!, m[2]!, m[3]!];
}

interface AuditEntry {
  actor: string;
  role?: string;
  action: string;
  outcome: string;
  target?: string;
  detail?: Record<string, string | number | boolean>;
}

/** The lake's audit entries, oldest first, as `lpacs audit --json` lists them. */
async function auditEntries(lake: string): Promise<AuditEntry[]> {
  const run = await runCli(['audit', '--lake', lake, '--json']);
  assert.equal(run.code, 0, run.stderr);
  return (JSON.parse(run.stdout) as AuditEntry[]).reverse();
}

/** Instance rows each batch holds, read from its Parquet files. */
async function rowsOfBatches(
  lake: string,
  batches: string[],
): Promise<number[]> {
  const counts: number[] = [];
  for (const batch of batches) {
    const [row] = await parquetRows(
      `SELECT count(*) AS n FROM read_parquet('${lake}/tables/instances/batch=${batch}/*.parquet')`,
    );
    counts.push(Number(row?.n));
  }
  return counts;
}

/** The RetrieveURL the first STOW-RS gave each slice, by its SOP Instance UID as sent. */
const firstUrls = new Map<string, string>();

before(async () => {
  admin = await tokenFor(join(work.path, 'lake'), Role.Admin);
  server = await startServer({ lake: join(work.path, 'lake'), port: 0 });
  stowUrl = server.url.replace(/graphql$/, 'dicomweb/studies');
});
after(async () => {
  await server?.close();
  work.remove();
});

describe('STOW-RS (POST /dicomweb/studies)', () => {
  it('stores what it can read, reports what it cannot, and says why', async () => {
    const r = await stow([
      ...slices.map((f) => readFileSync(f)),
      Buffer.from('not DICOM at all'),
    ]);
    assert.equal(r.status, 202);
    const stored = r.json['00081199']?.Value ?? [];
    const failed = r.json['00081198']?.Value ?? [];
    assert.equal(stored.length, 3);
    // Each item names its part as sent (PS3.18 Table I.1-1: the sender
    // knows no other UIDs); the lake's own are only in its RetrieveURL.
    const sent = slices.map(sopUidsByDcmdump);
    assert.deepEqual(
      stored
        .map((item) => [
          String(item['00081150']?.Value?.[0]),
          String(item['00081155']?.Value?.[0]),
        ])
        .sort(),
      sent.sort(),
    );
    for (const item of stored) {
      assert.equal(item['00081196']?.Value?.[0], 0xb000); // coerced: de-identified
      const url = String(item['00081190']?.Value?.[0]);
      const [, , sop] = urlPlace(url);
      assert.notEqual(sop, item['00081155']?.Value?.[0]);
      firstUrls.set(String(item['00081155']?.Value?.[0]), url);
    }
    // The parts' own study and series UIDs are not echoed anywhere.
    for (const uid of placesAsSent(slices))
      assert.ok(!r.text.includes(uid), uid);
    assert.equal(failed.length, 1);
    assert.equal(failed[0]?.['00081197']?.Value?.[0], 0xc000);
    assert.match(String(failed[0]?.['00000902']?.Value?.[0]), /^NOT_DICOM/);
    assert.equal(await instanceCount(), 3);
    for (const needle of phiNeedles(truth))
      assert.ok(!containsWord(r.text, needle), needle);
  });

  it('names a refused part by the UIDs it was sent with, and an unreadable one by none', async () => {
    // deflated.dcm is a secondary capture without BurnedInAnnotation: read,
    // then refused, so nothing of it is stored under a de-identified UID.
    const refused = join(SAMPLE, 'deflated.dcm');
    const [classUID, instanceUID] = sopUidsByDcmdump(refused);
    assert.equal(classUID, '1.2.840.10008.5.1.4.1.1.7');
    const r = await stow([
      readFileSync(slices[0]!),
      readFileSync(refused),
      Buffer.from('not DICOM at all'),
    ]);
    assert.equal(r.status, 202);
    assert.equal(r.json['00081199']?.Value?.length, 1);
    const failed = r.json['00081198']?.Value ?? [];
    assert.equal(failed.length, 2);
    const burned = failed.find((item) =>
      /^BURNED_IN_ANNOTATION/.test(String(item['00000902']?.Value?.[0])),
    );
    assert.ok(burned, JSON.stringify(failed));
    assert.equal(burned['00081197']?.Value?.[0], 0xc000);
    assert.deepEqual(burned['00081150']?.Value, [classUID]);
    assert.deepEqual(burned['00081155']?.Value, [instanceUID]);
    const unreadable = failed.find((item) => item !== burned)!;
    assert.match(String(unreadable['00000902']?.Value?.[0]), /^NOT_DICOM/);
    assert.equal(unreadable['00081197']?.Value?.[0], 0xc000);
    assert.equal(unreadable['00081150'], undefined);
    assert.equal(unreadable['00081155'], undefined);
    assert.equal(await instanceCount(), 3);
  });

  it('accepts the same instances again without storing them twice', async () => {
    const r = await stow(slices.map((f) => readFileSync(f)));
    assert.equal(r.status, 200);
    assert.equal(r.json['00081199']?.Value?.length, 3);
    assert.equal(await instanceCount(), 3);
  });

  it('gives an instance the lake already held the RetrieveURL of the held instance', async () => {
    // A server started after they were stored: its ingest finds them in
    // the lake, not among what it stored itself.
    await server.close();
    server = await startServer({ lake: join(work.path, 'lake'), port: 0 });
    stowUrl = server.url.replace(/graphql$/, 'dicomweb/studies');
    const r = await stow(slices.map((f) => readFileSync(f)));
    assert.equal(r.status, 200);
    const items = r.json['00081199']?.Value ?? [];
    assert.equal(items.length, 3);
    for (const [i, item] of items.entries()) {
      const sentSop = String(item['00081155']?.Value?.[0]);
      const url = String(item['00081190']?.Value?.[0]);
      // Where the first STOW-RS stored it (on this server's port now).
      assert.equal(
        new URL(url).pathname,
        new URL(firstUrls.get(sentSop) ?? 'http://x/').pathname,
        sentSop,
      );
      // WADO-RS answers it with the instance the URL names, as dcmdump reads it.
      const [study, series, sop] = urlPlace(url);
      const path = await retrieve(url, `held-${i}.dcm`);
      assert.deepEqual(
        uidsByDcmdump(path, ['0020,000d', '0020,000e', '0008,0018']),
        { '0020,000d': study, '0020,000e': series, '0008,0018': sop },
      );
    }
    // All three of one study: the response names it.
    const [study] = urlPlace(String(items[0]?.['00081190']?.Value?.[0]));
    assert.equal(
      r.json['00081190']?.Value?.[0],
      `${server.url.replace(/\/graphql$/, '')}/dicomweb/studies/${study}`,
    );
    assert.equal(await instanceCount(), 3);
  });

  it('names a truncated part by the UIDs read before the cut, and one cut before them by none', async () => {
    const file = slices[1]!;
    const whole = readFileSync(file);
    const [classUID, instanceUID] = sopUidsByDcmdump(file);
    // Cut 1000 bytes into the end: inside the pixel data, which comes last.
    const pixelsAt = whole.length - 64 * 64 * 2;
    const cut = whole.subarray(0, whole.length - 1000);
    assert.ok(cut.length > pixelsAt);
    // Cut inside the file meta, before any UID.
    const early = whole.subarray(0, 140);
    const r = await stow([cut, early]);
    assert.equal(r.status, 409);
    const failed = r.json['00081198']?.Value ?? [];
    assert.equal(failed.length, 2);
    for (const item of failed) {
      assert.equal(item['00081197']?.Value?.[0], 0xc000);
      assert.match(String(item['00000902']?.Value?.[0]), /^TRUNCATED/);
    }
    const named = failed.filter((item) => item['00081155']);
    assert.equal(named.length, 1);
    assert.deepEqual(named[0]?.['00081150']?.Value, [classUID]);
    assert.deepEqual(named[0]?.['00081155']?.Value, [instanceUID]);
    const unnamed = failed.find((item) => !item['00081155'])!;
    assert.equal(unnamed['00081150'], undefined);
    assert.equal(await instanceCount(), 3);
  });

  it('runs beside an lpacs ingest, and answers a conflict for an instance it committed first', async () => {
    // explicit_big.dcm is volume/brain_013.dcm re-encoded: one SOP
    // Instance UID, other content. The server's ingest session opened
    // before the CLI's commit, so only its own commit can find it.
    const lake = join(work.path, 'lake');
    const cli = await runCli([
      'ingest',
      join(SAMPLE, 'explicit_big.dcm'),
      '--lake',
      lake,
      '--json',
    ]);
    assert.equal(cli.code, 0, cli.stderr);
    assert.equal((JSON.parse(cli.stdout) as { ingested: number }).ingested, 1);
    const r = await stow([
      readFileSync(join(SAMPLE, 'volume', 'brain_013.dcm')),
    ]);
    assert.equal(r.status, 409);
    assert.equal(r.json['00081199']?.Value, undefined);
    const failed = r.json['00081198']?.Value ?? [];
    assert.equal(failed.length, 1);
    assert.equal(failed[0]?.['00081197']?.Value?.[0], 0x0111); // duplicate
    assert.match(String(failed[0]?.['00000902']?.Value?.[0]), /^CONFLICT/);
    // Named as sent, not by the lake's UIDs.
    const [classUID, instanceUID] = sopUidsByDcmdump(
      join(SAMPLE, 'volume', 'brain_013.dcm'),
    );
    assert.deepEqual(failed[0]?.['00081150']?.Value, [classUID]);
    assert.deepEqual(failed[0]?.['00081155']?.Value, [instanceUID]);
    assert.equal(await instanceCount(), 4);
  });

  it('refuses what is not multipart/related application/dicom, naming it', async () => {
    const res = await fetch(stowUrl, {
      method: 'POST',
      headers: bearer(admin),
      body: '{}',
    });
    assert.equal(res.status, 415);
    assert.match(await res.text(), /Content-Type must be multipart\/related/);
    const broken = await fetch(stowUrl, {
      method: 'POST',
      headers: {
        'content-type':
          'multipart/related; type="application/dicom"; boundary=xyz',
        authorization: `Bearer ${admin}`,
      },
      body: 'no boundary anywhere',
    });
    assert.equal(broken.status, 400);
    assert.match(await broken.text(), /no part starts with the boundary/);
  });

  it('gives each stored instance a RetrieveURL that WADO-RS answers with it (PS3.18 Table I.1-1)', async () => {
    const file = filesUnder(CT).filter((f) => f.endsWith('.dcm'))[5]!;
    const r = await stow([readFileSync(file)]);
    assert.equal(r.status, 200);
    const [item] = r.json['00081199']?.Value ?? [];
    assert.deepEqual(item?.['00081155']?.Value, [sopUidsByDcmdump(file)[1]]);
    const url = String(item?.['00081190']?.Value?.[0]);
    const base = server.url.replace(/\/graphql$/, '');
    assert.ok(url.startsWith(`${base}/dicomweb/studies/`), url);
    const [study, series, sop] = urlPlace(url);
    const retrieved = await retrieve(url, 'retrieved.dcm');
    assert.deepEqual(
      uidsByDcmdump(retrieved, ['0020,000d', '0020,000e', '0008,0018']),
      { '0020,000d': study, '0020,000e': series, '0008,0018': sop },
    );
    // The study's own RetrieveURL: the study in the instance's URL.
    assert.equal(
      r.json['00081190']?.Value?.[0],
      `${base}/dicomweb/studies/${study}`,
    );
  });

  it('audits an upload once processed: one ingest entry whose counts are those of its answer', async () => {
    const lake = join(work.path, 'lake');
    const before = await instanceCount();
    const held = (await auditEntries(lake)).length;
    const all = filesUnder(CT).filter((f) => f.endsWith('.dcm'));
    // Two slices the lake lacks, one it holds, one it holds with other
    // content (explicit_big.dcm is brain_013.dcm re-encoded; the test
    // above ingested it), and a part that is not DICOM.
    const fresh = [all[7]!, all[8]!];
    const r = await stow([
      ...fresh.map((f) => readFileSync(f)),
      readFileSync(slices[0]!),
      readFileSync(join(SAMPLE, 'volume', 'brain_013.dcm')),
      Buffer.from('not DICOM at all'),
    ]);
    assert.equal(r.status, 202);
    const stored = r.json['00081199']?.Value ?? [];
    const failed = r.json['00081198']?.Value ?? [];
    const reasons = failed.map((item) => item['00081197']?.Value?.[0]);
    // New instances the lake counts, not what the server says it did.
    const ingested = (await instanceCount()) - before;
    assert.equal(ingested, fresh.length);
    // (instanceCount's queries are audited as cohort.query.)
    const entries = (await auditEntries(lake))
      .slice(held)
      .filter((e) => e.action === 'ingest');
    assert.equal(entries.length, 1, JSON.stringify(entries));
    const [entry] = entries;
    assert.equal(entry?.action, 'ingest');
    assert.equal(entry.actor, Role.Admin);
    assert.equal(entry.role, Role.Admin);
    // Some parts failed: failed, as a C-STORE association with one is.
    assert.equal(entry.outcome, 'failed');
    const detail = entry.detail!;
    assert.equal(detail.via, 'stow');
    assert.equal(detail.status, r.status);
    assert.equal(detail.error, 'PARTS_REFUSED');
    assert.equal(detail.parts, 5);
    assert.equal(detail.ingested, ingested);
    assert.equal(detail.skipped, stored.length - ingested);
    assert.equal(
      detail.quarantined,
      reasons.filter((c) => c === 0xc000).length,
    );
    assert.equal(detail.conflicts, reasons.filter((c) => c === 0x0111).length);
    assert.deepEqual(
      [detail.ingested, detail.skipped, detail.quarantined, detail.conflicts],
      [2, 1, 1, 1],
    );
    // The batches named hold the instances ingested, and exist in the lake.
    const batches = String(detail.batches).split(',').filter(Boolean);
    assert.equal(batches.length, 1);
    assert.deepEqual(await rowsOfBatches(lake, batches), [ingested]);
    // No UID, name or ID of what was sent, no part's source name.
    const text = JSON.stringify(entry);
    assert.doesNotMatch(text, /stow:/);
    for (const file of [...fresh, slices[0]!]) {
      for (const uid of [...sopUidsByDcmdump(file), ...placesAsSent([file])])
        assert.ok(!text.includes(uid), uid);
    }
    for (const needle of phiNeedles(truth))
      assert.ok(!containsWord(text, needle), needle);
  });

  it('audits an upload every part of which was stored as ok, and a refused body as failed with its code', async () => {
    const lake = join(work.path, 'lake');
    const held = (await auditEntries(lake)).length;
    const r = await stow([readFileSync(slices[1]!)]);
    assert.equal(r.status, 200);
    const refused = await fetch(stowUrl, {
      method: 'POST',
      headers: bearer(admin),
      body: '{}',
    });
    assert.equal(refused.status, 415);
    const [ok, bad, ...others] = (await auditEntries(lake)).slice(held);
    assert.equal(others.length, 0);
    assert.equal(ok?.outcome, 'ok');
    assert.deepEqual(ok.detail, {
      via: 'stow',
      status: 200,
      parts: 1,
      ingested: 0,
      skipped: r.json['00081199']?.Value?.length,
      quarantined: 0,
      conflicts: 0,
      batches: '',
    });
    assert.equal(bad?.outcome, 'failed');
    assert.equal(bad.detail?.status, 415);
    assert.equal(bad.detail?.parts, 0);
    assert.equal(bad.detail?.error, 'UNSUPPORTED_MEDIA_TYPE');
  });

  it('audits an upload that fails midway as failed, with the batches it committed before', async () => {
    // A lake of its own, whose ingest commits every 2 instances and whose
    // input fails (as a full disk would fail a commit) once the first
    // batch is committed.
    const lake = join(work.path, 'midway');
    const token = await tokenFor(lake, Role.Admin);
    const real = await IngestSession.open({ lake, workers: 1, batchSize: 2 });
    const run = (inputs: Iterable<{ source: string }>, hooks: RunHooks) => {
      let committed!: () => void;
      const first = new Promise<void>((resolve) => (committed = resolve));
      async function* failing() {
        let n = 0;
        for (const input of inputs) {
          if (n++ === 2) {
            await first;
            throw Object.assign(new Error('no space left (simulated)'), {
              code: 'ENOSPC',
            });
          }
          yield input;
        }
      }
      return real.run(failing() as never, {
        ...hooks,
        onCommitted: (batch, instances) => {
          hooks.onCommitted?.(batch, instances);
          committed();
        },
      });
    };
    const session = new Proxy(real, {
      get: (target, key) => {
        if (key === 'run') return run;
        const value: unknown = Reflect.get(target, key, target);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
    const midway = await startServer({ lake, port: 0, session });
    try {
      const all = filesUnder(CT).filter((f) => f.endsWith('.dcm'));
      const { body, type } = multipart(
        all.slice(0, 5).map((f) => readFileSync(f)),
      );
      const res = await fetch(
        midway.url.replace(/graphql$/, 'dicomweb/studies'),
        {
          method: 'POST',
          headers: { 'content-type': type, authorization: `Bearer ${token}` },
          body,
        },
      );
      assert.equal(res.status, 500);
    } finally {
      await midway.close();
      await real.close();
    }
    const entries = (await auditEntries(lake)).filter(
      (e) => e.action === 'ingest',
    );
    assert.equal(entries.length, 1, JSON.stringify(entries));
    const [entry] = entries;
    assert.equal(entry?.outcome, 'failed');
    const detail = entry.detail!;
    assert.equal(detail.error, 'ENOSPC');
    assert.equal(detail.status, 500);
    assert.equal(detail.parts, 5);
    // What the lake holds, read from its Parquet files.
    const [{ n } = {}] = await parquetRows(
      `SELECT count(*) AS n FROM read_parquet('${lake}/tables/instances/*/*.parquet')`,
    );
    assert.equal(detail.ingested, Number(n));
    assert.equal(detail.ingested, 2);
    const batches = String(detail.batches).split(',').filter(Boolean);
    assert.deepEqual(await rowsOfBatches(lake, batches), [2]);
  });

  it('stores nothing for a caller without a token or without the ingest right', async () => {
    const before = await instanceCount();
    const one = readFileSync(filesUnder(CT).find((f) => f.endsWith('.dcm'))!);
    const { body, type } = multipart([one]);
    const anonymous = await fetch(stowUrl, {
      method: 'POST',
      headers: { 'content-type': type },
      body,
    });
    assert.equal(anonymous.status, 401);
    const researcher = await tokenFor(join(work.path, 'lake'), Role.Researcher);
    const refused = await fetch(stowUrl, {
      method: 'POST',
      headers: { 'content-type': type, authorization: `Bearer ${researcher}` },
      body,
    });
    assert.equal(refused.status, 403);
    assert.match(await refused.text(), /the researcher role may not ingest/);
    assert.equal(await instanceCount(), before);
  });
});

describe('STOW-RS to one study (POST /dicomweb/studies/{study})', () => {
  /** CT files no earlier test sent, by their study UID as sent (dcmdump). */
  function unsentByStudy(): Map<string, string[]> {
    const all = filesUnder(CT).filter((f) => f.endsWith('.dcm'));
    const byStudy = new Map<string, string[]>();
    for (const f of all.slice(20)) {
      const study = uidsByDcmdump(f, ['0020,000d'])['0020,000d']!;
      byStudy.set(study, [...(byStudy.get(study) ?? []), f]);
    }
    return byStudy;
  }

  it('refuses each part of another study with C409, stores the rest, and audits the count', async () => {
    const lake = join(work.path, 'lake');
    const [first, second] = [...unsentByStudy()];
    const [study, mine] = first!;
    const [, theirs] = second!;
    const before = await instanceCount();
    const held = (await auditEntries(lake)).length;
    const r = await stow(
      [readFileSync(mine[0]!), readFileSync(theirs[0]!)],
      `${stowUrl}/${study}`,
    );
    assert.equal(r.status, 202);
    const stored = r.json['00081199']?.Value ?? [];
    const failed = r.json['00081198']?.Value ?? [];
    assert.deepEqual(
      stored.map((item) => item['00081155']?.Value?.[0]),
      [sopUidsByDcmdump(mine[0]!)[1]],
    );
    assert.equal(failed.length, 1);
    assert.equal(failed[0]?.['00081197']?.Value?.[0], 0xc409);
    assert.deepEqual(
      [
        failed[0]?.['00081150']?.Value?.[0],
        failed[0]?.['00081155']?.Value?.[0],
      ],
      sopUidsByDcmdump(theirs[0]!),
    );
    assert.match(String(failed[0]?.['00000902']?.Value?.[0]), /^OTHER_STUDY/);
    assert.equal(await instanceCount(), before + 1);
    // Nothing of the refused part was kept: sent to /studies it is new.
    const again = await stow([readFileSync(theirs[0]!)]);
    assert.equal(again.status, 200);
    assert.equal(await instanceCount(), before + 2);
    const [entry] = (await auditEntries(lake))
      .slice(held)
      .filter((e) => e.action === 'ingest');
    assert.equal(entry?.outcome, 'failed');
    assert.equal(entry.detail?.outsideStudy, 1);
    assert.equal(entry.detail?.ingested, 1);
    assert.ok(!JSON.stringify(entry).includes(study), 'no UID in the log');
  });

  it("answers 409 and stores nothing when no part is of the study, the lake's own UID for it included", async () => {
    const [first, second] = [...unsentByStudy()];
    const [study, mine] = first!;
    const [, theirs] = second!;
    const before = await instanceCount();
    const other = await stow([readFileSync(theirs[1]!)], `${stowUrl}/${study}`);
    assert.equal(other.status, 409);
    assert.equal(other.json['00081199'], undefined);
    assert.equal(
      other.json['00081198']?.Value?.[0]?.['00081197']?.Value?.[0],
      0xc409,
    );
    // The URL names the study as the sender knows it: the lake's
    // de-identified UID of the same study (in the RetrieveURL of the part
    // stored above) is another study to a part that carries its original.
    const held = await stow([readFileSync(mine[0]!)], `${stowUrl}/${study}`);
    const url = String(
      held.json['00081199']?.Value?.[0]?.['00081190']?.Value?.[0],
    );
    const [lakeStudy] = urlPlace(url);
    assert.notEqual(lakeStudy, study);
    const byLakeUid = await stow(
      [readFileSync(mine[1]!)],
      `${stowUrl}/${lakeStudy}`,
    );
    assert.equal(byLakeUid.status, 409);
    assert.equal(await instanceCount(), before);
  });
});
