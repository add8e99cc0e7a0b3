import { Field, Float, ID, Int, ObjectType } from 'type-graphql';

@ObjectType()
export class SavedCounts {
  @Field(() => Int) patients!: number;
  @Field(() => Int) studies!: number;
  @Field(() => Int) series!: number;
  @Field(() => Int) instances!: number;
}

@ObjectType({
  description: 'What erasures took out of a saved cohort.',
})
export class CohortErasure {
  @Field(() => Int, { description: 'Instances erased from it, in all.' })
  instances!: number;
  @Field({ description: 'When the last of them was erased.' }) at!: string;
}

@ObjectType({
  description: 'A cohort frozen when saved: its query and its exact instances.',
})
export class SavedCohortType {
  @Field(() => ID) id!: string;
  @Field() name!: string;
  @Field() owner!: string;
  @Field({ description: 'The filter as JSON.' }) filter!: string;
  @Field() createdAt!: string;
  @Field({ description: 'Newest lake batch when saved.' }) lakeVersion!: string;
  @Field(() => SavedCounts, {
    description: 'Its frozen counts; after an erasure, of what is left.',
  })
  counts!: SavedCounts;
  @Field(() => CohortErasure, {
    nullable: true,
    description:
      'Set when instances were erased from it (withdrawn consent, retention).',
  })
  erased?: CohortErasure | undefined;
}

@ObjectType({
  description: 'A request that a collaborator receive a saved cohort.',
})
export class ShareRequestType {
  @Field(() => ID) id!: string;
  @Field() cohortId!: string;
  @Field({ description: 'The saved cohort’s name.' }) cohortName!: string;
  @Field() requester!: string;
  @Field() collaborator!: string;
  @Field() purpose!: string;
  @Field() expiresAt!: string;
  @Field({ description: 'pending, approved, denied or revoked' })
  status!: string;
  @Field() requestedAt!: string;
  @Field(() => String, { nullable: true }) decidedBy?: string | undefined;
  @Field(() => String, { nullable: true }) decidedAt?: string | undefined;
  @Field(() => String, { nullable: true }) reason?: string | undefined;
  @Field(() => String, { nullable: true }) releaseId?: string | undefined;
}

@ObjectType({ description: 'An immutable dataset made by an approval.' })
export class ReleaseType {
  @Field(() => ID) id!: string;
  @Field() shareId!: string;
  @Field() cohortName!: string;
  @Field() collaborator!: string;
  @Field() createdAt!: string;
  @Field() expiresAt!: string;
  @Field({ description: 'approved or revoked' }) status!: string;
  @Field(() => Int) fileCount!: number;
  @Field(() => Float) totalBytes!: number;
  @Field(() => SavedCounts) counts!: SavedCounts;
}

@ObjectType({
  description: 'A signed link that downloads a release for a few minutes.',
})
export class DownloadLink {
  @Field({ description: 'The whole release as a zip (GET).' }) zipUrl!: string;
  @Field({
    description:
      'The manifest (GET); files under .../files/<path> with the same query.',
  })
  manifestUrl!: string;
  @Field() expiresAt!: string;
}
