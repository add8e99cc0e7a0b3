import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Role } from '@lpacs/access';
import { startServer } from '@lpacs/api';
import type { RunningServer } from '@lpacs/api';
import {
  SAMPLE,
  copySampleAndCt,
  gqlResult,
  parquetRows,
  runCli,
  tempDir,
  tokenFor,
} from './helpers';
import type { GqlResult } from './helpers';

// Keyset paging of a cohort's studies in every order, both ways, at every
// page size, over a lake where some studies have no age (the CT corpus's
// sample files) and some no date and no age (two files made here with
// dcmodify). The new-user trial found paging by AGE stopped with an
// internal error once a page ended on a study without an age.

const work = tempDir('study-paging');
const lake = join(work.path, 'lake');
let server: RunningServer;
let token = '';

const ORDERS = [
  'STUDY_INSTANCE_UID',
  'STUDY_DATE',
  'INSTANCE_COUNT',
  'AGE',
] as const;
type Order = (typeof ORDERS)[number];

/** Each study's sort keys, from the lake's Parquet read by DuckDB of our own. */
interface Truth {
  uid: string;
  date: string | null;
  age: number | null;
  count: number;
}
let truth: Truth[] = [];

interface Page {
  cohort: {
    studies: {
      nodes: Array<{ studyInstanceUID: string }>;
      pageInfo: { hasNextPage: boolean; endCursor: string | null };
    };
  };
}

const PAGE = `query ($first: Int, $after: String, $o: StudyOrder, $d: Boolean) {
  cohort { studies(first: $first, after: $after, orderBy: $o, descending: $d) {
    nodes { studyInstanceUID } pageInfo { hasNextPage endCursor } } }
}`;

function page(
  order: Order,
  descending: boolean,
  first: number,
  after: string | null,
): Promise<GqlResult<Page>> {
  return gqlResult<Page>(server.url, token, PAGE, {
    first,
    after,
    o: order,
    d: descending,
  });
}

/** Every study, page by page; also asks once more after the last page. */
async function pageThrough(
  order: Order,
  descending: boolean,
  first: number,
): Promise<string[]> {
  const out: string[] = [];
  let after: string | null = null;
  for (let pages = 0; ; pages++) {
    assert.ok(pages <= truth.length, `${order} first ${first}: no end`);
    const r: GqlResult<Page> = await page(order, descending, first, after);
    const where = `${order}${descending ? ' descending' : ''}, first ${first}, after ${out.length}`;
    assert.equal(r.errors, undefined, `${where}: ${JSON.stringify(r.errors)}`);
    const studies = r.data!.cohort.studies;
    out.push(...studies.nodes.map((n) => n.studyInstanceUID));
    after = studies.pageInfo.endCursor;
    if (!studies.pageInfo.hasNextPage) break;
  }
  // The last page's cursor leads to an empty page, not an error.
  const beyond = await page(order, descending, first, after);
  assert.equal(beyond.errors, undefined, JSON.stringify(beyond.errors));
  assert.deepEqual(beyond.data!.cohort.studies, {
    nodes: [],
    pageInfo: { hasNextPage: false, endCursor: null },
  });
  return out;
}

/**
 * The order worked out here: studies with the key first, by key then
 * UID in the asked direction; studies without it after them, by UID.
 */
function expected(order: Order, descending: boolean): string[] {
  const keyOf = (t: Truth): string | number | null =>
    order === 'STUDY_DATE'
      ? t.date
      : order === 'AGE'
        ? t.age
        : order === 'INSTANCE_COUNT'
          ? t.count
          : '';
  const cmp = (a: string | number, b: string | number) =>
    a < b ? -1 : a > b ? 1 : 0;
  const way = descending ? -1 : 1;
  return [...truth]
    .sort((a, b) => {
      const ka = keyOf(a);
      const kb = keyOf(b);
      if (ka === null || kb === null) {
        if (ka !== kb) return ka === null ? 1 : -1;
        return way * cmp(a.uid, b.uid);
      }
      return way * (cmp(ka, kb) || cmp(a.uid, b.uid));
    })
    .map((t) => t.uid);
}

/** A cursor as the API writes one, with whatever it is made to hold. */
function forged(json: string): string {
  return Buffer.from(`study:${json}`).toString('base64url');
}

before(async () => {
  const input = join(work.path, 'input');
  copySampleAndCt(input);
  // Two studies with no date and no age: new UIDs, so new studies.
  const undated = join(input, 'undated');
  mkdirSync(undated);
  for (const name of ['rle.dcm', 'jpeg_ls.dcm'])
    cpSync(join(SAMPLE, name), join(undated, name));
  execFileSync('dcmodify', [
    '-nb',
    '-imt',
    '-gst',
    '-gse',
    '-gin',
    ...['0008,0020', '0008,0021', '0008,0022', '0008,0023']
      .concat(['0010,1010', '0010,0030'])
      .flatMap((t) => ['-ea', `(${t})`]),
    join(undated, 'rle.dcm'),
    join(undated, 'jpeg_ls.dcm'),
  ]);
  const run = await runCli(['ingest', input, '--lake', lake]);
  assert.equal(run.code, 0, run.stderr);
  const rows = await parquetRows(
    `SELECT "StudyInstanceUID" AS uid, "StudyDate" AS date, age_years AS age
     FROM read_parquet('${lake}/tables/instances/*/*.parquet')`,
  );
  const byUid = new Map<string, Truth>();
  for (const r of rows) {
    const uid = String(r.uid);
    const t = byUid.get(uid) ?? { uid, date: null, age: null, count: 0 };
    const date =
      r.date instanceof Date ? r.date.toISOString().slice(0, 10) : null;
    if (date !== null && (t.date === null || date < t.date)) t.date = date;
    const age = r.age === null ? null : Number(r.age);
    if (age !== null && (t.age === null || age > t.age)) t.age = age;
    t.count++;
    byUid.set(uid, t);
  }
  truth = [...byUid.values()];
  token = await tokenFor(lake, Role.Researcher);
  server = await startServer({ lake, port: 0, requestLog: false });
});
after(async () => {
  await server?.close();
  work.remove();
});

describe('paging through studies', () => {
  it('has studies without an age and without a date to page past', () => {
    assert.ok(truth.filter((t) => t.age === null).length >= 3);
    assert.ok(truth.filter((t) => t.date === null).length >= 2);
    assert.ok(truth.filter((t) => t.age !== null).length >= 3);
  });

  for (const order of ORDERS)
    for (const descending of [false, true])
      it(`gives every study once by ${order}${descending ? ' descending' : ''}, at every page size`, async () => {
        const want = expected(order, descending);
        const all = await page(order, descending, 500, null);
        assert.equal(all.errors, undefined, JSON.stringify(all.errors));
        assert.deepEqual(
          all.data!.cohort.studies.nodes.map((n) => n.studyInstanceUID),
          want,
        );
        for (let first = 1; first <= truth.length; first++)
          assert.deepEqual(
            await pageThrough(order, descending, first),
            want,
            `first ${first}`,
          );
      });

  it('takes a key past the 64-bit integers as the number it is', async () => {
    const r = await page(
      'AGE',
      false,
      500,
      forged('{"sort":"AGE","descending":false,"key":1e300,"uid":"1.2"}'),
    );
    assert.equal(r.errors, undefined, JSON.stringify(r.errors));
    const want = expected('AGE', false).filter(
      (uid) => truth.find((t) => t.uid === uid)!.age === null,
    );
    assert.deepEqual(
      r.data!.cohort.studies.nodes.map((n) => n.studyInstanceUID),
      want,
    );
  });

  it('names what is wrong with a bad or forged cursor', async () => {
    const cases: Array<[string, RegExp]> = [
      ['bm90IGEgY3Vyc29y', /^after is not a cursor returned by this API$/],
      [forged('{"sort":"AGE"'), /^after is not a cursor returned by this API$/],
      [forged('[1,2]'), /^after is not a cursor returned by this API$/],
      [
        forged('{"sort":"NAME","descending":false,"key":1,"uid":"1.2"}'),
        /^after is ordered by "NAME", which is no StudyOrder$/,
      ],
      [
        forged('{"sort":"toString","descending":false,"key":1,"uid":"1.2"}'),
        /^after is ordered by "toString", which is no StudyOrder$/,
      ],
      [
        forged('{"sort":"AGE","key":1,"uid":"1.2"}'),
        /^after does not say whether its page was descending$/,
      ],
      [
        forged('{"sort":"AGE","descending":false,"key":1}'),
        /^after holds no StudyInstanceUID$/,
      ],
      [
        forged('{"sort":"AGE","descending":false,"key":"old","uid":"1.2"}'),
        /^after's key must be a finite number or null for AGE, not "old"$/,
      ],
      [
        forged('{"sort":"AGE","descending":false,"key":1e400,"uid":"1.2"}'),
        /^after's key must be a finite number or null for AGE, not Infinity$/,
      ],
      [
        forged('{"sort":"AGE","descending":false,"uid":"1.2"}'),
        /^after holds no AGE key$/,
      ],
      [
        forged('{"sort":"STUDY_DATE","descending":false,"key":7,"uid":"1.2"}'),
        /^after's key must be a date as YYYY-MM-DD or null for STUDY_DATE, not 7$/,
      ],
      // Each order's key is what its SQL gives, and nothing else: text
      // that is no date, a date that is no day, a count that is no count.
      [
        forged(
          '{"sort":"STUDY_DATE","descending":false,"key":"not-a-date","uid":"1.2"}',
        ),
        /^after's key must be a date as YYYY-MM-DD or null for STUDY_DATE, not "not-a-date"$/,
      ],
      [
        forged(
          '{"sort":"STUDY_DATE","descending":false,"key":"2021-02-30","uid":"1.2"}',
        ),
        /^after's key must be a date as YYYY-MM-DD or null for STUDY_DATE, not "2021-02-30"$/,
      ],
      [
        forged(
          '{"sort":"INSTANCE_COUNT","descending":false,"key":2.5,"uid":"1.2"}',
        ),
        /^after's key must be a whole number of 1 or more for INSTANCE_COUNT, not 2.5$/,
      ],
      [
        forged(
          '{"sort":"INSTANCE_COUNT","descending":false,"key":"3","uid":"1.2"}',
        ),
        /^after's key must be a whole number of 1 or more for INSTANCE_COUNT, not "3"$/,
      ],
      [
        forged(
          '{"sort":"INSTANCE_COUNT","descending":false,"key":null,"uid":"1.2"}',
        ),
        /^after's key must be a whole number of 1 or more for INSTANCE_COUNT, not null$/,
      ],
      [
        forged(
          '{"sort":"STUDY_INSTANCE_UID","descending":false,"key":"1.2.3","uid":"1.2"}',
        ),
        /^after's key must be the empty text for STUDY_INSTANCE_UID, not "1.2.3"$/,
      ],
    ];
    for (const [cursor, message] of cases) {
      const named = /"sort":"([A-Z_]+)"/.exec(
        Buffer.from(cursor, 'base64url').toString(),
      )?.[1];
      const order = ORDERS.find((o) => o === named) ?? 'AGE';
      const r = await gqlResult(server.url, token, PAGE, {
        first: 5,
        after: cursor,
        o: order,
        d: false,
      });
      const e = r.errors?.[0] as
        | { message: string; extensions?: { code?: string; field?: string } }
        | undefined;
      assert.equal(e?.extensions?.code, 'BAD_USER_INPUT', JSON.stringify(r));
      assert.equal(e?.extensions?.field, 'after');
      assert.match(e?.message ?? '', message);
    }
  });
});
