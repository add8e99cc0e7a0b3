import 'reflect-metadata';
import type { GraphQLSchema } from 'graphql';
import { buildSchema } from 'type-graphql';
import { CohortResolver } from './resolvers/CohortResolver';

let schema: Promise<GraphQLSchema> | undefined;

/** The API's GraphQL schema, built once from the resolver classes. */
export function lpacsSchema(): Promise<GraphQLSchema> {
  schema ??= buildSchema({ resolvers: [CohortResolver], validate: false });
  return schema;
}
