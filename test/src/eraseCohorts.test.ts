import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import {
  lstatSync,
  readFileSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { join, relative } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { AuditLog, Role } from '@lpacs/access';
import { LinkageReader, startServer } from '@lpacs/api';
import type { RunningServer } from '@lpacs/api';
import { readObject } from '@lpacs/lake';
import {
  SharingStore,
  readReleaseManifest,
  releaseInstanceUIDs,
} from '@lpacs/sharing';
import type { FrozenInstance } from '@lpacs/sharing';
import {
  CT,
  dcmdump,
  filesUnder,
  gqlResult,
  independentCounts,
  parquetRows,
  runCli,
  tempDir,
  tokenFor,
} from './helpers';

// Issue #8: an erasure must reach saved cohorts. Patient X is in two
// cohorts (with Y, and alone, both chosen by a filter naming X's
// pseudonym) and in pending share requests; after `lpacs erase` the
// cohorts hold no trace of X, their counts are those of the corpus files
// left (dcmdump), the share of X and Y releases Y exactly and the share of
// X alone is refused with a clear error. Run on a lake in the clear and on
// an encrypted one, whose state is read back through the lake's keys.

interface LakeInstance {
  patient: string;
  study: string;
  series: string;
  sop: string;
}

const ctFiles = filesUnder(CT).filter((f) => f.endsWith('.dcm'));
const inAYear = new Date(Date.now() + 200 * 86_400_000)
  .toISOString()
  .slice(0, 10);

/** Every regular file under `dir` (symbolic links not followed). */
function walk(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    const s = lstatSync(path);
    if (s.isSymbolicLink()) return [];
    return s.isDirectory() ? walk(path) : [path];
  });
}

/** A filter selecting the instances of the patients `ids` (PatientID, 0010,0020). */
function patientsFilter(ids: string[]): object {
  return {
    anyOf: ids.map((id) => ({
      attribute: [{ keyword: 'PatientID', op: 'EQ', value: id }],
    })),
  };
}

function eraseSuite(kind: 'clear' | 'encrypted'): void {
  describe(`erasing a patient held in saved cohorts (${kind} lake)`, () => {
    const work = tempDir(`erase-cohorts-${kind}`);
    const lake = join(work.path, 'lake');
    const kekFile = join(work.path, 'kek.hex');
    const env: Record<string, string> =
      kind === 'encrypted' ? { LPACS_KEK_FILE: kekFile, LPACS_KEK: '' } : {};
    const token: Record<string, string> = {};
    let server: RunningServer;
    let instances: LakeInstance[] = [];
    let x = '';
    let y = '';
    let z = '';
    const cohort = { both: '', alone: '' };
    const share = { both: '', alone: '' };

    function gql<T>(who: string, query: string, variables?: object) {
      return gqlResult<T>(server.url, token[who]!, query, variables);
    }

    async function ok<T>(
      who: string,
      query: string,
      variables?: object,
    ): Promise<T> {
      const r = await gql<T>(who, query, variables);
      assert.equal(r.errors, undefined, JSON.stringify(r.errors));
      return r.data!;
    }

    async function saveCohort(name: string, ids: string[]): Promise<string> {
      const saved = await ok<{ saveCohort: { id: string } }>(
        'rita',
        'mutation ($n: String!, $f: CohortFilter) { saveCohort(name: $n, filter: $f) { id } }',
        { n: name, f: patientsFilter(ids) },
      );
      return saved.saveCohort.id;
    }

    async function requestShare(cohortId: string): Promise<string> {
      const r = await ok<{ requestShare: { id: string } }>(
        'rita',
        'mutation ($c: String!, $e: String!) { requestShare(cohortId: $c, collaborator: "cole", purpose: "external validation", expiresAt: $e) { id } }',
        { c: cohortId, e: inAYear },
      );
      return r.requestShare.id;
    }

    /** The corpus files of the patient a pseudonym stands for, by the linkage and dcmdump. */
    function corpusFilesOf(pseudonym: string): string[] {
      const original = new LinkageReader(lake).lookup(pseudonym)?.patientID;
      assert.ok(original, `no linkage for ${pseudonym}`);
      return ctFiles.filter(
        (f) => dcmdump(f, ['0010,0020'])?.['0010,0020'] === original,
      );
    }

    const of = (p: string) => instances.filter((i) => i.patient === p);

    before(async () => {
      if (kind === 'encrypted') {
        writeFileSync(kekFile, `${randomBytes(32).toString('hex')}\n`);
        const init = await runCli(
          ['init', '--lake', lake, '--encrypt', '--kek-file', kekFile],
          env,
        );
        assert.equal(init.code, 0, init.stderr);
        // The server and the test's reads take the KEK from the environment.
        process.env.LPACS_KEK_FILE = kekFile;
        delete process.env.LPACS_KEK;
      }
      const run = await runCli(['ingest', CT, '--lake', lake, '--json'], env);
      assert.equal(run.code, 0, run.stderr);
      for (const [name, role] of [
        ['rita', Role.Researcher],
        ['sam', Role.Steward],
        ['cole', Role.Collaborator],
      ] as const)
        token[name] = await tokenFor(lake, role, name);
      server = await startServer({ lake, host: '127.0.0.1', port: 0 });
      // Every instance with its patient, as QIDO-RS lists them.
      const res = await fetch(
        `${server.url.replace(/graphql$/, 'dicomweb')}/instances?limit=1000&includefield=PatientID`,
        {
          headers: {
            authorization: `Bearer ${token.rita}`,
            accept: 'application/dicom+json',
          },
        },
      );
      assert.equal(res.status, 200);
      const json = (await res.json()) as Array<
        Record<string, { Value?: unknown[] }>
      >;
      const value = (i: (typeof json)[number], tag: string) =>
        String(i[tag]?.Value?.[0] ?? '');
      instances = json.map((i) => ({
        patient: value(i, '00100020'),
        study: value(i, '0020000D'),
        series: value(i, '0020000E'),
        sop: value(i, '00080018'),
      }));
      assert.equal(instances.length, ctFiles.length);
      [x, y, z] = [...new Set(instances.map((i) => i.patient))].sort() as [
        string,
        string,
        string,
      ];
      assert.ok(x && y && z);
      cohort.both = await saveCohort('X and Y', [x, y]);
      cohort.alone = await saveCohort('X alone', [x]);
      share.both = await requestShare(cohort.both);
      share.alone = await requestShare(cohort.alone);
      const store = new SharingStore(lake);
      assert.equal(
        (await store.cohortInstances(cohort.both)).length,
        of(x).length + of(y).length,
      );
      // An erasure needs the lake alone: the server stops for it and
      // starts again after, as docs/ops.md says.
      await server.close();
      const erase = await runCli(
        [
          ...['erase', '--patient', x, '--reason', 'consent withdrawn'],
          ...['--lake', lake, '--json'],
        ],
        env,
      );
      assert.equal(erase.code, 0, erase.stderr);
      server = await startServer({ lake, host: '127.0.0.1', port: 0 });
    });

    after(async () => {
      await server?.close();
      delete process.env.LPACS_KEK_FILE;
      work.remove();
    });

    it('takes the erased instances out of every frozen list', async () => {
      const store = new SharingStore(lake);
      const both = await store.cohortInstances(cohort.both);
      assert.deepEqual(
        both.map((i) => i.SOPInstanceUID).sort(),
        of(y)
          .map((i) => i.sop)
          .sort(),
      );
      assert.deepEqual(await store.cohortInstances(cohort.alone), []);
    });

    it('recounts each cohort from what is left and says how much was erased', async () => {
      const expected = independentCounts(corpusFilesOf(y));
      assert.equal(expected.instances, of(y).length);
      const listed = await ok<{
        savedCohorts: Array<{
          id: string;
          counts: object;
          erased: { instances: number; at: string } | null;
        }>;
      }>(
        'rita',
        '{ savedCohorts { id counts { patients studies series instances } erased { instances at } } }',
      );
      const byId = new Map(listed.savedCohorts.map((c) => [c.id, c]));
      assert.deepEqual(byId.get(cohort.both)?.counts, expected);
      assert.deepEqual(byId.get(cohort.alone)?.counts, {
        patients: 0,
        studies: 0,
        series: 0,
        instances: 0,
      });
      assert.equal(byId.get(cohort.both)?.erased?.instances, of(x).length);
      assert.equal(byId.get(cohort.alone)?.erased?.instances, of(x).length);
      // The stored document says the same as the API.
      const stored = new SharingStore(lake).cohort(cohort.both);
      assert.deepEqual(stored.counts, expected);
      if (kind === 'clear') {
        // And the lake's own tables, read by a DuckDB of the test's own.
        const [row] = await parquetRows(
          `SELECT count(DISTINCT "PatientID") AS patients, count(DISTINCT "StudyInstanceUID") AS studies,
             count(DISTINCT "SeriesInstanceUID") AS series, count(*) AS instances
           FROM read_parquet('${lake}/tables/instances/*/*.parquet') WHERE "PatientID" = '${y}'`,
        );
        assert.deepEqual(
          Object.fromEntries(
            Object.entries(row!).map(([k, v]) => [k, Number(v)]),
          ),
          expected,
        );
      }
    });

    it('audits how many cohorts the erasure changed, naming no instance', () => {
      const [entry] = new AuditLog(lake).query({ action: 'erase.patient' });
      assert.equal(entry?.detail?.cohortsChanged, 2);
      assert.equal(entry?.detail?.instances, of(x).length);
    });

    it('approves the pending share of X and Y as a release of Y exactly', async () => {
      const decided = await ok<{
        decideShare: { status: string; releaseId: string };
      }>(
        'sam',
        'mutation ($id: String!) { decideShare(id: $id, approve: true) { status releaseId } }',
        { id: share.both },
      );
      assert.equal(decided.decideShare.status, 'approved');
      const manifest = await readReleaseManifest(
        lake,
        decided.decideShare.releaseId,
      );
      assert.deepEqual(
        releaseInstanceUIDs(manifest).sort(),
        of(y)
          .map((i) => i.sop)
          .sort(),
      );
      assert.deepEqual(manifest.counts, independentCounts(corpusFilesOf(y)));
    });

    it('refuses the share of X alone: nothing is left after the erasure', async () => {
      const r = await gql<unknown>(
        'sam',
        'mutation ($id: String!) { decideShare(id: $id, approve: true) { status } }',
        { id: share.alone },
      );
      assert.equal(r.errors?.[0]?.extensions?.code, 'BAD_USER_INPUT');
      assert.match(
        r.errors?.[0]?.message ?? '',
        new RegExp(
          `cohort ${cohort.alone} has no instances left after an erasure`,
        ),
      );
      assert.equal(new SharingStore(lake).share(share.alone).status, 'pending');
      const entries = new AuditLog(lake)
        .query({ action: 'share.decide' })
        .filter((e) => e.target === share.alone);
      assert.deepEqual(
        entries.map((e) => [e.outcome, e.detail?.error]),
        [['failed', 'BAD_USER_INPUT']],
      );
    });

    it('leaves no byte naming X or its instances in any file of the lake', async () => {
      const needles = [x, ...of(x).map((i) => i.sop)];
      const found: string[] = [];
      for (const file of walk(lake)) {
        const key = relative(lake, file);
        // Read entry by entry below.
        if (key === 'audit/audit.ndjson') continue;
        const texts: Buffer[] = [readFileSync(file)];
        // What an encrypted lake seals, opened with its keys.
        if (kind === 'encrypted' && !key.endsWith('.parquet'))
          texts.push(await readObject(lake, key).catch(() => Buffer.alloc(0)));
        for (const text of texts)
          for (const n of needles) if (text.includes(n)) found.push(key);
      }
      for (const e of new AuditLog(lake).entries()) {
        // The erasure's own entry names X: a rerun after a restore
        // (erase --replay-from) and "already erased" need the pseudonym.
        const own = e.action === 'erase.patient' && e.target === x;
        const text = JSON.stringify({ ...e, target: own ? '' : e.target });
        for (const n of needles) if (text.includes(n)) found.push('audit');
      }
      if (kind === 'clear')
        for (const f of walk(join(lake, 'tables')).filter((p) =>
          p.endsWith('.parquet'),
        )) {
          const [r] = await parquetRows(
            `SELECT count(*) AS n FROM read_parquet('${f}') WHERE "SOPInstanceUID" IN (${of(
              x,
            )
              .map((i) => `'${i.sop}'`)
              .join(', ')})`,
          ).catch(() => [{ n: 0 }]); // tables without the column
          if (Number(r?.n)) found.push(relative(lake, f));
        }
      // Only the tombstone (and the erasure's audit entry) names X, by
      // design: X's files are refused from now on. An encrypted lake seals
      // both.
      const tombstone = 'state/erased-patients.json';
      assert.deepEqual([...new Set(found)], [tombstone]);
      if (kind === 'encrypted')
        for (const sealed of [tombstone, 'audit/audit.ndjson'])
          assert.ok(!readFileSync(join(lake, sealed)).includes(x), sealed);
    });

    it('names the cohort and counts the missing objects when an object of a frozen list is gone', async () => {
      const third = await saveCohort('Z', [z]);
      const shareId = await requestShare(third);
      const lost = (await new SharingStore(lake).cohortInstances(third))
        .slice(0, 3)
        .map((i) => i.object_key);
      for (const key of lost) rmSync(join(lake, key));
      const r = await gql<unknown>(
        'sam',
        'mutation ($id: String!) { decideShare(id: $id, approve: true) { status } }',
        { id: shareId },
      );
      assert.equal(r.errors?.[0]?.extensions?.code, 'OBJECTS_MISSING');
      const message = r.errors?.[0]?.message ?? '';
      assert.match(message, new RegExp(`cohort ${third}`));
      assert.match(message, /\b3 of its 16 objects\b/);
      for (const i of of(z)) assert.ok(!message.includes(i.sop), message);
      assert.ok(!message.includes('objects/'), message);
      assert.equal(new SharingStore(lake).share(shareId).status, 'pending');
      const [entry] = new AuditLog(lake)
        .query({ action: 'share.decide' })
        .filter((e) => e.target === shareId);
      assert.equal(entry?.outcome, 'failed');
      assert.equal(entry?.detail?.error, 'OBJECTS_MISSING');
      assert.equal(entry?.detail?.missingObjects, 3);
      assert.deepEqual(
        readdirSync(join(lake, 'releases')).filter((n) => n.startsWith('.')),
        [],
      );
    });
  });
}

eraseSuite('clear');
eraseSuite('encrypted');

describe('an erasure whose saved cohorts cannot be updated', () => {
  const work = tempDir('erase-cohorts-broken');
  const lake = join(work.path, 'lake');
  after(() => work.remove());

  it('is still audited, says what was not updated and exits 1', async () => {
    const run = await runCli(['ingest', CT, '--lake', lake, '--json']);
    assert.equal(run.code, 0, run.stderr);
    const from = `read_parquet('${lake}/tables/instances/*/*.parquet')`;
    const rows = await parquetRows(
      `SELECT "PatientID" AS p, "SOPInstanceUID", "SeriesInstanceUID", "StudyInstanceUID", object_key, sha256, size_bytes FROM ${from} ORDER BY 1, 2`,
    );
    const patient = String(rows[0]!.p);
    const store = new SharingStore(lake);
    const saved = await store.saveCohort(
      {
        name: 'all',
        owner: 'rita',
        filter: '{}',
        lakeVersion: 'test',
        counts: { patients: 3, studies: 6, series: 12, instances: 48 },
      },
      rows.map(({ p: _p, ...i }) => ({
        ...(i as Omit<FrozenInstance, 'size_bytes'>),
        size_bytes: Number(i.size_bytes),
      })),
    );
    // A list that no longer parses: the cohort step fails.
    writeFileSync(join(lake, 'state', 'cohorts', `${saved.id}.json`), '[{');
    const erase = await runCli([
      ...['erase', '--patient', patient, '--reason', 'consent withdrawn'],
      ...['--lake', lake],
    ]);
    assert.equal(erase.code, 1);
    assert.match(
      erase.stderr,
      /the data is erased, but saved cohorts could not be updated/,
    );
    const [left] = await parquetRows(
      `SELECT count(*) AS n FROM ${from} WHERE "PatientID" = '${patient}'`,
    );
    assert.equal(Number(left?.n), 0);
    const [entry] = new AuditLog(lake).query({ action: 'erase.patient' });
    assert.equal(entry?.outcome, 'ok');
    assert.equal(entry?.detail?.sharingNotUpdated, 'saved cohorts');
    assert.equal(
      entry?.detail?.instances,
      rows.filter((r) => r.p === patient).length,
    );
  });
});
