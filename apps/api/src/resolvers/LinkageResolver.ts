import {
  AccessError,
  AccessErrorCode,
  Action,
  typedTarget,
} from '@lpacs/access';
import { PATIENT_PSEUDONYM } from '@lpacs/deid';
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
    const given = pseudonym.trim();
    const shaped = PATIENT_PSEUDONYM.test(given);
    // Only what has a pseudonym's form is looked up and written: anything
    // else (an MRN pasted here) would be the very identifier the log must
    // not hold, so the entry names it by a keyed digest (see typedTarget).
    const found = shaped
      ? new LinkageReader(ctx.lakeRoot).lookup(given)
      : undefined;
    await ctx.gate.record(
      'linkage.lookup',
      found ? 'ok' : 'failed',
      shaped ? given : typedTarget(ctx.lakeRoot, given),
      {
        reason: reason.trim().slice(0, 200),
        ...(shaped ? {} : { given: 'not a pseudonym' }),
      },
    );
    if (!found)
      throw new AccessError(
        AccessErrorCode.NotFound,
        shaped
          ? `no linkage for pseudonym ${given}`
          : 'what was given is not a pseudonym of this lake (LP and 16 letters or digits); it is not repeated here or in the audit log',
      );
    return Object.assign(new Reidentification(), {
      ...found,
      accessions: found.accessions.map(([original, pseudo]) =>
        Object.assign(new AccessionLink(), { original, pseudonym: pseudo }),
      ),
    });
  }
}
