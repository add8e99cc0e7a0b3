import { GraphQLError, Kind } from 'graphql';
import type { ASTVisitor, ValidationContext } from 'graphql';

/** Most fields one request may select (aliases count), and deepest nesting. */
export const QUERY_LIMITS = { fields: 300, depth: 12 } as const;

/**
 * A validation rule that refuses oversized queries before they run: a
 * thousand aliased cohorts would otherwise hold the server for seconds.
 */
export function limitQuery(context: ValidationContext): ASTVisitor {
  let fields = 0;
  let depth = 0;
  let reported = false;
  const report = (message: string) => {
    if (reported) return;
    reported = true;
    context.reportError(new GraphQLError(message));
  };
  return {
    [Kind.FIELD]: {
      enter() {
        fields++;
        if (fields > QUERY_LIMITS.fields) {
          report(
            `query selects more than ${QUERY_LIMITS.fields} fields; split it into several requests`,
          );
        }
      },
    },
    [Kind.SELECTION_SET]: {
      enter() {
        depth++;
        if (depth > QUERY_LIMITS.depth)
          report(`query nests deeper than ${QUERY_LIMITS.depth} levels`);
      },
      leave() {
        depth--;
      },
    },
  };
}
