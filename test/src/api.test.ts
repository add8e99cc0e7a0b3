import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startServer } from '@lpacs/api';
import type { RunningServer } from '@lpacs/api';
import { Role } from '@lpacs/access';
import {
  CT,
  containsWord,
  dcmdump,
  parquetRows,
  phiNeedles,
  runCli,
  tempDir,
  copySampleAndCt,
  bearer,
  tokenFor,
} from './helpers';

const truth = JSON.parse(readFileSync(join(CT, 'truth.json'), 'utf8'));
const work = tempDir('api');
const lake = join(work.path, 'lake');
let server: RunningServer;
const responses: string[] = [];

interface GqlResult<T> {
  data?: T;
  errors?: Array<{
    message: string;
    extensions?: { code?: string; field?: string; stacktrace?: unknown };
  }>;
}

async function gql<T>(
  query: string,
  variables?: object,
): Promise<GqlResult<T>> {
  const res = await fetch(server.url, {
    method: 'POST',
    headers: bearer(token),
    body: JSON.stringify({ query, variables }),
  });
  const text = await res.text();
  responses.push(text);
  return JSON.parse(text) as GqlResult<T>;
}

interface StoredObject {
  study: string;
  modality: string;
  bodyPart: string;
  sex: string;
  studyDate: string;
  description: string;
}

/** The de-identified objects the lake indexes, read back with dcmdump (not through lpacs). */
async function storedObjects(): Promise<StoredObject[]> {
  const rows = await parquetRows(
    `SELECT object_key FROM read_parquet('${lake}/tables/instances/*/*.parquet')`,
  );
  return rows
    .map((r) => join(lake, String(r.object_key)))
    .map((file) => {
      const v = dcmdump(file, [
        '0020,000d',
        '0008,0060',
        '0018,0015',
        '0010,0040',
        '0008,0020',
        '0008,1030',
      ])!;
      const d = v['0008,0020'] ?? '';
      return {
        study: v['0020,000d']!,
        modality: v['0008,0060'] ?? '',
        bodyPart: (v['0018,0015'] ?? '').toUpperCase(),
        sex: v['0010,0040'] ?? '',
        studyDate:
          d.length === 8
            ? `${d.slice(0, 4)}-${d.slice(4, 6)}-${d.slice(6)}`
            : '',
        description: v['0008,1030'] ?? '',
      };
    });
}

function studiesWhere(
  objects: StoredObject[],
  test: (o: StoredObject) => boolean,
): string[] {
  return [...new Set(objects.filter(test).map((o) => o.study))].sort();
}

const COHORT = `query ($filter: CohortFilter, $first: Int, $after: String) {
  cohort(filter: $filter) {
    counts { patients studies series instances }
    studies(first: $first, after: $after) { nodes { studyInstanceUID patientID modalities } pageInfo { hasNextPage endCursor } }
  }
}`;

interface CohortData {
  cohort: {
    counts: {
      patients: number;
      studies: number;
      series: number;
      instances: number;
    };
    studies: {
      nodes: Array<{ studyInstanceUID: string }>;
      pageInfo: { hasNextPage: boolean; endCursor: string | null };
    };
  };
}

async function allStudies(filter: object | null): Promise<string[]> {
  const uids: string[] = [];
  let after: string | null = null;
  for (;;) {
    const r: GqlResult<CohortData> = await gql<CohortData>(COHORT, {
      filter,
      first: 3,
      after,
    });
    assert.equal(r.errors, undefined, JSON.stringify(r.errors));
    const page = r.data!.cohort.studies;
    uids.push(...page.nodes.map((n) => n.studyInstanceUID));
    if (!page.pageInfo.hasNextPage) return uids;
    after = page.pageInfo.endCursor;
  }
}

let objects: StoredObject[];
let token: string;

before(async () => {
  const input = join(work.path, 'input');
  copySampleAndCt(input);
  const run = await runCli(['ingest', input, '--lake', lake, '--json']);
  assert.equal(run.code, 0, run.stderr);
  token = await tokenFor(lake, Role.Researcher);
  server = await startServer({ lake, host: '127.0.0.1', port: 0 });
  objects = await storedObjects();
});
after(async () => {
  await server?.close();
  work.remove();
});

describe('GraphQL cohort API', () => {
  it('listens on 127.0.0.1 only', () => {
    assert.match(server.url, /^http:\/\/127\.0\.0\.1:\d+\/graphql$/);
  });

  it('counts the whole lake when no filter is given', async () => {
    const r = await gql<CohortData>(COHORT, {});
    const stored = new Set(objects.map((o) => o.study));
    assert.equal(r.data!.cohort.counts.instances, objects.length);
    assert.equal(r.data!.cohort.counts.studies, stored.size);
  });

  it('pages through every study exactly once', async () => {
    const uids = await allStudies(null);
    assert.deepEqual(
      [...uids].sort(),
      studiesWhere(objects, () => true),
    );
    assert.equal(new Set(uids).size, uids.length);
  });

  it('orders studies by date or size, both ways, paging through each once', async () => {
    const byDate = new Map<string, string>();
    const bySize = new Map<string, number>();
    for (const o of objects) {
      const d = byDate.get(o.study);
      if (o.studyDate && (!d || o.studyDate < d))
        byDate.set(o.study, o.studyDate);
      bySize.set(o.study, (bySize.get(o.study) ?? 0) + 1);
    }
    const all = [...new Set(objects.map((o) => o.study))];
    const page = async (order: string, descending: boolean) => {
      const out: string[] = [];
      let after: string | null = null;
      for (;;) {
        const r: GqlResult<{
          cohort: {
            studies: {
              nodes: Array<{ studyInstanceUID: string }>;
              pageInfo: { hasNextPage: boolean; endCursor: string };
            };
          };
        }> = await gql(
          `query ($after: String, $o: StudyOrder, $d: Boolean) { cohort { studies(first: 3, after: $after, orderBy: $o, descending: $d) { nodes { studyInstanceUID } pageInfo { hasNextPage endCursor } } } }`,
          { after, o: order, d: descending },
        );
        assert.equal(r.errors, undefined, JSON.stringify(r.errors));
        out.push(
          ...r.data!.cohort.studies.nodes.map((n) => n.studyInstanceUID),
        );
        if (!r.data!.cohort.studies.pageInfo.hasNextPage) return out;
        after = r.data!.cohort.studies.pageInfo.endCursor;
      }
    };
    // Expected orders computed here from dcmdump's values; UID breaks ties,
    // studies without a date come last.
    const cmpUid = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
    const dateAsc = [...all].sort(
      (a, b) =>
        cmpUid(byDate.get(a) ?? '~', byDate.get(b) ?? '~') || cmpUid(a, b),
    );
    assert.deepEqual(await page('STUDY_DATE', false), dateAsc);
    const sizeDesc = [...all].sort(
      (a, b) => bySize.get(b)! - bySize.get(a)! || cmpUid(b, a),
    );
    assert.deepEqual(await page('INSTANCE_COUNT', true), sizeDesc);
    const first = await gql<{
      cohort: { studies: { pageInfo: { endCursor: string } } };
    }>(
      '{ cohort { studies(first: 2, orderBy: STUDY_DATE) { pageInfo { endCursor } } } }',
    );
    const mixed = await gql(
      'query ($a: String) { cohort { studies(first: 2, after: $a) { nodes { studyInstanceUID } } } }',
      { a: first.data!.cohort.studies.pageInfo.endCursor },
    );
    assert.match(mixed.errors?.[0]?.message ?? '', /ordered by STUDY_DATE/);
  });

  it('filters by modality', async () => {
    assert.deepEqual(
      (await allStudies({ modality: ['ct'] })).sort(),
      studiesWhere(objects, (o) => o.modality === 'CT'),
    );
  });

  it('filters by body part and sex together', async () => {
    const expected = studiesWhere(
      objects,
      (o) => o.bodyPart === 'CHEST' && o.sex === 'F',
    );
    assert.ok(expected.length > 0, 'the corpus has female chest studies');
    assert.deepEqual(
      (await allStudies({ bodyPart: ['CHEST'], sex: ['F'] })).sort(),
      expected,
    );
  });

  it('combines filters with anyOf, allOf and not', async () => {
    const either = studiesWhere(
      objects,
      (o) => o.modality === 'MR' || o.bodyPart === 'CHEST',
    );
    assert.deepEqual(
      (
        await allStudies({
          anyOf: [{ modality: ['MR'] }, { bodyPart: ['CHEST'] }],
        })
      ).sort(),
      either,
    );
    // Studies with an instance that is CT and not of the chest; an
    // instance without a body part counts as "not chest".
    const ctNotChest = studiesWhere(
      objects,
      (o) => o.modality === 'CT' && o.bodyPart !== 'CHEST',
    );
    assert.ok(ctNotChest.length > 0);
    assert.deepEqual(
      (
        await allStudies({
          allOf: [{ modality: ['CT'] }, { not: { bodyPart: ['CHEST'] } }],
        })
      ).sort(),
      ctNotChest,
    );
    let deep: object = { modality: ['CT'] };
    for (let i = 0; i < 6; i++) deep = { not: deep };
    const r = await gql(COHORT, { filter: deep });
    assert.match(r.errors?.[0]?.message ?? '', /nest at most 4 levels/);
  });

  it('filters by (shifted) study date range', async () => {
    const dates = [
      ...new Set(objects.map((o) => o.studyDate).filter(Boolean)),
    ].sort();
    const from = dates[1]!;
    const to = dates[dates.length - 2]!;
    const expected = studiesWhere(
      objects,
      (o) => o.studyDate >= from && o.studyDate <= to,
    );
    assert.deepEqual(
      (await allStudies({ studyDateFrom: from, studyDateTo: to })).sort(),
      expected,
    );
  });

  it('filters by age at study, from the ages planted in the corpus', async () => {
    // truth.json holds the original ages; the lake must agree with them.
    const ctStudies = truth.patients.flatMap(
      (p: {
        studies: Array<{ patientAge: string; studyDescription: string }>;
      }) => p.studies,
    );
    const old = ctStudies.filter(
      (s: { patientAge: string }) => Number(s.patientAge.slice(0, 3)) >= 60,
    ).length;
    const r = await gql<CohortData>(COHORT, {
      filter: { ageMin: 60, modality: ['CT'], text: 'W' },
    });
    const withW = ctStudies.filter(
      (s: { patientAge: string; studyDescription: string }) =>
        Number(s.patientAge.slice(0, 3)) >= 60 &&
        s.studyDescription.toUpperCase().includes('W'),
    );
    assert.ok(old > 0);
    assert.equal(r.data!.cohort.counts.studies, withW.length);
  });

  it('matches description text case-insensitively, and treats % as a literal', async () => {
    const expected = studiesWhere(objects, (o) =>
      o.description.toUpperCase().includes('CHEST'),
    );
    assert.deepEqual((await allStudies({ text: 'chest' })).sort(), expected);
    assert.deepEqual(await allStudies({ text: '%' }), []);
  });

  it('returns facets that count studies per value with other filters applied', async () => {
    const r = await gql<{
      cohort: { facets: { modality: Array<{ value: string; count: number }> } };
    }>(
      `{ cohort(filter: { modality: ["MR"], sex: ["M", "F", "O"] }) { facets { modality { value count } } } }`,
    );
    const facet = Object.fromEntries(
      r.data!.cohort.facets.modality.map((f) => [f.value, f.count]),
    );
    const withSex = objects.filter((o) => ['M', 'F', 'O'].includes(o.sex));
    for (const modality of ['CT', 'MR']) {
      assert.equal(
        facet[modality],
        studiesWhere(withSex, (o) => o.modality === modality).length,
        modality,
      );
    }
  });

  it('names the problem in a bad filter, with no stack trace', async () => {
    const cases: Array<[object, RegExp, string]> = [
      [
        { studyDateFrom: '2020-13-01' },
        /studyDateFrom must be a date as YYYY-MM-DD, got "2020-13-01"/,
        'BAD_USER_INPUT',
      ],
      [
        { ageMin: 70, ageMax: 20 },
        /ageMin \(70\) is greater than ageMax \(20\)/,
        'BAD_USER_INPUT',
      ],
      [{ sex: ['X'] }, /sex must be M, F or O, got "X"/, 'BAD_USER_INPUT'],
      [
        { modality: [] },
        /modality must not be an empty list/,
        'BAD_USER_INPUT',
      ],
      [
        { modalty: ['CT'] },
        /"modalty" is not defined by type "CohortFilter"/,
        'BAD_USER_INPUT',
      ],
    ];
    for (const [filter, message, code] of cases) {
      const r = await gql(COHORT, { filter });
      assert.match(r.errors?.[0]?.message ?? '', message);
      assert.equal(r.errors?.[0]?.extensions?.code, code);
      assert.equal(r.errors?.[0]?.extensions?.stacktrace, undefined);
    }
    const page = await gql(COHORT, { first: 0 });
    assert.match(
      page.errors?.[0]?.message ?? '',
      /first must be between 1 and 500, got 0/,
    );
    const cursor = await gql(COHORT, { after: 'bm90IGEgY3Vyc29y' });
    assert.match(cursor.errors?.[0]?.message ?? '', /after is not a cursor/);
  });

  it('sends no planted identifier in any response', () => {
    const needles = phiNeedles(truth);
    const all = responses.join('\n');
    for (const needle of needles)
      assert.ok(!containsWord(all, needle), `${needle} leaked`);
  });

  it('refuses oversized queries before running them (shared case 05)', async () => {
    const aliases = Array.from(
      { length: 200 },
      (_, i) => `c${i}: cohort { counts { studies } }`,
    ).join(' ');
    const r = await gql(`{ ${aliases} }`);
    assert.match(
      r.errors?.[0]?.message ?? '',
      /query selects more than 300 fields/,
    );
    assert.equal(r.data, undefined);
    const inner = 'ofType { '.repeat(10) + 'name' + ' }'.repeat(10);
    const deep = await gql(
      `{ __schema { types { fields { type { ${inner} } } } } }`,
    );
    assert.match(
      deep.errors?.[0]?.message ?? '',
      /query nests deeper than 12 levels/,
    );
  });

  it('reports Prometheus metrics and readiness without data or identifiers', async () => {
    const base = server.url.replace(/\/graphql$/, '');
    assert.equal((await fetch(`${base}/readyz`)).status, 200);
    const res = await fetch(`${base}/metrics`);
    assert.equal(res.status, 200);
    const text = await res.text();
    const instances = await gql<{ cohort: { counts: { instances: number } } }>(
      '{ cohort { counts { instances } } }',
    );
    assert.match(
      text,
      new RegExp(
        `^lpacs_lake_instances ${instances.data!.cohort.counts.instances}$`,
        'm',
      ),
    );
    // Every graphql request so far was answered 200 and counted.
    const counted =
      /^lpacs_http_requests_total\{route="\/graphql",status="200"\} (\d+)$/m.exec(
        text,
      );
    assert.ok(counted && Number(counted[1]) > 10, 'graphql requests counted');
    assert.match(
      text,
      /^lpacs_http_request_duration_seconds_bucket\{route="\/graphql",le="\+Inf"\} \d+$/m,
    );
    assert.match(text, /^lpacs_disk_free_bytes \d+$/m);
    responses.push(text);
  });

  it('tells a browser that GETs /graphql what to do instead', async () => {
    const res = await fetch(server.url);
    assert.equal(res.status, 405);
    assert.match(
      await res.text(),
      /POST a JSON body .* to \/graphql, or open \/ for a query page/,
    );
  });

  it('calls an operation the schema lacks a client error (shared case 14)', async () => {
    const r = await gql('subscription { x }');
    assert.match(
      r.errors?.[0]?.message ?? '',
      /not configured to execute subscription/,
    );
    assert.equal(r.errors?.[0]?.extensions?.code, 'BAD_USER_INPUT');
  });
});
