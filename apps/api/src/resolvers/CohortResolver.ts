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
import { checkFilter } from '../cohort/checkFilter';
import { decodeCursor } from '../cohort/CohortQueries';
import { StudyOrder } from '../schema/StudyOrder';
import type { ApiContext } from '../context';
import { CohortFilter } from '../schema/CohortFilter';
import {
  Cohort,
  CohortSql,
  Counts,
  Facets,
  StudyPage,
} from '../schema/CohortTypes';

/** The most studies one page may ask for. */
export const MAX_PAGE = 500;

@Resolver(() => Cohort)
export class CohortResolver {
  @Authorized(Action.CohortQuery)
  @Query(() => Cohort, {
    description: 'The instances matching a filter (no filter: the whole lake).',
  })
  async cohort(
    @Ctx() ctx: ApiContext,
    @Arg('filter', () => CohortFilter, { nullable: true })
    filter?: CohortFilter,
  ): Promise<Cohort> {
    const cohort = new Cohort();
    cohort.filter = await checkFilter(filter, ctx.cohorts.catalog);
    return cohort;
  }

  @Authorized(Action.SqlExplain)
  @Query(() => CohortSql, {
    description:
      'The SQL and parameters behind a filter’s counts (admins, for debugging).',
  })
  async cohortSql(
    @Ctx() ctx: ApiContext,
    @Arg('filter', () => CohortFilter, { nullable: true })
    filter?: CohortFilter,
  ): Promise<CohortSql> {
    const { sql, params } = await ctx.cohorts.countsSql(
      await checkFilter(filter, ctx.cohorts.catalog),
    );
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
    @Arg('orderBy', () => StudyOrder, {
      defaultValue: StudyOrder.STUDY_INSTANCE_UID,
    })
    orderBy: StudyOrder = StudyOrder.STUDY_INSTANCE_UID,
    @Arg('descending', () => Boolean, { defaultValue: false })
    descending: boolean = false,
  ): Promise<StudyPage> {
    if (first < 1 || first > MAX_PAGE)
      throw badInput(
        `first must be between 1 and ${MAX_PAGE}, got ${first}`,
        'first',
      );
    const cursor =
      after === undefined || after === null ? undefined : decodeCursor(after);
    if (cursor && 'problem' in cursor) throw badInput(cursor.problem, 'after');
    if (cursor && (cursor.sort !== orderBy || cursor.descending !== descending))
      throw badInput(
        `after comes from a page ordered by ${cursor.sort}${cursor.descending ? ' descending' : ''}; ask with the same order`,
        'after',
      );
    return ctx.cohorts.studies(
      cohort.filter,
      first,
      cursor,
      orderBy,
      descending,
    );
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
    const values = await ctx.cohorts.facets(names, cohort.filter);
    const facets = new Facets();
    for (const n of names) facets[n] = values[n] ?? [];
    return facets;
  }
}
