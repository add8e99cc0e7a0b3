import { Action } from '@lpacs/access';
import {
  Arg,
  Authorized,
  Ctx,
  FieldResolver,
  Int,
  Query,
  Resolver,
  Root,
} from 'type-graphql';
import { badInput } from '../ApiError';
import { compileFilter } from '../cohort/compileFilter';
import { decodeCursor } from '../cohort/CohortQueries';
import type { ApiContext } from '../context';
import { CohortFilter } from '../schema/CohortFilter';
import {
  Cohort,
  CohortSql,
  Counts,
  Facets,
  StudyPage,
} from '../schema/CohortTypes';
import type { FacetValue } from '../schema/CohortTypes';

/** The most studies one page may ask for. */
export const MAX_PAGE = 500;

@Resolver(() => Cohort)
export class CohortResolver {
  @Authorized(Action.CohortQuery)
  @Query(() => Cohort, {
    description: 'The instances matching a filter (no filter: the whole lake).',
  })
  cohort(
    @Arg('filter', () => CohortFilter, { nullable: true })
    filter?: CohortFilter,
  ): Cohort {
    const cohort = new Cohort();
    cohort.filter = compileFilter(filter);
    return cohort;
  }

  @Authorized(Action.SqlExplain)
  @Query(() => CohortSql, {
    description:
      'The SQL and parameters behind a filter’s counts (admins, for debugging).',
  })
  cohortSql(
    @Ctx() ctx: ApiContext,
    @Arg('filter', () => CohortFilter, { nullable: true })
    filter?: CohortFilter,
  ): CohortSql {
    const { sql, params } = ctx.cohorts.countsSql(compileFilter(filter));
    return Object.assign(new CohortSql(), {
      sql,
      params: params.map((p) => JSON.stringify(p)),
    });
  }

  @FieldResolver(() => Counts)
  counts(@Root() cohort: Cohort, @Ctx() ctx: ApiContext): Promise<Counts> {
    return ctx.cohorts.counts(cohort.filter);
  }

  @FieldResolver(() => StudyPage)
  studies(
    @Root() cohort: Cohort,
    @Ctx() ctx: ApiContext,
    @Arg('first', () => Int, { defaultValue: 50 }) first: number,
    @Arg('after', () => String, { nullable: true }) after?: string,
  ): Promise<StudyPage> {
    if (first < 1 || first > MAX_PAGE)
      throw badInput(
        `first must be between 1 and ${MAX_PAGE}, got ${first}`,
        'first',
      );
    const uid =
      after === undefined || after === null ? undefined : decodeCursor(after);
    if (after != null && uid === undefined)
      throw badInput('after is not a cursor returned by this API', 'after');
    return ctx.cohorts.studies(cohort.filter, first, uid);
  }

  @FieldResolver(() => Facets)
  async facets(
    @Root() cohort: Cohort,
    @Ctx() ctx: ApiContext,
  ): Promise<Facets> {
    const names = [
      'modality',
      'bodyPart',
      'sex',
      'manufacturer',
      'ageDecade',
      'studyYear',
    ] as const;
    const values = await Promise.all(
      names.map((n) => ctx.cohorts.facet(n, cohort.filter)),
    );
    const facets = new Facets();
    names.forEach((n, i) => {
      facets[n] = values[i] as FacetValue[];
    });
    return facets;
  }
}
