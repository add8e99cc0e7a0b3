import type { Catalog } from '@lpacs/lake';
import { badInput } from '../ApiError';
import type { CompiledFilter } from './compileFilter';
import { within } from './compileFilter';

/**
 * Refuses a filter naming a model (by name or SHA-256) that has no
 * predictions in the lake, or a label that model never gave: a misspelt
 * name or label would otherwise match nothing and read as a true zero.
 * @throws GraphQLError BAD_USER_INPUT naming the model or label and the
 * known ones, or a score bound on a label that has values (or a value
 * bound on one that has scores), naming that bound; a criterion inside
 * allOf/anyOf/not is named by its position (`anyOf[1].prediction`).
 */
export async function checkModels(
  filter: CompiledFilter,
  catalog: Catalog,
): Promise<void> {
  if (!filter.models?.length) return;
  const rows = await catalog.query(
    `SELECT model_name, model_sha256, label,
            bool_or(score IS NOT NULL) AS scored,
            bool_or(value IS NOT NULL) AS valued
     FROM predictions GROUP BY ALL ORDER BY model_name, label`,
  );
  for (const { model, label, bounds = [], at } of filter.models) {
    const bad = (message: string, field: string) =>
      badInput(at ? `in ${at}: ${message}` : message, within(at, field));
    const own = rows.filter(
      (r) => r.model_name === model || r.model_sha256 === model,
    );
    if (!own.length) {
      const names = [...new Set(rows.map((r) => String(r.model_name)))];
      throw bad(
        `no predictions from model "${model.slice(0, 80)}" in this lake (${
          names.length
            ? `models with predictions: ${names.join(', ')}`
            : 'no model has run yet'
        }); run it with runModel or lpacs predict first`,
        'prediction',
      );
    }
    if (!own.some((r) => r.label === label))
      throw bad(
        `model "${model.slice(0, 80)}" has no predictions labelled "${label.slice(0, 80)}" (its labels: ${[...new Set(own.map((r) => String(r.label)))].join(', ')})`,
        'prediction',
      );
    // A classification model gives scores, a regression or segmentation
    // model values: a bound on what the label never has matches nothing.
    const mine = own.filter((r) => r.label === label);
    const scored = mine.some((r) => r.scored === true);
    const valued = mine.some((r) => r.valued === true);
    for (const key of bounds) {
      const onScore = key.endsWith('Score');
      if (onScore ? scored : valued) continue;
      throw bad(
        `prediction ${key}: model "${model.slice(0, 80)}" gives label "${label.slice(0, 80)}" ${
          onScore
            ? 'values, not scores (a regression or segmentation model): use minValue/maxValue'
            : 'scores, not values (a classification model): use minScore/maxScore'
        }`,
        `prediction.${key}`,
      );
    }
  }
}
