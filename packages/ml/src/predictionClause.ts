import { MlError, MlErrorCode } from './MlError';

/** A cohort criterion on predictions: a model's label within bounds. */
export interface PredictionCriterion {
  /** Model name (any version) or SHA-256 of model.onnx (one model). */
  model: string;
  label: string;
  /** Inclusive bounds on `score` (classification). */
  minScore?: number;
  maxScore?: number;
  /** Inclusive bounds on `value` (regression, mask fraction). */
  minValue?: number;
  maxValue?: number;
}

/**
 * A WHERE clause over the `instances` view (it must be named `instances`
 * in the query) matching instances with a prediction that meets the
 * criterion: on the instance itself, or on its series for a model that
 * stacks series. Values are parameters, never SQL text.
 * @throws MlError BAD_SELECTION for a bound that is not a finite number.
 */
export function predictionClause(c: PredictionCriterion): {
  sql: string;
  params: Array<string | number>;
} {
  const parts = [
    '(p.model_name = ? OR p.model_sha256 = ?)',
    'p.label = ?',
    `(p."SOPInstanceUID" = instances."SOPInstanceUID" OR (p."SOPInstanceUID" IS NULL AND p."SeriesInstanceUID" = instances."SeriesInstanceUID"))`,
  ];
  const params: Array<string | number> = [c.model, c.model, c.label];
  const bounds = [
    ['minScore', 'score', '>='],
    ['maxScore', 'score', '<='],
    ['minValue', 'value', '>='],
    ['maxValue', 'value', '<='],
  ] as const;
  for (const [key, column, op] of bounds) {
    const v = c[key];
    if (v === undefined || v === null) continue;
    if (typeof v !== 'number' || !Number.isFinite(v))
      throw new MlError(
        MlErrorCode.BadSelection,
        `${key} must be a finite number, got ${String(v)}`,
      );
    parts.push(`p.${column} ${op} ?`);
    params.push(v);
  }
  return {
    sql: `EXISTS (SELECT 1 FROM predictions p WHERE ${parts.join(' AND ')})`,
    params,
  };
}
