import { predictionClause } from '@lpacs/ml';
import { badInput } from '../ApiError';
import type { CohortFilter } from '../schema/CohortFilter';

/** A filter turned into SQL clauses over `instances` with their parameters. */
export interface CompiledFilter {
  /** One clause per filter field, keyed by field, so facets can leave their own out. */
  clauses: Partial<
    Record<keyof CohortFilter, { sql: string; params: Array<string | number> }>
  >;
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
  if (depth > MAX_DEPTH)
    throw badInput(
      `allOf, anyOf and not nest at most ${MAX_DEPTH} levels deep`,
      'allOf',
    );
  const nested = (field: 'allOf' | 'anyOf', joiner: string) => {
    const parts = filter[field];
    if (parts == null) return;
    if (parts.length === 0 || parts.length > MAX_PARTS)
      throw badInput(
        `${field} must hold 1 to ${MAX_PARTS} filters, got ${parts.length}`,
        field,
      );
    const compiled = parts.map((p) => whereClause(compileFilter(p, depth + 1)));
    clauses[field] = {
      sql: `(${compiled.map((c) => `(${c.sql})`).join(joiner)})`,
      params: compiled.flatMap((c) => c.params),
    };
  };
  nested('allOf', ' AND ');
  nested('anyOf', ' OR ');
  if (filter.not != null) {
    const inner = whereClause(compileFilter(filter.not, depth + 1));
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
    clauses.prediction = {
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
  return { clauses };
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
