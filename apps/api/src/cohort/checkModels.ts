import type { Catalog } from '@lpacs/lake';
import { badInput } from '../ApiError';
import type { CompiledFilter } from './compileFilter';

/**
 * Refuses a filter naming a model (by name or SHA-256) that has no
 * predictions in the lake: a misspelt name would otherwise match nothing
 * and read as a true zero.
 * @throws GraphQLError BAD_USER_INPUT naming the model and the known ones.
 */
export async function checkModels(
  filter: CompiledFilter,
  catalog: Catalog,
): Promise<void> {
  if (!filter.models?.length) return;
  const rows = await catalog.query(
    'SELECT DISTINCT model_name, model_sha256 FROM predictions ORDER BY model_name',
  );
  const known = new Set(
    rows.flatMap((r) => [String(r.model_name), String(r.model_sha256)]),
  );
  const unknown = filter.models.filter((m) => !known.has(m));
  if (!unknown.length) return;
  const names = [...new Set(rows.map((r) => String(r.model_name)))];
  throw badInput(
    `no predictions from model "${unknown[0]!.slice(0, 80)}" in this lake (${
      names.length
        ? `models with predictions: ${names.join(', ')}`
        : 'no model has run yet'
    }); run it with runModel or lpacs predict first`,
    'prediction',
  );
}
