import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { GraphQLError } from 'graphql';
import { compileFilter } from '../cohort/compileFilter';
import type { CohortFilter } from '../schema/CohortFilter';

/** The code, field and message of the error compiling `filter` throws. */
function refusal(filter: object) {
  try {
    compileFilter(filter as CohortFilter);
  } catch (err) {
    assert.ok(err instanceof GraphQLError);
    return {
      code: err.extensions.code,
      field: err.extensions.field,
      message: err.message,
    };
  }
  return undefined;
}

/** A modality filter wrapped in `levels` filters, each under `field`. */
function nested(field: 'allOf' | 'anyOf' | 'not', levels: number): object {
  let f: object = { modality: ['CT'] };
  for (let i = 0; i < levels; i++)
    f = field === 'not' ? { not: f } : { [field]: [f] };
  return f;
}

describe('cohort filter validation', () => {
  it('names the field that nests too deep: not, allOf or anyOf', () => {
    // MAX_DEPTH is 4: a leaf under 4 levels compiles, under 5 it does not.
    for (const field of ['not', 'allOf', 'anyOf'] as const) {
      assert.equal(refusal(nested(field, 4)), undefined, field);
      const r = refusal(nested(field, 5));
      assert.equal(r?.code, 'BAD_USER_INPUT');
      assert.equal(r?.field, field);
      assert.match(r?.message ?? '', /nest at most 4 levels deep/);
    }
    // The deepest step decides: allOf holding a not chain is a not error.
    assert.equal(refusal({ allOf: [nested('not', 4)] })?.field, 'not');
  });

  it('takes prediction score bounds from 0 to 1 and names a bound outside', () => {
    const score = (bounds: object) => ({
      prediction: [{ model: 'm', label: 'l', ...bounds }],
    });
    for (const ok of [{ minScore: 0 }, { maxScore: 1 }, { minScore: 0.5 }])
      assert.equal(refusal(score(ok)), undefined, JSON.stringify(ok));
    assert.deepEqual(refusal(score({ minScore: 2 })), {
      code: 'BAD_USER_INPUT',
      field: 'prediction.minScore',
      message:
        'prediction minScore must be between 0 and 1 (scores are probabilities), got 2',
    });
    assert.equal(
      refusal(score({ maxScore: -0.1 }))?.field,
      'prediction.maxScore',
    );
    // Values (regression outputs) have no such range.
    assert.equal(refusal(score({ minValue: 250 })), undefined);
  });

  it('names the lower bound of a reversed prediction range', () => {
    const within = (bounds: object) => ({
      allOf: [{ prediction: [{ model: 'm', label: 'l', ...bounds }] }],
    });
    assert.deepEqual(refusal(within({ minScore: 0.9, maxScore: 0.1 })), {
      code: 'BAD_USER_INPUT',
      field: 'prediction.minScore',
      message: 'prediction minScore (0.9) is greater than maxScore (0.1)',
    });
    assert.equal(
      refusal(within({ minValue: 10, maxValue: -3 }))?.field,
      'prediction.minValue',
    );
    assert.equal(refusal(within({ minScore: 0.5, maxScore: 0.5 })), undefined);
    assert.equal(refusal(within({ minValue: -3, maxValue: 10 })), undefined);
  });
});
