import {
  isKeyword,
  isNumberVr,
  keywordOf,
  lookupKeyword,
  lookupTag,
} from '@lpacs/dicom';
import { predictionClause } from '@lpacs/ml';
import { GraphQLError } from 'graphql';
import { ErrorCode, badInput } from '../ApiError';
import type { AttributeFilter, CohortFilter } from '../schema/CohortFilter';

/** A filter turned into SQL clauses over `instances` with their parameters. */
export interface CompiledFilter {
  /** One clause per filter field, keyed by field, so facets can leave their own out. */
  clauses: Partial<
    Record<keyof CohortFilter, { sql: string; params: Array<string | number> }>
  >;
  /**
   * True when a clause reads per instance (attribute or prediction
   * criteria, at any depth): counts and facets must then scan `instances`
   * rather than the series rollup.
   */
  perInstance?: boolean;
  /**
   * The prediction models and labels the filter names, at any depth, with
   * the bounds given for each (`minScore`, `maxValue`, ...) and, for a
   * criterion inside allOf/anyOf/not, where it is (`anyOf[1].not`).
   */
  models?: ModelCriterion[];
}

/** A prediction criterion's model and label, as checkModels checks them. */
export interface ModelCriterion {
  model: string;
  label: string;
  bounds?: string[];
  /** Where in allOf/anyOf/not the criterion is; absent at the top. */
  at?: string;
}

/** A nested filter's position prefixed to what its path says. */
export function within(
  at: string | undefined,
  inner: string | undefined,
): string | undefined {
  return at && inner ? `${at}.${inner}` : at || inner;
}

/** The position an error message names: "in anyOf[1].not: ...". */
const POSITION =
  /^in ((?:allOf|anyOf)\[\d+\]|not)((?:\.(?:(?:allOf|anyOf)\[\d+\]|not))*): /;

/**
 * A nested filter's BAD_USER_INPUT error, with its position in front of
 * the field path (`anyOf[1].sex`) and of the message ("in anyOf[1]: ...").
 */
function nestedError(err: unknown, at: string): unknown {
  if (
    !(err instanceof GraphQLError) ||
    err.extensions.code !== ErrorCode.BadUserInput
  )
    return err;
  const field =
    typeof err.extensions.field === 'string' ? err.extensions.field : undefined;
  const named = POSITION.exec(err.message);
  const message = named
    ? `in ${at}.${named[1]}${named[2]}: ${err.message.slice(named[0].length)}`
    : `in ${at}: ${err.message}`;
  return new GraphQLError(message, {
    extensions: { ...err.extensions, field: within(at, field) },
  });
}

/** How deep allOf/anyOf/not may nest, and how many filters one may hold. */
const MAX_DEPTH = 4;
const MAX_PARTS = 20;

/** The most values a list filter may hold. */
const MAX_LIST = 100;

function isoDate(field: string, value: string): string {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(value);
  const d = m ? new Date(`${value}T00:00:00Z`) : undefined;
  if (
    !m ||
    !d ||
    Number.isNaN(d.getTime()) ||
    d.toISOString().slice(0, 10) !== value
  ) {
    throw badInput(
      `${field} must be a date as YYYY-MM-DD, got "${value.slice(0, 40)}"`,
      field,
    );
  }
  return value;
}

function list(
  field: string,
  values: string[] | undefined,
  upper: boolean,
): string[] | undefined {
  if (values === undefined || values === null) return undefined;
  if (values.length === 0)
    throw badInput(
      `${field} must not be an empty list (leave it out to match everything)`,
      field,
    );
  if (values.length > MAX_LIST)
    throw badInput(
      `${field} has ${values.length} values; at most ${MAX_LIST}`,
      field,
    );
  return values.map((v) => (upper ? v.trim().toUpperCase() : v.trim()));
}

function inList(column: string, values: string[]) {
  return {
    sql: `"${column}" IN (${values.map(() => '?').join(', ')})`,
    params: values,
  };
}

const ATTRIBUTE_OPS = [
  'EQ',
  'NE',
  'LT',
  'LE',
  'GT',
  'GE',
  'CONTAINS',
  'EXISTS',
];
const COMPARE: Readonly<Record<string, string>> = {
  LT: '<',
  LE: '<=',
  GT: '>',
  GE: '>=',
};
const TAG = /^\(?([0-9A-F]{4}),?([0-9A-F]{4})\)?$/;
const PATH = /^(?:[0-9A-F]{8}\[\d{1,4}\]\.)+([0-9A-F]{8})$/;

/** A DA value (PS3.5 6.2) as the `attributes` table holds it. */
const DA_SQL = `CAST(try_strptime(CASE WHEN regexp_full_match(a.value, '\\d{8}') THEN a.value END, '%Y%m%d') AS DATE)`;

/** A TM value (PS3.5 6.2: HH[MM[SS[.F{1,6}]]]) as seconds since midnight. */
const TM_SQL = `CASE WHEN regexp_full_match(a.value, '([01]\\d|2[0-3])([0-5]\\d(([0-5]\\d|60)(\\.\\d{1,6})?)?)?') THEN CAST(substr(a.value, 1, 2) AS INTEGER) * 3600 + coalesce(TRY_CAST(substr(a.value, 3, 2) AS INTEGER), 0) * 60 + coalesce(TRY_CAST(substr(a.value, 5) AS DOUBLE), 0) END`;

/** Seconds since midnight of a TM value, or undefined if it is not one. */
function tmSeconds(value: string): number | undefined {
  const m = /^([01]\d|2[0-3])(?:([0-5]\d)(?:([0-5]\d|60)(\.\d{1,6})?)?)?$/.exec(
    value,
  );
  if (!m) return undefined;
  return (
    Number(m[1]) * 3600 +
    Number(m[2] ?? 0) * 60 +
    Number(`${m[3] ?? '0'}${m[4] ?? ''}`)
  );
}

/** A date given as DA (YYYYMMDD) or YYYY-MM-DD, as YYYY-MM-DD if real. */
function daDate(value: string): string | undefined {
  const m = /^(\d{4})-?(\d{2})-?(\d{2})$/.exec(value.trim());
  if (!m) return undefined;
  const iso = `${m[1]}-${m[2]}-${m[3]}`;
  const d = new Date(`${iso}T00:00:00Z`);
  return !Number.isNaN(d.getTime()) && d.toISOString().slice(0, 10) === iso
    ? iso
    : undefined;
}

/**
 * How LT/LE/GT/GE compare an element, from its PS3.6 VR and VM: as a
 * number, a date (DA) or a time (TM), or refused with what to use instead,
 * since a comparison no value can meet would count 0 without saying why.
 * An element the dictionary does not know (a private tag) compares its
 * number, if it holds one.
 */
function comparison(
  c: AttributeFilter,
  op: string,
  value: string,
): { sql: string; param: string | number } {
  const bad = (message: string) => badInput(message, 'attribute');
  const compare = COMPARE[op]!;
  const tag = c.tag != null ? TAG.exec(c.tag.trim().toUpperCase()) : null;
  const entry = tag
    ? lookupTag(parseInt(`${tag[1]}${tag[2]}`, 16))
    : lookupKeyword(c.keyword?.trim() ?? '');
  const shown = value.slice(0, 40);
  const number = value.trim() === '' ? NaN : Number(value);
  if (!entry) {
    if (!Number.isFinite(number))
      throw bad(`attribute op ${op} compares numbers, got "${shown}"`);
    return { sql: `a.value_num ${compare} ?`, param: number };
  }
  const [vr, name, vm] = entry;
  const of = `${name} (VR ${vr}, VM ${vm})`;
  // VM 1-n may hold one value, which compares; VM 2, 3, 2-n never does.
  if (!/^1(-|$)/.test(vm) && vr !== 'SQ')
    throw bad(
      `attribute op ${op} compares one value, and ${of} holds ${vm} values: use EQ or NE with all of them joined by \\, or CONTAINS`,
    );
  if (isNumberVr(vr)) {
    if (!Number.isFinite(number))
      throw bad(
        `attribute op ${op} compares numbers, got "${shown}" for ${of}`,
      );
    return { sql: `a.value_num ${compare} ?`, param: number };
  }
  if (vr === 'DA') {
    const iso = daDate(value);
    if (iso === undefined)
      throw bad(
        `attribute op ${op} on ${of} compares dates: give one as YYYYMMDD or YYYY-MM-DD, got "${shown}"`,
      );
    return { sql: `${DA_SQL} ${compare} CAST(? AS DATE)`, param: iso };
  }
  if (vr === 'TM') {
    const seconds = tmSeconds(value.trim());
    if (seconds === undefined)
      throw bad(
        `attribute op ${op} on ${of} compares times: give one as HHMMSS (HH, HHMM or HHMMSS.FFFFFF), got "${shown}"`,
      );
    return { sql: `(${TM_SQL}) ${compare} ?`, param: seconds };
  }
  const instead =
    vr === 'AS'
      ? 'use ageMin/ageMax (the age at the study in whole years, 90 for 90 and over)'
      : vr === 'DT'
        ? "use EQ or CONTAINS (a DT starts YYYYMMDD), or studyDateFrom/studyDateTo for the study's date"
        : vr === 'SQ'
          ? 'compare an element inside it (its keyword, or its path), or use EXISTS'
          : 'use EQ, NE or CONTAINS';
  throw bad(
    `attribute op ${op} on ${of} compares numbers, dates (DA) or times (TM), not ${vr} values: ${instead}`,
  );
}

/** Which elements a criterion names: a tag or a keyword, maybe a path. */
function attributeTarget(c: AttributeFilter): {
  sql: string;
  params: string[];
} {
  const bad = (message: string) => badInput(message, 'attribute');
  const parts: string[] = [];
  const params: string[] = [];
  let tag: string | undefined;
  if (c.tag != null) {
    const m = TAG.exec(c.tag.trim().toUpperCase());
    if (!m)
      throw bad(
        `attribute tag must be 8 hex digits like 00180050, got "${c.tag.slice(0, 20)}"`,
      );
    tag = `${m[1]}${m[2]}`;
    parts.push('a.tag = ?');
    params.push(tag);
  }
  if (c.keyword != null) {
    const keyword = c.keyword.trim();
    if (!isKeyword(keyword))
      throw bad(
        `attribute keyword "${keyword.slice(0, 64)}" is not in the DICOM dictionary (PS3.6); give its tag instead`,
      );
    if (tag !== undefined && keywordOf(parseInt(tag, 16)) !== keyword)
      throw bad(`attribute tag ${tag} is not the keyword ${keyword}`);
    if (tag === undefined) {
      parts.push('a.keyword = ?');
      params.push(keyword);
    }
  }
  if (!parts.length) throw bad('attribute needs a tag or a keyword');
  if (c.path != null) {
    const path = c.path.trim().toUpperCase();
    const last = path === '' ? undefined : PATH.exec(path)?.[1];
    if (path !== '' && last === undefined)
      throw bad(
        `attribute path must be like 00400275[0].00321060 (or "" for top level), got "${c.path.slice(0, 80)}"`,
      );
    const named = tag ?? c.keyword?.trim();
    if (
      last !== undefined &&
      last !== named &&
      keywordOf(parseInt(last, 16)) !== named
    )
      throw bad(`attribute path ${path} does not end in ${named}`);
    parts.push('a.path = ?');
    params.push(path);
  }
  return { sql: parts.join(' AND '), params };
}

/** One attribute criterion as an EXISTS over the `attributes` view. */
function attributeClause(c: AttributeFilter): {
  sql: string;
  params: Array<string | number>;
} {
  const bad = (message: string) => badInput(message, 'attribute');
  const op = c.op?.trim().toUpperCase();
  if (!ATTRIBUTE_OPS.includes(op))
    throw bad(
      `attribute op must be one of ${ATTRIBUTE_OPS.join(', ')}, got "${String(c.op).slice(0, 20)}"`,
    );
  const target = attributeTarget(c);
  const parts = ['a."SOPInstanceUID" = instances."SOPInstanceUID"', target.sql];
  const params: Array<string | number> = [...target.params];
  const value = c.value ?? undefined;
  if (op === 'EXISTS') {
    if (value !== undefined)
      throw bad('attribute op EXISTS takes no value: leave value out');
  } else {
    if (value === undefined || value === '' || value.length > 256)
      throw bad(`attribute op ${op} needs a value of 1 to 256 characters`);
    const number = value.trim() === '' ? NaN : Number(value);
    const numeric = Number.isFinite(number);
    if (COMPARE[op]) {
      const { sql, param } = comparison(c, op, value);
      parts.push(sql);
      params.push(param);
    } else if (op === 'CONTAINS') {
      parts.push(`a.value ILIKE ? ESCAPE '\\'`);
      params.push(`%${value.replace(/[\\%_]/g, (ch) => `\\${ch}`)}%`);
    } else {
      // A number matches by value: a DS of "1.250" equals 1.25.
      const same = numeric
        ? 'coalesce(a.value_num = ? OR a.value = ?, false)'
        : 'coalesce(a.value = ?, false)';
      parts.push(op === 'EQ' ? same : `NOT ${same}`);
      params.push(...(numeric ? [number, value] : [value]));
    }
  }
  return {
    sql: `EXISTS (SELECT 1 FROM attributes a WHERE ${parts.join(' AND ')})`,
    params,
  };
}

/**
 * Validates a cohort filter and compiles it to parameterised SQL; values
 * never enter the SQL text.
 * @throws GraphQLError BAD_USER_INPUT naming the field and the bad value.
 */
export function compileFilter(
  filter: CohortFilter | undefined | null,
  depth = 0,
): CompiledFilter {
  const clauses: CompiledFilter['clauses'] = {};
  if (!filter) return { clauses };
  let perInstance = false;
  const models: ModelCriterion[] = [];
  const note = (m: ModelCriterion) => models.push(m);
  /** A nested filter compiled, its errors and models placed at `at`. */
  const inside = (
    field: 'allOf' | 'anyOf' | 'not',
    at: string,
    inner: CohortFilter,
  ) => {
    if (depth + 1 > MAX_DEPTH)
      throw badInput(
        `allOf, anyOf and not nest at most ${MAX_DEPTH} levels deep (${field} at level ${depth + 1})`,
        field,
      );
    let compiled: CompiledFilter;
    try {
      compiled = compileFilter(inner, depth + 1);
    } catch (err) {
      throw nestedError(err, at);
    }
    perInstance ||= compiled.perInstance === true;
    for (const m of compiled.models ?? []) note({ ...m, at: within(at, m.at) });
    return compiled;
  };
  const nested = (field: 'allOf' | 'anyOf', joiner: string) => {
    const parts = filter[field];
    if (parts == null) return;
    if (parts.length === 0 || parts.length > MAX_PARTS)
      throw badInput(
        `${field} must hold 1 to ${MAX_PARTS} filters, got ${parts.length}`,
        field,
      );
    const compiled = parts.map((p, i) =>
      whereClause(inside(field, `${field}[${i}]`, p)),
    );
    clauses[field] = {
      sql: `(${compiled.map((c) => `(${c.sql})`).join(joiner)})`,
      params: compiled.flatMap((c) => c.params),
    };
  };
  nested('allOf', ' AND ');
  nested('anyOf', ' OR ');
  if (filter.not != null) {
    const inner = whereClause(inside('not', 'not', filter.not));
    // NULL-safe: an instance with no value for a column is "not" matched.
    clauses.not = {
      sql: `NOT coalesce((${inner.sql}), false)`,
      params: inner.params,
    };
  }
  const modality = list('modality', filter.modality, true);
  if (modality) clauses.modality = inList('Modality', modality);
  const bodyPart = list('bodyPart', filter.bodyPart, true);
  if (bodyPart) clauses.bodyPart = inList('BodyPartExamined', bodyPart);
  const sex = list('sex', filter.sex, true);
  if (sex) {
    const bad = sex.find((s) => !['M', 'F', 'O'].includes(s));
    if (bad !== undefined)
      throw badInput(`sex must be M, F or O, got "${bad.slice(0, 20)}"`, 'sex');
    clauses.sex = inList('PatientSex', sex);
  }
  const manufacturer = list('manufacturer', filter.manufacturer, false);
  if (manufacturer) clauses.manufacturer = inList('Manufacturer', manufacturer);
  const { ageMin, ageMax } = filter;
  for (const [field, v] of [
    ['ageMin', ageMin],
    ['ageMax', ageMax],
  ] as const) {
    if (v !== undefined && v !== null && (v < 0 || v > 150))
      throw badInput(`${field} must be between 0 and 150, got ${v}`, field);
  }
  if (ageMin != null && ageMax != null && ageMin > ageMax) {
    throw badInput(
      `ageMin (${ageMin}) is greater than ageMax (${ageMax})`,
      'ageMin',
    );
  }
  if (ageMin != null)
    clauses.ageMin = { sql: 'age_years >= ?', params: [ageMin] };
  if (ageMax != null)
    clauses.ageMax = { sql: 'age_years <= ?', params: [ageMax] };
  const from =
    filter.studyDateFrom != null
      ? isoDate('studyDateFrom', filter.studyDateFrom)
      : undefined;
  const to =
    filter.studyDateTo != null
      ? isoDate('studyDateTo', filter.studyDateTo)
      : undefined;
  if (from && to && from > to)
    throw badInput(
      `studyDateFrom (${from}) is after studyDateTo (${to})`,
      'studyDateFrom',
    );
  if (from)
    clauses.studyDateFrom = {
      sql: '"StudyDate" >= CAST(? AS DATE)',
      params: [from],
    };
  if (to)
    clauses.studyDateTo = {
      sql: '"StudyDate" <= CAST(? AS DATE)',
      params: [to],
    };
  if (filter.prediction != null) {
    if (filter.prediction.length === 0 || filter.prediction.length > 10)
      throw badInput(
        `prediction must hold 1 to 10 criteria, got ${filter.prediction.length}`,
        'prediction',
      );
    const parts = filter.prediction.map((c) => {
      for (const key of ['model', 'label'] as const)
        if (!c[key]?.trim() || c[key].length > 200)
          throw badInput(
            `prediction ${key} must be 1-200 characters`,
            'prediction',
          );
      // A classification score is a probability; a bound outside 0-1
      // matches all or nothing, which is never what was meant.
      for (const key of ['minScore', 'maxScore'] as const) {
        const v = c[key];
        if (v != null && !(v >= 0 && v <= 1))
          throw badInput(
            `prediction ${key} must be between 0 and 1 (scores are probabilities), got ${v}`,
            `prediction.${key}`,
          );
      }
      // Reversed bounds match nothing, which is never what was meant.
      for (const [lo, hi] of [
        ['minScore', 'maxScore'],
        ['minValue', 'maxValue'],
      ] as const) {
        const a = c[lo];
        const b = c[hi];
        if (a != null && b != null && a > b)
          throw badInput(
            `prediction ${lo} (${a}) is greater than ${hi} (${b})`,
            `prediction.${lo}`,
          );
      }
      note({
        model: c.model.trim(),
        label: c.label,
        bounds: (
          ['minScore', 'maxScore', 'minValue', 'maxValue'] as const
        ).filter((k) => c[k] != null),
      });
      try {
        return predictionClause({
          model: c.model.trim(),
          label: c.label,
          ...(c.minScore != null ? { minScore: c.minScore } : {}),
          ...(c.maxScore != null ? { maxScore: c.maxScore } : {}),
          ...(c.minValue != null ? { minValue: c.minValue } : {}),
          ...(c.maxValue != null ? { maxValue: c.maxValue } : {}),
        });
      } catch (err) {
        throw badInput((err as Error).message, 'prediction');
      }
    });
    perInstance = true;
    clauses.prediction = {
      sql: parts.map((p) => p.sql).join(' AND '),
      params: parts.flatMap((p) => p.params),
    };
  }
  if (filter.attribute != null) {
    if (filter.attribute.length === 0 || filter.attribute.length > 10)
      throw badInput(
        `attribute must hold 1 to 10 criteria, got ${filter.attribute.length}`,
        'attribute',
      );
    const parts = filter.attribute.map(attributeClause);
    perInstance = true;
    clauses.attribute = {
      sql: parts.map((p) => p.sql).join(' AND '),
      params: parts.flatMap((p) => p.params),
    };
  }
  if (filter.text != null) {
    const text = filter.text.trim();
    if (!text)
      throw badInput(
        'text must not be blank (leave it out to match everything)',
        'text',
      );
    if (text.length > 200)
      throw badInput(`text is ${text.length} characters; at most 200`, 'text');
    const pattern = `%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
    clauses.text = {
      sql: `("StudyDescription" ILIKE ? ESCAPE '\\' OR "SeriesDescription" ILIKE ? ESCAPE '\\')`,
      params: [pattern, pattern],
    };
  }
  return {
    clauses,
    ...(perInstance ? { perInstance } : {}),
    ...(models.length ? { models } : {}),
  };
}

/** A compiled filter as one boolean expression (TRUE when empty). */
function whereClause(filter: CompiledFilter): {
  sql: string;
  params: Array<string | number>;
} {
  const where = whereOf(filter);
  return {
    sql: where.sql ? where.sql.replace(/^WHERE /, '') : 'TRUE',
    params: where.params,
  };
}

/** The WHERE clause of a compiled filter, optionally leaving one field out. */
export function whereOf(
  filter: CompiledFilter,
  without?: keyof CohortFilter,
): { sql: string; params: Array<string | number> } {
  const parts: string[] = [];
  const params: Array<string | number> = [];
  for (const [field, clause] of Object.entries(filter.clauses)) {
    if (field === without || !clause) continue;
    parts.push(clause.sql);
    params.push(...clause.params);
  }
  return { sql: parts.length ? `WHERE ${parts.join(' AND ')}` : '', params };
}
