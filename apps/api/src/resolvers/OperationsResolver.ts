import { Action } from '@lpacs/access';
import {
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

@ObjectType({ description: 'Requests answered in the recent window.' })
class RecentRequestsType {
  @Field(() => Int) windowSeconds!: number;
  @Field(() => Int) requests!: number;
  @Field(() => Int, { description: 'Answers with a 5xx status' })
  serverErrors!: number;
  @Field(() => Int, { description: 'Answers with a 4xx status' })
  clientErrors!: number;
  @Field(() => Float, {
    nullable: true,
    description: 'Server errors over requests',
  })
  errorRate!: number | null;
  @Field(() => Float, { nullable: true }) p50Ms!: number | null;
  @Field(() => Float, { nullable: true }) p95Ms!: number | null;
}

@ObjectType({ description: 'Ingest through this API process, all runs.' })
class IngestTotalsType {
  @Field(() => Int) runs!: number;
  @Field(() => Int) failedRuns!: number;
  @Field(() => Int) filesSeen!: number;
  @Field(() => Int) ingested!: number;
  @Field(() => Int) skipped!: number;
  @Field(() => Int) quarantined!: number;
  @Field(() => Int) conflicts!: number;
  @Field(() => Float) busySeconds!: number;
  @Field(() => Float, {
    nullable: true,
    description: 'Files a second while ingesting',
  })
  filesPerSecond!: number | null;
  @Field({ nullable: true }) lastRunAt?: string;
}

@ObjectType({ description: 'The last backup recorded in the lake.' })
class LastBackupType {
  @Field() snapshot!: string;
  @Field() at!: string;
  @Field(() => Float) ageSeconds!: number;
  @Field(() => Int) files!: number;
  @Field(() => Float) bytes!: number;
}

@ObjectType({
  description:
    'The head of the audit hash chain as recorded beside the log: copy it off the machine, and lpacs audit verify ENTRIES:HASH finds a log cut or rewritten since.',
})
class AuditHeadType {
  @Field(() => Int) entries!: number;
  @Field({ description: 'SHA-256 hash of the last entry' }) hash!: string;
  @Field({ description: 'When the last entry was appended' }) at!: string;
}

@ObjectType({
  description: 'The API process and its lake at a glance (no identifiers).',
})
class Operations {
  @Field(() => Float) uptimeSeconds!: number;
  @Field(() => RecentRequestsType) recent!: RecentRequestsType;
  @Field(() => IngestTotalsType, {
    nullable: true,
    description: 'Null until this process ingests (STOW-RS, sync, DIMSE)',
  })
  ingest!: IngestTotalsType | null;
  @Field(() => Int) instances!: number;
  @Field(() => Float) objectBytes!: number;
  @Field(() => Float) diskFreeBytes!: number;
  @Field(() => Float) diskTotalBytes!: number;
  @Field(() => LastBackupType, { nullable: true })
  lastBackup!: LastBackupType | null;
  @Field(() => AuditHeadType, {
    nullable: true,
    description: 'Null when none is recorded or it does not read',
  })
  auditHead!: AuditHeadType | null;
}

/** The monitoring page's data, for admins and stewards. */
@Resolver()
export class OperationsResolver {
  @Authorized(Action.LakeStatus)
  @Query(() => Operations)
  async operations(@Ctx() ctx: ApiContext): Promise<Operations> {
    const o = await ctx.operations();
    const r = o.recent;
    return {
      ...o,
      recent: {
        ...r,
        errorRate: r.requests ? r.serverErrors / r.requests : null,
      },
      ingest: o.ingest && {
        ...o.ingest,
        filesPerSecond:
          o.ingest.busySeconds > 0
            ? o.ingest.filesSeen / o.ingest.busySeconds
            : null,
        ...(o.ingest.lastRunAt ? { lastRunAt: o.ingest.lastRunAt } : {}),
      },
    };
  }
}
