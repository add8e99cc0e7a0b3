import { GraphQLError } from 'graphql';

/** Error codes clients see in `extensions.code`. */
export enum ErrorCode {
  BadUserInput = 'BAD_USER_INPUT',
  NotFound = 'NOT_FOUND',
  Internal = 'INTERNAL_SERVER_ERROR',
}

/** A client mistake with a message that names the bad value (never PHI). */
export function badInput(message: string, field?: string): GraphQLError {
  return new GraphQLError(message, {
    extensions: { code: ErrorCode.BadUserInput, ...(field ? { field } : {}) },
  });
}
