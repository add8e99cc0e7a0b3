import type { Catalog } from '@lpacs/lake';
import type { FrozenInstance } from '@lpacs/sharing';
import type { CohortFilter } from '../schema/CohortFilter';
import type {
  Counts,
  FacetValue,
  Study,
  StudyPage,
} from '../schema/CohortTypes';
import type { CompiledFilter } from './compileFilter';
import { whereOf } from './compileFilter';

const FACETS: Record<
  string,
  { expr: string; own?: keyof CohortFilter; order: 'count' | 'value' }
> = {
  modality: { expr: '"Modality"', own: 'modality', order: 'count' },
  bodyPart: { expr: '"BodyPartExamined"', own: 'bodyPart', order: 'count' },
  sex: { expr: '"PatientSex"', own: 'sex', order: 'count' },
  manufacturer: { expr: '"Manufacturer"', own: 'manufacturer', order: 'count' },
  ageDecade: {
    // Ages over 89 are stored as 90 (HIPAA 164.514(b)(2)(i)(C)), so the
    // last bucket is every age from 90 up, not 90 to 99.
    expr: `CASE WHEN age_years >= 90 THEN '90+' ELSE CAST(floor(age_years / 10) * 10 AS INTEGER) || '-' || CAST(floor(age_years / 10) * 10 + 9 AS INTEGER) END`,
    own: 'ageMin',
    order: 'value',
  },
  studyYear: {
    expr: 'CAST(year("StudyDate") AS VARCHAR)',
    own: 'studyDateFrom',
    order: 'value',
  },
};

/**
 * How studies can be ordered: each one's sort key over its instances, and
 * what a cursor's key for it must be (`fits`, described by `type`): the
 * only values the key's SQL gives.
 */
export const STUDY_SORT_KEYS = {
  STUDY_INSTANCE_UID: {
    sql: `''`,
    kind: 'text',
    type: 'the empty text',
    fits: (k: unknown) => k === '',
  },
  STUDY_DATE: {
    sql: `strftime(min("StudyDate"), '%Y-%m-%d')`,
    kind: 'text',
    type: 'a date as YYYY-MM-DD or null',
    fits: (k: unknown) => k === null || isDate(k),
  },
  INSTANCE_COUNT: {
    sql: 'CAST(count(*) AS DOUBLE)',
    kind: 'number',
    type: 'a whole number of 1 or more',
    fits: (k: unknown) =>
      typeof k === 'number' && Number.isInteger(k) && k >= 1,
  },
  AGE: {
    sql: 'CAST(max(age_years) AS DOUBLE)',
    kind: 'number',
    type: 'a finite number or null',
    fits: (k: unknown) =>
      k === null || (typeof k === 'number' && Number.isFinite(k)),
  },
} as const;

/** A real calendar date written YYYY-MM-DD (as strftime writes one). */
function isDate(k: unknown): boolean {
  if (typeof k !== 'string' || !/^\d{4}-\d{2}-\d{2}$/.test(k)) return false;
  const d = new Date(`${k}T00:00:00Z`);
  return !Number.isNaN(d.getTime()) && d.toISOString().slice(0, 10) === k;
}
export type StudySortKey = keyof typeof STUDY_SORT_KEYS;

/**
 * Where a page ended: the sort, and the last study's key (null when the
 * study has none, e.g. no age) and UID.
 */
export interface StudyCursor {
  sort: StudySortKey;
  descending: boolean;
  key: string | number | null;
  uid: string;
}

function encodeCursor(c: StudyCursor): string {
  return Buffer.from(`study:${JSON.stringify(c)}`).toString('base64url');
}

/**
 * What a cursor holds, or what is wrong with it: a cursor is ours only
 * when its key is a value its sort's key can take (STUDY_SORT_KEYS).
 */
export function decodeCursor(
  cursor: string,
): StudyCursor | { problem: string } {
  const text = Buffer.from(cursor, 'base64url').toString('utf8');
  if (!text.startsWith('study:'))
    return { problem: 'after is not a cursor returned by this API' };
  let c: Partial<Record<keyof StudyCursor, unknown>>;
  try {
    c = JSON.parse(text.slice(6)) as typeof c;
  } catch {
    return { problem: 'after is not a cursor returned by this API' };
  }
  if (typeof c !== 'object' || c === null || Array.isArray(c))
    return { problem: 'after is not a cursor returned by this API' };
  if (typeof c.sort !== 'string' || !Object.hasOwn(STUDY_SORT_KEYS, c.sort))
    return {
      problem: `after is ordered by ${JSON.stringify(c.sort ?? null).slice(0, 40)}, which is no StudyOrder`,
    };
  const sort = c.sort as StudySortKey;
  if (typeof c.descending !== 'boolean')
    return { problem: 'after does not say whether its page was descending' };
  if (typeof c.uid !== 'string' || c.uid === '')
    return { problem: 'after holds no StudyInstanceUID' };
  const key = c.key;
  if (key === undefined) return { problem: `after holds no ${sort} key` };
  if (!STUDY_SORT_KEYS[sort].fits(key)) {
    const shown =
      typeof key === 'number' ? String(key) : JSON.stringify(key).slice(0, 40);
    return {
      problem: `after's key must be ${STUDY_SORT_KEYS[sort].type} for ${sort}, not ${shown}`,
    };
  }
  return {
    sort,
    descending: c.descending,
    key: key as StudyCursor['key'],
    uid: c.uid,
  };
}

/** The filter fields a facet leaves out, so all its values stay selectable. */
function ownClauses(name: string): string[] {
  const own = FACETS[name]?.own;
  if (own === 'ageMin') return ['ageMin', 'ageMax'];
  if (own === 'studyDateFrom') return ['studyDateFrom', 'studyDateTo'];
  return own ? [String(own)] : [];
}

/** A facet's values in its order (by count, or by value), at most 100. */
function sortFacet(
  values: FacetValue[],
  order: 'count' | 'value',
): FacetValue[] {
  const byValue = (a: FacetValue, b: FacetValue) =>
    a.value < b.value ? -1 : a.value > b.value ? 1 : 0;
  return values
    .sort(
      order === 'count'
        ? (a, b) => b.count - a.count || byValue(a, b)
        : byValue,
    )
    .slice(0, 100);
}

/** The SQL behind every cohort field, over the catalog's views. */
export class CohortQueries {
  constructor(readonly catalog: Catalog) {}

  /** The instances a filter selects, as a cohort freezes them. */
  async instances(filter: CompiledFilter): Promise<FrozenInstance[]> {
    const where = whereOf(filter);
    const rows = await this.catalog.query(
      `SELECT "SOPInstanceUID", "SeriesInstanceUID", "StudyInstanceUID", object_key, sha256, size_bytes
       FROM instances ${where.sql} ORDER BY "SOPInstanceUID"`,
      where.params,
    );
    return rows.map((r) => ({
      SOPInstanceUID: String(r.SOPInstanceUID),
      SeriesInstanceUID: String(r.SeriesInstanceUID),
      StudyInstanceUID: String(r.StudyInstanceUID),
      object_key: String(r.object_key),
      sha256: String(r.sha256),
      size_bytes: Number(r.size_bytes),
    }));
  }

  /** The newest committed batch: the lake version a query saw. */
  async lakeVersion(): Promise<string> {
    const [row] = await this.catalog.query(
      "SELECT coalesce(max(batch), 'empty') AS v FROM instances",
    );
    return String(row?.v);
  }

  /**
   * What counts and facets of a filter scan: the series rollup (a fifth
   * of the rows, same answers) unless a clause reads per instance.
   */
  async #source(
    filter: CompiledFilter,
  ): Promise<{ from: string; instances: string }> {
    if (filter.perInstance) return { from: 'instances', instances: 'count(*)' };
    return {
      from: await this.catalog.seriesRollup(),
      instances: 'coalesce(sum(n), 0)',
    };
  }

  /** The SQL and parameters the counts of a filter run (for admins). */
  async countsSql(filter: CompiledFilter): Promise<{
    sql: string;
    params: Array<string | number>;
  }> {
    const where = whereOf(filter);
    const source = await this.#source(filter);
    return {
      sql: `SELECT count(DISTINCT "PatientID") AS patients, count(DISTINCT "StudyInstanceUID") AS studies,
              count(DISTINCT "SeriesInstanceUID") AS series, ${source.instances} AS instances
       FROM ${source.from} ${where.sql}`,
      params: where.params,
    };
  }

  async counts(filter: CompiledFilter): Promise<Counts> {
    const { sql, params } = await this.countsSql(filter);
    const [row] = await this.catalog.query(sql, params);
    return {
      patients: Number(row?.patients ?? 0),
      studies: Number(row?.studies ?? 0),
      series: Number(row?.series ?? 0),
      instances: Number(row?.instances ?? 0),
    };
  }

  /**
   * Several facets at once. Facets whose own criteria the filter does not
   * use share one WHERE clause, so they are counted in one scan with
   * GROUPING SETS; each of the others, which must leave its own criterion
   * out, gets its own query.
   */
  async facets(
    names: readonly string[],
    filter: CompiledFilter,
  ): Promise<Record<string, FacetValue[]>> {
    const used = Object.keys(filter.clauses);
    const shared = names.filter(
      (n) => !ownClauses(n).some((c) => used.includes(c)),
    );
    const alone = names.filter((n) => !shared.includes(n));
    const out: Record<string, FacetValue[]> = {};
    const jobs: Array<Promise<void>> = alone.map(async (n) => {
      out[n] = await this.facet(n, filter);
    });
    if (shared.length === 1) {
      const [n] = shared as [string];
      jobs.push(this.facet(n, filter).then((v) => void (out[n] = v)));
    } else if (shared.length > 1) {
      jobs.push(
        (async () => {
          const where = whereOf(filter);
          const { from } = await this.#source(filter);
          const cols = shared.map(
            (n, i) => `coalesce(${FACETS[n]!.expr}, '(none)') AS v${i}`,
          );
          const rows = await this.catalog.query(
            `SELECT ${shared.map((_, i) => `grouping(v${i}) AS g${i}, v${i}`).join(', ')},
                    count(DISTINCT "StudyInstanceUID") AS count
             FROM (SELECT ${cols.join(', ')}, "StudyInstanceUID" FROM ${from} ${where.sql})
             GROUP BY GROUPING SETS (${shared.map((_, i) => `(v${i})`).join(', ')})`,
            where.params,
          );
          shared.forEach((n, i) => {
            const values = rows
              .filter((r) => Number(r[`g${i}`]) === 0)
              .map((r) => ({
                value: String(r[`v${i}`]),
                count: Number(r.count),
              }));
            out[n] = sortFacet(values, FACETS[n]!.order);
          });
        })(),
      );
    }
    await Promise.all(jobs);
    return out;
  }

  async facet(name: string, filter: CompiledFilter): Promise<FacetValue[]> {
    const facet = FACETS[name];
    if (!facet) throw new Error(`no facet ${name}`);
    // A facet ignores its own filter, so every value stays selectable.
    const own = ownClauses(name);
    const reduced: CompiledFilter = {
      clauses: Object.fromEntries(
        Object.entries(filter.clauses).filter(([k]) => !own.includes(k)),
      ),
      ...(filter.perInstance ? { perInstance: true } : {}),
    };
    const where = whereOf(reduced);
    const { from } = await this.#source(reduced);
    const order = facet.order === 'count' ? 'count DESC, value' : 'value';
    const rows = await this.catalog.query(
      `SELECT coalesce(${facet.expr}, '(none)') AS value, count(DISTINCT "StudyInstanceUID") AS count
       FROM ${from} ${where.sql} GROUP BY 1 ORDER BY ${order} LIMIT 100`,
      where.params,
    );
    return rows.map((r) => ({
      value: String(r.value),
      count: Number(r.count),
    }));
  }

  async studies(
    filter: CompiledFilter,
    first: number,
    after: StudyCursor | undefined,
    sort: StudySortKey = 'STUDY_INSTANCE_UID',
    descending = false,
  ): Promise<StudyPage> {
    const where = whereOf(filter);
    const params: Array<string | number> = [...where.params];
    const { sql: key, kind } = STUDY_SORT_KEYS[sort];
    // Studies are ordered by (k IS NULL, k, uid): a study without the key
    // (no date, no age) comes after every study with one, either way;
    // k and uid go the asked way. Paging goes on after the cursor's
    // place in that order, compared term by term.
    const dir = descending ? 'DESC' : 'ASC';
    const cmp = descending ? '<' : '>';
    let page = '';
    if (after !== undefined) {
      if (after.key === null) {
        page = `WHERE k IS NULL AND uid ${cmp} ?`;
        params.push(after.uid);
      } else {
        // The key goes in as text, cast to its type: a number without a
        // fraction would be bound as BIGINT, which a key past int64 (a
        // forged 1e300) does not fit.
        const k =
          kind === 'number' ? 'CAST(? AS DOUBLE)' : 'CAST(? AS VARCHAR)';
        page = `WHERE (k IS NULL OR k ${cmp} ${k} OR (k = ${k} AND uid ${cmp} ?))`;
        params.push(String(after.key), String(after.key), after.uid);
      }
    }
    params.push(first + 1);
    const rows = await this.catalog.query(
      `WITH s AS (
         SELECT "StudyInstanceUID" AS uid, ${key} AS k, any_value("PatientID") AS patient,
                strftime(min("StudyDate"), '%Y-%m-%d') AS date, any_value("StudyDescription") AS description,
                max(age_years) AS age, any_value("PatientSex") AS sex,
                list_sort(list(DISTINCT "Modality") FILTER (WHERE "Modality" IS NOT NULL)) AS modalities,
                list_sort(list(DISTINCT "BodyPartExamined") FILTER (WHERE "BodyPartExamined" IS NOT NULL)) AS parts,
                count(DISTINCT "SeriesInstanceUID") AS series, count(*) AS instances
         FROM instances ${where.sql} GROUP BY 1)
       SELECT * FROM s ${page} ORDER BY k IS NULL, k ${dir}, uid ${dir} LIMIT ?`,
      params,
    );
    const nodes: Study[] = rows.slice(0, first).map((r) => ({
      studyInstanceUID: String(r.uid),
      patientID: String(r.patient),
      studyDate: r.date === null ? null : String(r.date),
      studyDescription: r.description === null ? null : String(r.description),
      ageYears: r.age === null ? null : Number(r.age),
      patientSex: r.sex === null ? null : String(r.sex),
      modalities: (r.modalities as string[] | null) ?? [],
      bodyParts: (r.parts as string[] | null) ?? [],
      seriesCount: Number(r.series),
      instanceCount: Number(r.instances),
    }));
    const last = nodes[nodes.length - 1];
    return {
      nodes,
      pageInfo: {
        hasNextPage: rows.length > first,
        endCursor: last
          ? encodeCursor({
              sort,
              descending,
              key: (rows[nodes.length - 1]?.k ?? null) as StudyCursor['key'],
              uid: last.studyInstanceUID,
            })
          : null,
      },
    };
  }
}
