import 'reflect-metadata';
import type { GraphQLSchema } from 'graphql';
import { buildSchema } from 'type-graphql';
import { authChecker } from './access/authChecker';
import { AccessResolver } from './resolvers/AccessResolver';
import { CohortResolver } from './resolvers/CohortResolver';
import { ConfigResolver } from './resolvers/ConfigResolver';
import { LinkageResolver } from './resolvers/LinkageResolver';
import { ModelResolver } from './resolvers/ModelResolver';
import { OperationsResolver } from './resolvers/OperationsResolver';
import { StatusResolver } from './resolvers/StatusResolver';
import {
  SavedCohortResolver,
  SharingResolver,
} from './resolvers/SharingResolver';

let schema: Promise<GraphQLSchema> | undefined;

/** The API's GraphQL schema, built once from the resolver classes. */
export function lpacsSchema(): Promise<GraphQLSchema> {
  schema ??= buildSchema({
    resolvers: [
      AccessResolver,
      CohortResolver,
      ConfigResolver,
      LinkageResolver,
      ModelResolver,
      OperationsResolver,
      SharingResolver,
      SavedCohortResolver,
      StatusResolver,
    ],
    authChecker,
    validate: false,
  });
  return schema;
}
