import { Action } from '@lpacs/access';
import { Lake } from '@lpacs/lake';
import {
  Arg,
  Authorized,
  Ctx,
  Field,
  Float,
  Int,
  ObjectType,
  Query,
  Resolver,
} from 'type-graphql';
import type { ApiContext } from '../context';

@ObjectType({ description: 'A file the lake refused, and why.' })
class QuarantineEntry {
  @Field() id!: string;
  @Field({ description: 'NOT_DICOM, TRUNCATED, CONFLICT, ...' }) code!: string;
  @Field() message!: string;
  @Field({ description: 'Where it came from (an operator path or URL)' })
  source!: string;
  @Field() at!: string;
}

@ObjectType({ description: 'What the lake holds and what it refused.' })
class LakeStatus {
  @Field(() => Int) patients!: number;
  @Field(() => Int) studies!: number;
  @Field(() => Int) series!: number;
  @Field(() => Int) instances!: number;
  @Field(() => Float, { description: 'Bytes of stored objects' })
  objectBytes!: number;
  @Field(() => Int) batches!: number;
  @Field(() => Int) quarantinedCount!: number;
  @Field(() => [QuarantineEntry], { description: 'Newest first' })
  quarantined!: QuarantineEntry[];
}

/** Ingest status and the quarantine, for admins and stewards. */
@Resolver()
export class StatusResolver {
  @Authorized(Action.LakeStatus)
  @Query(() => LakeStatus)
  async lakeStatus(
    @Ctx() ctx: ApiContext,
    @Arg('limit', () => Int, { defaultValue: 100 }) limit: number,
  ): Promise<LakeStatus> {
    const lake = await Lake.open(ctx.lakeRoot, undefined, 'read');
    try {
      const [counts] = await ctx.cohorts.catalog.query(
        `SELECT count(DISTINCT "PatientID") AS patients, count(DISTINCT "StudyInstanceUID") AS studies,
                count(DISTINCT "SeriesInstanceUID") AS series, count(*) AS instances,
                coalesce(sum(size_bytes), 0) AS bytes FROM instances`,
      );
      const quarantined = await lake.quarantined();
      return Object.assign(new LakeStatus(), {
        patients: Number(counts?.patients ?? 0),
        studies: Number(counts?.studies ?? 0),
        series: Number(counts?.series ?? 0),
        instances: Number(counts?.instances ?? 0),
        objectBytes: Number(counts?.bytes ?? 0),
        batches: (await lake.batches()).length,
        quarantinedCount: quarantined.length,
        quarantined: quarantined
          .slice(0, Math.max(1, Math.min(limit, 1000)))
          .map((q) => Object.assign(new QuarantineEntry(), q)),
      });
    } finally {
      lake.close();
    }
  }
}
