import { Field, Int, ObjectType } from 'type-graphql';

@ObjectType({ description: 'A local user of this lpacs.' })
export class UserInfo {
  @Field() id!: string;
  @Field() name!: string;
  @Field({ description: 'admin, steward, researcher or collaborator' })
  role!: string;
  @Field() createdAt!: string;
  @Field(() => String, { nullable: true }) disabledAt?: string | undefined;
}

@ObjectType({
  description: 'A user just added, with a generated password shown once.',
})
export class NewUser {
  @Field(() => UserInfo) user!: UserInfo;
  @Field(() => String, { nullable: true }) password?: string | undefined;
}

@ObjectType({
  description: 'An API token or portal session (never its secret).',
})
export class TokenInfoType {
  @Field() id!: string;
  @Field() kind!: string;
  @Field() label!: string;
  @Field(() => [String], { nullable: true }) scopes?: string[] | undefined;
  @Field() createdAt!: string;
  @Field() expiresAt!: string;
  @Field(() => String, { nullable: true }) revokedAt?: string | undefined;
}

@ObjectType({
  description: 'A token just issued: the secret is shown only here.',
})
export class IssuedTokenType {
  @Field(() => TokenInfoType) info!: TokenInfoType;
  @Field({ description: 'Send as "Authorization: Bearer <token>".' })
  token!: string;
}

@ObjectType({ description: 'One entry of the hash-chained audit log.' })
export class AuditEntryType {
  @Field(() => Int) seq!: number;
  @Field() at!: string;
  @Field() actor!: string;
  @Field(() => String, { nullable: true }) role?: string | undefined;
  @Field() action!: string;
  @Field(() => String, { nullable: true }) target?: string | undefined;
  @Field() outcome!: string;
  @Field(() => String, { nullable: true, description: 'Details as JSON.' })
  detail?: string | undefined;
  @Field() hash!: string;
}

@ObjectType({ description: 'The result of recomputing the audit chain.' })
export class AuditVerification {
  @Field(() => Int) entries!: number;
  @Field({
    description: 'Hash of the last entry: note it to detect truncation later.',
  })
  head!: string;
}
