import { AccessError, AccessErrorCode, Action } from '@lpacs/access';
import {
  Arg,
  Authorized,
  Ctx,
  Field,
  Mutation,
  ObjectType,
  Resolver,
} from 'type-graphql';
import type { ApiContext } from '../context';
import { LinkageReader } from '../linkage/LinkageReader';

@ObjectType()
class AccessionLink {
  @Field() original!: string;
  @Field() pseudonym!: string;
}

@ObjectType({
  description:
    'The original identifiers behind a pseudonym (steward only; audited).',
})
class Reidentification {
  @Field() pseudonym!: string;
  @Field(() => String, { nullable: true }) patientID?: string | undefined;
  @Field(() => String, { nullable: true }) issuerOfPatientID?:
    string | undefined;
  @Field(() => String, {
    nullable: true,
    description: 'Only when the original had no PatientID.',
  })
  patientName?: string | undefined;
  @Field(() => String, { nullable: true }) patientBirthDate?:
    string | undefined;
  @Field(() => [AccessionLink]) accessions!: AccessionLink[];
}

/** The steward's use of the linkage: each lookup is audited with its reason. */
@Resolver()
export class LinkageResolver {
  @Authorized(Action.LinkageUse)
  @Mutation(() => Reidentification, {
    description:
      'Looks up who a pseudonymous PatientID was, giving a reason for the audit log.',
  })
  async reidentify(
    @Ctx() ctx: ApiContext,
    @Arg('pseudonym') pseudonym: string,
    @Arg('reason') reason: string,
  ): Promise<Reidentification> {
    if (!reason.trim())
      throw new AccessError(
        AccessErrorCode.BadInput,
        'a re-identification needs a reason',
      );
    const found = new LinkageReader(ctx.lakeRoot).lookup(pseudonym.trim());
    await ctx.gate.record(
      'linkage.lookup',
      found ? 'ok' : 'failed',
      pseudonym.slice(0, 40),
      {
        reason: reason.trim().slice(0, 200),
      },
    );
    if (!found)
      throw new AccessError(
        AccessErrorCode.NotFound,
        `no linkage for pseudonym "${pseudonym.slice(0, 40)}"`,
      );
    return Object.assign(new Reidentification(), {
      ...found,
      accessions: found.accessions.map(([original, pseudo]) =>
        Object.assign(new AccessionLink(), { original, pseudonym: pseudo }),
      ),
    });
  }
}
