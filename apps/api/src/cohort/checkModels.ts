import type { Catalog } from '@lpacs/lake';
import { badInput } from '../ApiError';
import type { CompiledFilter } from './compileFilter';

/**
 * Refuses a filter naming a model (by name or SHA-256) that has no
 * predictions in the lake, or a label that model never gave: a misspelt
 * name or label would otherwise match nothing and read as a true zero.
 * @throws GraphQLError BAD_USER_INPUT naming the model or label and the
 * known ones.
 */
export async function checkModels(
  filter: CompiledFilter,
  catalog: Catalog,
): Promise<void> {
  if (!filter.models?.length) return;
  const rows = await catalog.query(
    'SELECT DISTINCT model_name, model_sha256, label FROM predictions ORDER BY model_name, label',
  );
  for (const { model, label } of filter.models) {
    const own = rows.filter(
      (r) => r.model_name === model || r.model_sha256 === model,
    );
    if (!own.length) {
      const names = [...new Set(rows.map((r) => String(r.model_name)))];
      throw badInput(
        `no predictions from model "${model.slice(0, 80)}" in this lake (${
          names.length
            ? `models with predictions: ${names.join(', ')}`
            : 'no model has run yet'
        }); run it with runModel or lpacs predict first`,
        'prediction',
      );
    }
    if (!own.some((r) => r.label === label))
      throw badInput(
        `model "${model.slice(0, 80)}" has no predictions labelled "${label.slice(0, 80)}" (its labels: ${[...new Set(own.map((r) => String(r.label)))].join(', ')})`,
        'prediction',
      );
  }
}
