import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { lstatSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { after, before, describe, it } from 'node:test';
import sharp from 'sharp';
import { LakeCipher, parseKek } from '@lpacs/lake';
import {
  CLI,
  CT,
  dcmdump,
  filesUnder,
  makeModels,
  runCli,
  startUntil,
  tempDir,
} from './helpers';
import { keyedMaskPath } from './maskNamesTruth';
import { readSeg } from './segTruth';

// A copy of an encrypted lake, or of its backup, without the KEK must
// show nothing of the data (docs/encryption.md): not in any file's bytes
// and not in any file or folder name. A trial found masks named after
// their instances' SOP Instance UIDs (the hospital's own ones in a lake
// that retains UIDs), listed again in every backup manifest, and the
// first admin's password left in the clear by `lpacs serve`. Here a lake
// goes through init, ingest, a segmentation model's job, a first serve
// off a terminal (which makes the admin) and a backup; then every name
// and every byte of the lake and of the backup is searched for the
// instances' UIDs (as sent, read by dcmdump, and as stored, read through
// lpacs sql), their PatientIDs and the admin's password, and every file
// is accounted for: sealed, or one docs/encryption.md lists as clear.

const work = tempDir('encrypt-names');
after(() => work.remove());
const kekFile = join(work.path, 'kek.hex');
const models = join(work.path, 'models');
const input = join(CT, 'P0001');
const ADDRESS = /at (http:\/\/127\.0\.0\.1:\d+)\/graphql/;

before(async () => {
  writeFileSync(kekFile, randomBytes(32).toString('hex') + '\n');
  await makeModels(models);
});

/** Every file under `dir`, relative to it; symbolic links left out. */
function walk(dir: string, root = dir): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    const s = lstatSync(path);
    if (s.isSymbolicLink()) return [];
    return s.isDirectory() ? walk(path, root) : [relative(root, path)];
  });
}

/** Every name under `dir`, folders and links too, relative to it. */
function names(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' });
}

const sealed = (b: Buffer) =>
  b.length >= 40 && b.subarray(0, 4).toString('latin1') === 'LPE1';

const HEX = (n: number) => `[0-9a-f]{${n}}`;
const BATCH = '\\d{8}T\\d{6}Z-[0-9a-f]{8}';
/** Files docs/encryption.md lists as in the clear, relative to the lake. */
const CLEAR = new RegExp(
  `^(?:lake\\.json|keys/data-keys\\.json|models/${HEX(64)}/(?:model\\.onnx|manifest\\.json|registration\\.json)|state/last-backup\\.json|state/last-erasure\\.json|state/backups/${HEX(16)}\\.json|locks/.*)$`,
);
/** Names of sealed files: fixed words, hex digests, batch ids. */
const SEALED = new RegExp(
  `^(?:objects/${HEX(2)}/${HEX(64)}\\.dcm|masks/${HEX(64)}/${HEX(32)}-\\d+\\.(?:npy|seg\\.dcm)|keys/(?:site|mask-names)\\.key|keys/tables/${HEX(16)}\\.key|keys/linkage/${BATCH}\\.ndjson|state/(?:access|sharing|audit-head|sign-in-failures)\\.json|state/first-admin-password|state/jobs/${BATCH}(?:\\.inputs)?\\.json)$`,
);
const TABLE = new RegExp(
  `^tables/\\.?[a-z]+(?:\\.v\\d+)?/batch=${BATCH}/part-0\\.k${HEX(16)}\\.parquet$`,
);

/** Why a lake file is neither sealed nor documented as clear, or undefined. */
function unexplained(path: string, bytes: Buffer): string | undefined {
  if (CLEAR.test(path)) return undefined;
  if (TABLE.test(path)) {
    const ends = [bytes.subarray(0, 4), bytes.subarray(-4)];
    return ends.every((e) => e.toString('latin1') === 'PARE')
      ? undefined
      : 'a table file without Parquet encryption';
  }
  if (path === 'audit/audit.ndjson') {
    const lines = bytes.toString('latin1').split('\n').filter(Boolean);
    return lines.every((l) => sealed(Buffer.from(l, 'base64')))
      ? undefined
      : 'an audit line that is not sealed';
  }
  if (!SEALED.test(path)) return 'a name docs/encryption.md does not list';
  return sealed(bytes) ? undefined : 'not sealed';
}

for (const retain of [false, true]) {
  describe(`an encrypted lake${retain ? ' that retains UIDs' : ''}, after a model's job, a first serve and a backup`, () => {
    const lake = join(work.path, retain ? 'retained' : 'lake');
    const dest = join(work.path, retain ? 'retained-backup' : 'backup');
    const env = { LPACS_KEK_FILE: kekFile, LPACS_KEK: '' };
    const cli = async (args: string[]) => {
      const r = await runCli([...args, '--lake', lake], env);
      assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
      return r.stdout;
    };
    let password = '';
    let stored: Array<Record<string, string>> = [];
    let model = '';
    /** What the server answered for frame 1's mask, by SOP Instance UID. */
    const served = new Map<string, { status: number; body: Buffer }>();

    it('is made, ingested, predicted on, served once off a terminal and backed up', async () => {
      await cli(['init', '--encrypt', ...(retain ? ['--retain', 'uids'] : [])]);
      await cli(['ingest', input]);
      await cli(['models', 'add', join(models, 'ct-threshold')]);
      model = createHash('sha256')
        .update(readFileSync(join(models, 'ct-threshold', 'model.onnx')))
        .digest('hex');
      await cli(['predict', '--model', 'ct-threshold']);
      stored = JSON.parse(
        await cli([
          'sql',
          `SELECT "StudyInstanceUID" AS study, "SeriesInstanceUID" AS series,
                  "SOPInstanceUID" AS sop, "PatientID" AS patient FROM instances`,
          '--json',
        ]),
      ) as Array<Record<string, string>>;
      assert.equal(
        stored.length,
        filesUnder(input).filter((f) => f.endsWith('.dcm')).length,
      );
      // Its output is a pipe, not a terminal: the first admin's password
      // goes into the lake.
      const serve = await startUntil(
        process.execPath,
        [CLI, 'serve', '--lake', lake, '--port', '0', '--kek-file', kekFile],
        (o) => ADDRESS.test(o) && /create an API token/.test(o),
      );
      try {
        password = (await cli(['users', 'first-password'])).trim();
        assert.ok(password.length >= 16);
        assert.ok(!serve.out.includes(password), 'the password is printed');
        const base = ADDRESS.exec(serve.out)![1]!;
        const signIn = await fetch(`${base}/auth/sign-in`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ name: 'admin', password }),
        });
        await signIn.text();
        assert.equal(signIn.status, 200, "the password is the admin's");
        const token = /^(lpat_\S+)/m.exec(
          await cli(['tokens', 'create', 'admin']),
        )![1]!;
        for (const { study, series, sop } of stored) {
          const res = await fetch(
            `${base}/dicomweb/studies/${study}/series/${series}/instances/${sop}/frames/1/mask?model=${model}`,
            { headers: { authorization: `Bearer ${token}` } },
          );
          const body = Buffer.from(await res.arrayBuffer());
          served.set(sop!, { status: res.status, body });
        }
      } finally {
        await serve.stop();
      }
      await cli(['backup', dest]);
    });

    it('served the masks through the real server as pydicom reads the SEGs at their keyed names', async () => {
      assert.equal(served.size, stored.length);
      const cipher = LakeCipher.load(
        join(lake, 'keys', 'data-keys.json'),
        parseKek(readFileSync(kekFile), 'test'),
      );
      let marked = 0;
      for (const { sop } of stored) {
        const seg = keyedMaskPath(lake, cipher, model, sop!, 0, 'seg.dcm');
        const plain = join(work.path, 'seg.dcm');
        writeFileSync(plain, cipher.open(readFileSync(seg), seg));
        const want = await readSeg(plain);
        assert.deepEqual(want.refs, [sop]);
        if (want.bits.includes('1')) marked++;
        const answer = served.get(sop!)!;
        assert.equal(answer.status, 200, sop);
        const got = await sharp(answer.body)
          .toColourspace('b-w')
          .raw()
          .toBuffer();
        const expected = Buffer.from(
          [...want.bits].map((b) => (b === '1' ? want.segments[0]! : 0)),
        );
        assert.ok(got.equals(expected), sop);
        // The .npy beside it is where the keyed name says.
        const npy = keyedMaskPath(lake, cipher, model, sop!, 0, 'npy');
        assert.ok(sealed(readFileSync(npy)), npy);
      }
      assert.ok(marked > 0, 'the model marked some pixels');
    });

    it('shows no UID, PatientID or the admin password in any name or byte of the lake or its backup', () => {
      assert.ok(password && stored.length, 'the lake was made');
      const needles = new Set<string>([password]);
      for (const r of stored)
        for (const k of ['study', 'series', 'sop', 'patient'])
          if (r[k]) needles.add(r[k]);
      for (const file of filesUnder(input).filter((f) => f.endsWith('.dcm'))) {
        const values = dcmdump(file, [
          '0020,000d',
          '0020,000e',
          '0008,0018',
          '0010,0020',
        ])!;
        for (const v of Object.values(values)) if (v) needles.add(v);
      }
      // The UIDs as sent and as stored: the same in a lake that retains
      // them, pseudonymised (and searched for both) otherwise.
      const sent = new Set(
        filesUnder(input).map((f) => dcmdump(f, ['0008,0018'])!['0008,0018']),
      );
      const kept = stored.filter((r) => sent.has(r.sop!)).length;
      assert.equal(kept, retain ? stored.length : 0);
      const found: string[] = [];
      for (const root of [lake, dest]) {
        for (const name of names(root))
          for (const n of needles)
            if (name.includes(n)) found.push(`name ${root}/${name} has ${n}`);
        for (const file of walk(root)) {
          const bytes = readFileSync(join(root, file));
          for (const n of needles)
            if (bytes.includes(n))
              found.push(`bytes of ${root}/${file} have ${n}`);
        }
      }
      assert.deepEqual(found, []);
    });

    it('holds no file, in the lake or its backup, that is neither sealed nor listed as clear', () => {
      const problems: string[] = [];
      for (const file of walk(lake)) {
        const why = unexplained(file, readFileSync(join(lake, file)));
        if (why) problems.push(`${file}: ${why}`);
      }
      // The backup: snapshot manifests and DuckDB views (listed as clear),
      // objects and tables as in the lake, every other file of the lake as
      // a blob named by its SHA-256.
      const manifests = walk(dest).filter((f) =>
        /^snapshots\/.*\.json$/.test(f),
      );
      assert.ok(manifests.length > 0);
      const paths = new Map<string, string>();
      for (const m of manifests) {
        const snapshot = JSON.parse(readFileSync(join(dest, m), 'utf8')) as {
          files: Array<{ path: string; sha256: string }>;
        };
        for (const f of snapshot.files) {
          paths.set(f.sha256, f.path);
          const listed = [CLEAR, TABLE, SEALED, /^audit\/audit\.ndjson$/];
          if (!listed.some((r) => r.test(f.path)))
            problems.push(`${m} lists ${f.path}, a name not documented`);
        }
      }
      for (const file of walk(dest)) {
        const bytes = readFileSync(join(dest, file));
        if (/^snapshots\/[0-9TZ]+\.(?:json|duckdb\.sql)$/.test(file)) continue;
        if (/^locks\//.test(file)) continue;
        const blob = /^blobs\/([0-9a-f]{64})$/.exec(file)?.[1];
        if (blob) {
          const of = paths.get(blob) ?? '';
          const why = unexplained(of, bytes);
          if (why) problems.push(`${file} (${of || 'in no manifest'}): ${why}`);
          continue;
        }
        const why = unexplained(file, bytes);
        if (why) problems.push(`${file}: ${why}`);
      }
      assert.deepEqual(problems, []);
    });
  });
}
