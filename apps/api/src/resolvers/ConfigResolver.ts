import {
  Authorized,
  Ctx,
  Field,
  ObjectType,
  Query,
  Resolver,
} from 'type-graphql';
import type { ApiContext } from '../context';

@ObjectType({ description: 'Server settings the portal adapts to.' })
class PortalConfig {
  @Field(() => String, {
    nullable: true,
    description:
      'Base URL of an OHIF Viewer over this DICOMweb (lpacs serve --ohif-url); null when none',
  })
  ohifUrl!: string | null;
}

/** What the portal needs to know of the server's configuration. */
@Resolver()
export class ConfigResolver {
  @Authorized()
  @Query(() => PortalConfig)
  portalConfig(@Ctx() ctx: ApiContext): PortalConfig {
    return Object.assign(new PortalConfig(), { ohifUrl: ctx.ohifUrl ?? null });
  }
}
