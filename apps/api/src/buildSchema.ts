import 'reflect-metadata';
import type { GraphQLSchema } from 'graphql';
import { buildSchema } from 'type-graphql';
import { authChecker } from './access/authChecker';
import { AccessResolver } from './resolvers/AccessResolver';
import { CohortResolver } from './resolvers/CohortResolver';
import { ModelResolver } from './resolvers/ModelResolver';

let schema: Promise<GraphQLSchema> | undefined;

/** The API's GraphQL schema, built once from the resolver classes. */
export function lpacsSchema(): Promise<GraphQLSchema> {
  schema ??= buildSchema({
    resolvers: [AccessResolver, CohortResolver, ModelResolver],
    authChecker,
    validate: false,
  });
  return schema;
}
