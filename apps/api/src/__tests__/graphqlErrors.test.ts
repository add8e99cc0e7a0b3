import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Metrics } from '../http/Metrics';
import {
  countGraphqlErrors,
  describeGraphqlErrors,
} from '../http/graphqlErrors';

/** The lpacs_graphql_errors_total lines of the exposition text. */
function errorLines(metrics: Metrics): string[] {
  return metrics
    .render({})
    .split('\n')
    .filter((l) => l.includes('lpacs_graphql_errors_total'));
}

describe('lpacs_graphql_errors_total', () => {
  it('starts the server codes at 0 with HELP and TYPE', () => {
    const m = new Metrics();
    describeGraphqlErrors(m);
    const lines = errorLines(m);
    assert.match(lines[0]!, /^# HELP lpacs_graphql_errors_total \S/);
    assert.deepEqual(lines.slice(1), [
      '# TYPE lpacs_graphql_errors_total counter',
      'lpacs_graphql_errors_total{code="INTERNAL_SERVER_ERROR"} 0',
      'lpacs_graphql_errors_total{code="QUERY_TIMEOUT"} 0',
    ]);
  });

  it('counts each error of an answer by its code; anything else is OTHER', () => {
    const m = new Metrics();
    describeGraphqlErrors(m);
    countGraphqlErrors(m, [
      { extensions: { code: 'INTERNAL_SERVER_ERROR' } },
      { extensions: { code: 'INTERNAL_SERVER_ERROR' } },
      { extensions: { code: 'FORBIDDEN' } },
    ]);
    countGraphqlErrors(m, [
      { extensions: { code: 'not a code "x"' } },
      { extensions: {} },
      {},
    ]);
    countGraphqlErrors(m, []);
    assert.deepEqual(errorLines(m).slice(2), [
      'lpacs_graphql_errors_total{code="INTERNAL_SERVER_ERROR"} 2',
      'lpacs_graphql_errors_total{code="QUERY_TIMEOUT"} 0',
      'lpacs_graphql_errors_total{code="FORBIDDEN"} 1',
      'lpacs_graphql_errors_total{code="OTHER"} 3',
    ]);
  });
});
