import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import {
  existsSync,
  lstatSync,
  readFileSync,
  readdirSync,
  realpathSync,
  writeFileSync,
} from 'node:fs';
import { basename, join, relative } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Role } from '@lpacs/access';
import { LinkageReader, startServer } from '@lpacs/api';
import type { RunningServer } from '@lpacs/api';
import { LakeCipher, LakeErrorCode, parseKek } from '@lpacs/lake';
import sharp from 'sharp';
import {
  CT,
  REPO,
  SAMPLE,
  bearer,
  filesUnder,
  runCli,
  tempDir,
  tokenFor,
} from './helpers';
import { keyedMaskPath } from './maskNamesTruth';
import { readSeg } from './segTruth';

// An encrypted lake (lpacs init --encrypt): the API reads through it as
// through any lake, while the directory itself shows no DICOM preamble,
// no pixel run of a stored frame, no planted identifier and (outside the
// Parquet tables, which docs/encryption.md lists as still in the clear)
// no pseudonymised UID or PatientID. Expected values come from the
// corpus's truth.json, from the object names (SHA-256 of the plaintext,
// taken before sealing) and from a lake of the same corpus in the clear.

interface Truth {
  totals: { instances: number };
  phiStrings: string[];
  patients: Array<{ patientId: string }>;
}

const truth = JSON.parse(readFileSync(join(CT, 'truth.json'), 'utf8')) as Truth;
const work = tempDir('encryption');
const lake = join(work.path, 'lake');
const clear = join(work.path, 'clear');
const kekFile = join(work.path, 'kek.hex');
const newKekFile = join(work.path, 'kek-new.b64');
const wrongKekFile = join(work.path, 'kek-wrong.bin');
let api: RunningServer;
let apiClosed = false;
let base = '';
let token = '';

type Json = Record<string, { Value?: unknown[] }>;

/** Every regular file under `dir` (symbolic links not followed). */
function walk(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    const s = lstatSync(path);
    if (s.isSymbolicLink()) return [];
    return s.isDirectory() ? walk(path) : [path];
  });
}

/** Files of `root` holding `needle`, relative to it. */
function holders(root: string, needle: Buffer): string[] {
  return walk(root)
    .filter((f) => readFileSync(f).includes(needle))
    .map((f) => relative(root, f));
}

/** The parts of a multipart/related body (RFC 2387), headers dropped. */
function parts(body: Buffer, contentType: string): Buffer[] {
  const boundary = /boundary="?([^";]+)"?/.exec(contentType)?.[1];
  assert.ok(boundary, `no boundary in ${contentType}`);
  const delimiter = Buffer.from(`--${boundary}`);
  const out: Buffer[] = [];
  let at = body.indexOf(delimiter);
  while (at >= 0) {
    const next = body.indexOf(delimiter, at + delimiter.length);
    if (next < 0) break;
    const part = body.subarray(at + delimiter.length, next);
    const start = part.indexOf('\r\n\r\n');
    // The CRLF before the next delimiter belongs to the delimiter.
    out.push(part.subarray(start + 4, part.length - 2));
    at = next;
  }
  return out;
}

async function get(path: string, accept: string) {
  const res = await fetch(`${base}${path}`, {
    headers: { authorization: `Bearer ${token}`, accept },
  });
  assert.equal(res.status, 200, `${path}: ${res.status}`);
  return {
    type: res.headers.get('content-type') ?? '',
    body: Buffer.from(await res.arrayBuffer()),
  };
}

function value(item: Json, tag: string): string {
  return String(item[tag]?.Value?.[0] ?? '');
}

function sha256(b: Buffer): string {
  return createHash('sha256').update(b).digest('hex');
}

/** SHA-256 of every file under the lake, by path: what "untouched" means. */
function treeHashes(root: string): Map<string, string> {
  return new Map(
    walk(root).map((f) => [relative(root, f), sha256(readFileSync(f))]),
  );
}

const instances: Array<{
  study: string;
  series: string;
  sop: string;
  patient: string;
}> = [];

before(async () => {
  writeFileSync(kekFile, randomBytes(32).toString('hex') + '\n');
  writeFileSync(newKekFile, randomBytes(32).toString('base64'));
  writeFileSync(wrongKekFile, randomBytes(32));
  const init = await runCli([
    'init',
    '--lake',
    lake,
    '--encrypt',
    '--kek-file',
    kekFile,
  ]);
  assert.equal(init.code, 0, init.stderr);
  assert.match(init.stdout, /encrypted at rest: AES-256-GCM/);
  const env = { LPACS_KEK_FILE: kekFile, LPACS_KEK: '' };
  const ingest = await runCli(['ingest', CT, '--lake', lake, '--json'], env);
  assert.equal(ingest.code, 0, ingest.stderr);
  const report = JSON.parse(ingest.stdout) as { ingested: number };
  assert.equal(report.ingested, truth.totals.instances);
  const plain = await runCli(['ingest', CT, '--lake', clear, '--json']);
  assert.equal(plain.code, 0, plain.stderr);
  // The server reads the KEK from the environment, like lpacs serve.
  process.env.LPACS_KEK_FILE = kekFile;
  delete process.env.LPACS_KEK;
  token = await tokenFor(lake, Role.Researcher);
  api = await startServer({ lake, host: '127.0.0.1', port: 0 });
  base = api.url.replace(/graphql$/, 'dicomweb');
  const all = JSON.parse(
    (
      await get(
        '/instances?limit=1000&includefield=PatientID',
        'application/dicom+json',
      )
    ).body.toString(),
  ) as Json[];
  for (const i of all)
    instances.push({
      study: value(i, '0020000D'),
      series: value(i, '0020000E'),
      sop: value(i, '00080018'),
      patient: value(i, '00100020'),
    });
});

after(async () => {
  if (!apiClosed) await api?.close();
  delete process.env.LPACS_KEK_FILE;
  work.remove();
});

describe('an encrypted lake', () => {
  it('answers cohort queries and QIDO-RS as a lake in the clear does', async () => {
    assert.equal(instances.length, truth.totals.instances);
    const res = await fetch(api.url, {
      method: 'POST',
      headers: bearer(token),
      body: JSON.stringify({
        query:
          '{ cohort(filter: { modality: ["CT"] }) { counts { patients instances } } }',
      }),
    });
    const answer = (await res.json()) as {
      data: { cohort: { counts: { patients: number; instances: number } } };
    };
    assert.deepEqual(answer.data.cohort.counts, {
      patients: truth.patients.length,
      instances: truth.totals.instances,
    });
    for (const i of instances) assert.match(i.patient, /^LP[A-Z2-7]{16}$/);
  });

  it('serves WADO-RS instances whose SHA-256 is the name they were stored under, and their frames', async () => {
    const names = new Set(
      filesUnder(join(lake, 'objects')).map((f) => basename(f, '.dcm')),
    );
    for (const i of instances.slice(0, 6)) {
      const path = `/studies/${i.study}/series/${i.series}/instances/${i.sop}`;
      const one = await get(
        path,
        'multipart/related; type="application/dicom"',
      );
      const [object] = parts(one.body, one.type);
      assert.ok(object);
      assert.equal(object.subarray(128, 132).toString('latin1'), 'DICM');
      assert.ok(names.has(sha256(object)), 'the object the lake indexed');
      const frame = await get(
        `${path}/frames/1`,
        'multipart/related; type="application/octet-stream"',
      );
      const [pixels] = parts(frame.body, frame.type);
      // 64 x 64 CT, 16 bits allocated (truth.json options.size).
      assert.equal(pixels?.length, 64 * 64 * 2);
      assert.ok(object.includes(pixels), 'the frame is the stored pixels');
    }
  });

  it('leaves no DICOM preamble, pixel run, planted identifier, UID or PatientID in its directory, its Parquet tables encrypted too', async () => {
    const runs: Buffer[] = [];
    for (const i of instances.slice(0, 8)) {
      const frame = await get(
        `/studies/${i.study}/series/${i.series}/instances/${i.sop}/frames/1`,
        'multipart/related; type="application/octet-stream"',
      );
      const [pixels] = parts(frame.body, frame.type);
      for (const at of [0.3, 0.5, 0.7]) {
        const start = Math.floor((pixels!.length * at) / 2) * 2;
        const run = pixels!.subarray(start, start + 32);
        if (new Set(run).size >= 8) runs.push(Buffer.from(run));
      }
    }
    assert.ok(runs.length >= 8, 'enough distinct pixel runs to look for');
    const dicm = Buffer.from('DICM');
    const phi = truth.phiStrings.map((s) => Buffer.from(s));
    // The scan finds all of these in the same corpus stored in the clear.
    assert.ok(holders(clear, dicm).some((f) => f.startsWith('objects/')));
    assert.ok(holders(clear, runs[0]!).some((f) => f.startsWith('objects/')));
    // The planted identifiers are in the corpus's DICOM files (the clear
    // lake keeps none: truth.json, not DICOM, is quarantined by reason only).
    assert.ok(holders(CT, phi[0]!).some((f) => f.endsWith('.dcm')));
    assert.deepEqual(holders(clear, phi[0]!), []);
    for (const needle of [dicm, ...runs, ...phi])
      assert.deepEqual(holders(lake, needle), [], `${needle.toString('hex')}`);
    const ids = [
      ...new Set(
        instances.flatMap((i) => [i.study, i.series, i.sop, i.patient]),
      ),
    ];
    // Each is in some object's plaintext (so the scan would find it there
    // in the clear, and in the clear lake's tables), and in no file of the
    // encrypted lake: its tables are Parquet with modular encryption.
    const cipher = LakeCipher.load(
      join(lake, 'keys', 'data-keys.json'),
      parseKek(readFileSync(kekFile), 'test'),
    );
    const plaintexts = walk(join(lake, 'objects')).map((f) =>
      cipher.open(readFileSync(f), f),
    );
    for (const id of ids) {
      const needle = Buffer.from(id);
      assert.ok(
        plaintexts.some((p) => p.includes(needle)),
        id,
      );
      assert.deepEqual(holders(lake, needle), [], id);
    }
    // A value the same in both lakes (not remapped): the CT Image Storage
    // SOP Class UID is in the clear lake's tables, and nowhere here.
    const ctClass = Buffer.from('1.2.840.10008.5.1.4.1.1.2');
    assert.ok(holders(clear, ctClass).some((f) => f.startsWith('tables/')));
    assert.deepEqual(holders(lake, ctClass), []);
    const parquet = walk(join(lake, 'tables')).filter((f) =>
      f.endsWith('.parquet'),
    );
    assert.ok(parquet.length >= 5, `${parquet.length} Parquet files`);
    for (const f of parquet) {
      const bytes = readFileSync(f);
      // Parquet modular encryption with an encrypted footer: PARE, not PAR1.
      assert.equal(bytes.subarray(0, 4).toString('latin1'), 'PARE', f);
      assert.equal(bytes.subarray(-4).toString('latin1'), 'PARE', f);
      assert.match(f, /\/part-0\.k[0-9a-f]{16}\.parquet$/);
    }
  });

  it('opens its linkage for a steward with the KEK', () => {
    const original = truth.patients[0]!.patientId;
    const byPseudonym = new Map(instances.map((i) => [i.patient, i]));
    const found = [...byPseudonym.keys()]
      .map((p) => new LinkageReader(lake).lookup(p))
      .find((r) => r?.patientID === original);
    assert.ok(found, `a pseudonym links back to ${original}`);
  });

  it('builds and streams a release whose objects come out decrypted, whole or by Range', async () => {
    const tokens = {
      rita: await tokenFor(lake, Role.Researcher, 'rita'),
      sam: await tokenFor(lake, Role.Steward, 'sam'),
      cole: await tokenFor(lake, Role.Collaborator, 'cole'),
    };
    const gql = async <T>(
      who: keyof typeof tokens,
      query: string,
      variables: object,
    ): Promise<T> => {
      const res = await fetch(api.url, {
        method: 'POST',
        headers: bearer(tokens[who]),
        body: JSON.stringify({ query, variables }),
      });
      const out = (await res.json()) as { data?: T; errors?: unknown };
      assert.ok(out.data, JSON.stringify(out.errors));
      return out.data;
    };
    const saved = await gql<{ saveCohort: { id: string } }>(
      'rita',
      'mutation ($f: CohortFilter) { saveCohort(name: "all CT", filter: $f) { id } }',
      { f: { modality: ['CT'] } },
    );
    const inAYear = new Date(Date.now() + 200 * 86_400_000)
      .toISOString()
      .slice(0, 10);
    const share = await gql<{ requestShare: { id: string } }>(
      'rita',
      'mutation ($c: String!, $e: String!) { requestShare(cohortId: $c, collaborator: "cole", purpose: "encryption test", expiresAt: $e) { id } }',
      { c: saved.saveCohort.id, e: inAYear },
    );
    const decided = await gql<{ decideShare: { releaseId: string } }>(
      'sam',
      'mutation ($id: String!) { decideShare(id: $id, approve: true) { releaseId } }',
      { id: share.requestShare.id },
    );
    const link = await gql<{ releaseDownload: { zipUrl: string } }>(
      'cole',
      'mutation ($id: String!) { releaseDownload(id: $id) { zipUrl } }',
      { id: decided.decideShare.releaseId },
    );
    const zipUrl = link.releaseDownload.zipUrl;
    const res = await fetch(zipUrl);
    assert.equal(res.status, 200);
    const zipPath = join(work.path, 'release.zip');
    writeFileSync(zipPath, Buffer.from(await res.arrayBuffer()));
    // Python's zipfile checks every CRC, then unpacks.
    execFileSync('/usr/bin/python3', ['-m', 'zipfile', '-t', zipPath]);
    const out = join(work.path, 'release');
    execFileSync('/usr/bin/python3', ['-m', 'zipfile', '-e', zipPath, out]);
    const manifest = JSON.parse(
      readFileSync(join(out, 'manifest.json'), 'utf8'),
    ) as { files: Array<{ path: string; sha256: string; size: number }> };
    const dicom = manifest.files.filter((f) => f.path.endsWith('.dcm'));
    assert.equal(dicom.length, truth.totals.instances);
    for (const f of dicom) {
      const bytes = readFileSync(join(out, f.path));
      assert.equal(bytes.length, f.size, f.path);
      assert.equal(sha256(bytes), f.sha256, f.path);
      assert.equal(bytes.subarray(128, 132).toString('latin1'), 'DICM');
    }
    const first = dicom[0]!;
    const one = zipUrl.replace(
      '/download.zip?',
      `/files/${encodeURIComponent(first.path)}?`,
    );
    const whole = await fetch(one);
    assert.equal(whole.status, 200);
    assert.equal(sha256(Buffer.from(await whole.arrayBuffer())), first.sha256);
    const range = await fetch(one, { headers: { range: 'bytes=128-131' } });
    assert.equal(range.status, 206);
    assert.equal(
      range.headers.get('content-range'),
      `bytes 128-131/${first.size}`,
    );
    assert.equal(
      Buffer.from(await range.arrayBuffer()).toString('latin1'),
      'DICM',
    );
  });

  it('runs a model over it: masks are sealed on disk and served decrypted, as pydicom reads the SEG', async () => {
    const series = instances[0]!.series;
    const sops = instances.filter((i) => i.series === series);
    const models = join(work.path, 'models');
    execFileSync('/usr/bin/python3', [
      join(REPO, 'datasets', 'make-model.py'),
      '--out',
      models,
    ]);
    const env = { LPACS_KEK_FILE: kekFile, LPACS_KEK: '' };
    const add = ['models', 'add', join(models, 'ct-threshold'), '--lake', lake];
    assert.equal((await runCli(add, env)).code, 0);
    const predict = ['predict', '--model', 'ct-threshold', '--series', series];
    const refused = await runCli([...predict, '--lake', lake], {
      LPACS_KEK_FILE: '',
      LPACS_KEK: '',
    });
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /KEK_REQUIRED/);
    assert.equal(readdirSync(lake).includes('masks'), false);
    assert.equal(readdirSync(join(lake, 'state')).includes('jobs'), false);
    const ran = await runCli([...predict, '--lake', lake], env);
    assert.equal(ran.code, 0, ran.stderr);
    const model = readdirSync(join(lake, 'masks'))[0]!;
    const cipher = LakeCipher.load(
      join(lake, 'keys', 'data-keys.json'),
      parseKek(readFileSync(kekFile), 'test'),
    );
    const masks = walk(join(lake, 'masks'));
    assert.equal(masks.length, sops.length * 2, '.npy and .seg.dcm each');
    for (const f of masks) {
      const sealed = readFileSync(f);
      assert.equal(sealed.subarray(0, 4).toString('latin1'), 'LPE1', f);
      assert.equal(sealed.includes(Buffer.from('DICM')), false, f);
    }
    let marked = 0;
    for (const { study, sop } of sops) {
      const seg = keyedMaskPath(lake, cipher, model, sop, 0, 'seg.dcm');
      const plain = join(work.path, `${sop}.seg.dcm`);
      writeFileSync(plain, cipher.open(readFileSync(seg), seg));
      const want = await readSeg(plain);
      assert.deepEqual(want.refs, [sop]);
      if (want.bits.includes('1')) marked++;
      const mask = await get(
        `/studies/${study}/series/${series}/instances/${sop}/frames/1/mask?model=${model}`,
        'image/png',
      );
      const got = await sharp(mask.body).toColourspace('b-w').raw().toBuffer();
      assert.ok(
        got.equals(
          Buffer.from(
            [...want.bits].map((b) => (b === '1' ? want.segments[0]! : 0)),
          ),
        ),
        sop,
      );
    }
    assert.ok(marked > 0, 'the model marked some pixels');
  });

  it('refuses every command without the KEK or with a wrong one, naming how to supply it, and writes nothing', async () => {
    const before = treeHashes(lake);
    const missing = { LPACS_KEK_FILE: '', LPACS_KEK: '' };
    const wrong = { LPACS_KEK_FILE: wrongKekFile, LPACS_KEK: '' };
    for (const args of [
      ['ingest', CT, '--lake', lake],
      ['status', '--lake', lake],
      ['users', 'list', '--lake', lake],
    ]) {
      const none = await runCli(args, missing);
      assert.equal(none.code, 1, args.join(' '));
      assert.match(none.stderr, new RegExp(LakeErrorCode.KekRequired));
      assert.match(none.stderr, /LPACS_KEK_FILE/);
      const bad = await runCli(args, wrong);
      assert.equal(bad.code, 1, args.join(' '));
      assert.match(bad.stderr, new RegExp(LakeErrorCode.KekWrong));
      assert.match(bad.stderr, /--kek-file/);
    }
    assert.deepEqual(treeHashes(lake), before);
    const noKek = await runCli(
      ['init', '--lake', join(work.path, 'never'), '--encrypt'],
      missing,
    );
    assert.equal(noKek.code, 1);
    assert.match(noKek.stderr, /KEK_REQUIRED/);
    assert.deepEqual(readdirSync(work.path).includes('never'), false);
  });

  it('rotates its KEK without touching objects: the new KEK opens every object, the old one fails', async () => {
    // A rotation (and the compaction and erasure below) needs the lake
    // alone: the server is stopped first, as an operator would.
    await api.close();
    apiClosed = true;
    const objects = walk(join(lake, 'objects'));
    const before = new Map(objects.map((f) => [f, sha256(readFileSync(f))]));
    const rotate = await runCli(
      ['keys', 'rotate', '--lake', lake, '--new-kek-file', newKekFile],
      { LPACS_KEK_FILE: kekFile, LPACS_KEK: '' },
    );
    assert.equal(rotate.code, 0, rotate.stderr);
    assert.match(rotate.stdout, /re-wrapped 1 data key/);
    // Each audit line is an entry sealed under the lake's data key.
    const auditCipher = LakeCipher.load(
      join(lake, 'keys', 'data-keys.json'),
      parseKek(readFileSync(newKekFile), 'new'),
    );
    const audited = readFileSync(join(lake, 'audit', 'audit.ndjson'), 'utf8')
      .split('\n')
      .filter(Boolean)
      .map(
        (l) =>
          JSON.parse(
            auditCipher.open(Buffer.from(l, 'base64'), 'audit').toString(),
          ) as { action: string; outcome: string },
      );
    assert.deepEqual(
      audited.filter((e) => e.action === 'keys.rotate').map((e) => e.outcome),
      ['ok'],
    );
    for (const f of objects)
      assert.equal(sha256(readFileSync(f)), before.get(f), 'object rewritten');
    const dataKeys = join(lake, 'keys', 'data-keys.json');
    const cipher = LakeCipher.load(
      dataKeys,
      parseKek(readFileSync(newKekFile), 'new'),
    );
    for (const f of objects)
      assert.equal(
        sha256(cipher.open(readFileSync(f), f)),
        basename(f, '.dcm'),
      );
    assert.throws(
      () => LakeCipher.load(dataKeys, parseKek(readFileSync(kekFile), 'old')),
      { code: LakeErrorCode.KekWrong },
    );
    const old = await runCli(['status', '--lake', lake], {
      LPACS_KEK_FILE: kekFile,
      LPACS_KEK: '',
    });
    assert.equal(old.code, 1);
    assert.match(old.stderr, /KEK_WRONG/);
    // The site secret opens under the new KEK: the same input gives the
    // same pseudonyms and bytes, so a rerun skips every instance.
    const again = await runCli(['ingest', CT, '--lake', lake, '--json'], {
      LPACS_KEK: readFileSync(newKekFile, 'utf8'),
      LPACS_KEK_FILE: '',
    });
    assert.equal(again.code, 0, again.stderr);
    assert.equal(
      (JSON.parse(again.stdout) as { skipped: number }).skipped,
      truth.totals.instances,
    );
  });

  it('backs up as ciphertext and restores with every checksum verified, the KEK checked first', async () => {
    const newKek = { LPACS_KEK_FILE: newKekFile, LPACS_KEK: '' };
    const backup = join(work.path, 'backup');
    for (let k = 0; k < 2; k++) {
      const run = await runCli(['backup', backup, '--lake', lake], newKek);
      assert.equal(run.code, 0, run.stderr);
    }
    // The backup holds the objects as the lake does: sealed.
    for (const f of walk(join(lake, 'objects')))
      assert.deepEqual(
        readFileSync(join(backup, relative(lake, f))),
        readFileSync(f),
      );
    const target = join(work.path, 'restored');
    const refused = await runCli(['restore', backup, '--lake', target], {
      LPACS_KEK_FILE: kekFile,
      LPACS_KEK: '',
    });
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /KEK_WRONG/);
    assert.equal(readdirSync(work.path).includes('restored'), false);
    const restore = await runCli(['restore', backup, '--lake', target], newKek);
    assert.equal(restore.code, 0, restore.stderr);
    const status = await runCli(['status', '--lake', target, '--json'], newKek);
    assert.equal(status.code, 0, status.stderr);
    assert.equal(
      (JSON.parse(status.stdout) as { instances: number }).instances,
      truth.totals.instances,
    );
  });

  it('compacts and erases with its tables encrypted: every rewrite under a key of its own, rows kept or gone exactly', async () => {
    const env = { LPACS_KEK_FILE: newKekFile, LPACS_KEK: '' };
    const more = await runCli(
      ['ingest', SAMPLE, '--lake', lake, '--json'],
      env,
    );
    assert.equal(more.code, 0, more.stderr);
    const added = (JSON.parse(more.stdout) as { ingested: number }).ingested;
    assert.ok(added > 0);
    const keysOf = () =>
      new Set(
        walk(join(lake, 'tables'))
          .map((f) => /\.k([0-9a-f]{16})\.parquet$/.exec(f)?.[1])
          .filter(Boolean),
      );
    const before = keysOf();
    assert.ok(before.size >= 2, 'the two ingests wrote under two keys');
    const count = async () =>
      (
        JSON.parse(
          (await runCli(['status', '--lake', lake, '--json'], env)).stdout,
        ) as { instances: number }
      ).instances;
    const total = await count();
    assert.equal(total, truth.totals.instances + added);
    const compact = await runCli(['compact', '--lake', lake], env);
    assert.equal(compact.code, 0, compact.stderr);
    // The current version, behind the table's link (the previous one
    // stays for readers in flight).
    const instanceFiles = walk(realpathSync(join(lake, 'tables', 'instances')));
    assert.equal(instanceFiles.length, 1);
    const merged = /\.k([0-9a-f]{16})\.parquet$/.exec(instanceFiles[0]!)![1]!;
    assert.equal(before.has(merged), false, 'the compaction wrote a new key');
    assert.equal(await count(), total);
    const victim = instances[0]!.patient;
    const own = instances.filter((i) => i.patient === victim).length;
    // The masks the model job made of the victim's instances, at the names
    // the lake's names key gives them.
    const cipher = LakeCipher.load(
      join(lake, 'keys', 'data-keys.json'),
      parseKek(readFileSync(newKekFile), 'test'),
    );
    const model = readdirSync(join(lake, 'masks'))[0]!;
    const masks = instances
      .filter((i) => i.patient === victim && i.series === instances[0]!.series)
      .flatMap((i) =>
        (['npy', 'seg.dcm'] as const).map((kind) =>
          keyedMaskPath(lake, cipher, model, i.sop, 0, kind),
        ),
      );
    assert.ok(masks.length > 0);
    assert.deepEqual(
      masks.filter((m) => !existsSync(m)),
      [],
    );
    const erase = await runCli(
      [
        'erase',
        '--patient',
        victim,
        '--reason',
        'consent withdrawn',
        '--lake',
        lake,
      ],
      env,
    );
    assert.equal(erase.code, 0, erase.stderr);
    assert.equal(await count(), total - own);
    assert.deepEqual(
      masks.filter((m) => existsSync(m)),
      [],
      'masks erased',
    );
    for (const f of walk(join(lake, 'tables')).filter((p) =>
      p.endsWith('.parquet'),
    ))
      assert.equal(readFileSync(f).subarray(0, 4).toString('latin1'), 'PARE');
    assert.deepEqual(holders(lake, Buffer.from(victim)), []);
    // After queries, a saved cohort, a share, a release, a model job, a
    // backup, a compaction and an erasure: no UID, pseudonym, SOP class,
    // user name or action in any file of the lake (state documents, job
    // records, releases and the audit log are sealed too).
    const words = [
      ...new Set(
        instances.flatMap((i) => [i.study, i.series, i.sop, i.patient]),
      ),
      '1.2.840.10008.5.1.4.1.1.2',
      'steward',
      'release.download',
      'cohort.save',
    ];
    for (const w of words)
      assert.deepEqual(holders(lake, Buffer.from(w)), [], w);
    const audit = await runCli(['audit', 'verify', '--lake', lake], env);
    assert.equal(audit.code, 0, audit.stderr);
    assert.match(audit.stdout, /audit log intact: \d+ entries/);
  });
});
