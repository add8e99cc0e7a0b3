import type { Catalog } from '@lpacs/lake';
import type { CohortFilter } from '../schema/CohortFilter';
import { checkModels } from './checkModels';
import { compileFilter } from './compileFilter';
import type { CompiledFilter } from './compileFilter';

/**
 * The one check every entry point that takes a CohortFilter from a caller
 * runs (cohort, cohortSql, saveCohort, runModel): the filter compiled, which
 * refuses malformed criteria and reversed ranges, then its prediction
 * criteria checked against the lake (model and label known, bounds on what
 * the label has). A filter taken without it could match nothing and read as
 * a true zero, or start a job that finds no instance.
 * @throws GraphQLError BAD_USER_INPUT naming the field.
 */
export async function checkFilter(
  filter: CohortFilter | undefined | null,
  catalog: Catalog,
): Promise<CompiledFilter> {
  const compiled = compileFilter(filter);
  await checkModels(compiled, catalog);
  return compiled;
}
