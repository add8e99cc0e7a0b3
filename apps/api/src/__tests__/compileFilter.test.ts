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
  it('names the field that nests too deep by its path: not, allOf or anyOf', () => {
    // MAX_DEPTH is 4: a leaf under 4 levels compiles, under 5 it does not;
    // the fifth level's field is named by where it is.
    for (const field of ['not', 'allOf', 'anyOf'] as const) {
      assert.equal(refusal(nested(field, 4)), undefined, field);
      const r = refusal(nested(field, 5));
      const step = field === 'not' ? 'not' : `${field}[0]`;
      const outer = Array(4).fill(step).join('.');
      assert.deepEqual(r, {
        code: 'BAD_USER_INPUT',
        field: `${outer}.${field}`,
        message: `in ${outer}: allOf, anyOf and not nest at most 4 levels deep (${field} at level 5)`,
      });
    }
    // The deepest step decides: allOf holding a not chain is a not error.
    assert.equal(
      refusal({ allOf: [nested('not', 4)] })?.field,
      'allOf[0].not.not.not.not',
    );
  });

  it('names the position of a nested filter that fails (new-user case: anyOf[1] answered as sex)', () => {
    const sex = 'sex must be M, F or O, got "X"';
    // Top level: the field alone, as before.
    assert.deepEqual(refusal({ sex: ['X'] }), {
      code: 'BAD_USER_INPUT',
      field: 'sex',
      message: sex,
    });
    const cases: Array<[object, string]> = [
      [{ anyOf: [{ modality: ['CT'] }, { sex: ['X'] }] }, 'anyOf[1]'],
      [{ allOf: [{ sex: ['X'] }, { modality: ['CT'] }] }, 'allOf[0]'],
      [{ not: { sex: ['X'] } }, 'not'],
      [
        {
          allOf: [
            { modality: ['CT'] },
            { not: { anyOf: [{}, { sex: ['X'] }] } },
          ],
        },
        'allOf[1].not.anyOf[1]',
      ],
      [
        { not: { allOf: [{ anyOf: [{ sex: ['X'] }] }] } },
        'not.allOf[0].anyOf[0]',
      ],
    ];
    for (const [filter, at] of cases)
      assert.deepEqual(
        refusal(filter),
        {
          code: 'BAD_USER_INPUT',
          field: `${at}.sex`,
          message: `in ${at}: ${sex}`,
        },
        JSON.stringify(filter),
      );
    // Fields with their own sub-path keep it after the position.
    assert.deepEqual(
      refusal({
        anyOf: [
          { modality: ['MR'] },
          { not: { prediction: [{ model: 'm', label: 'l', minScore: 2 }] } },
        ],
      }),
      {
        code: 'BAD_USER_INPUT',
        field: 'anyOf[1].not.prediction.minScore',
        message:
          'in anyOf[1].not: prediction minScore must be between 0 and 1 (scores are probabilities), got 2',
      },
    );
    // Every kind of criterion: dates, ages, lists, text, attributes.
    for (const [inner, field] of [
      [{ studyDateFrom: '2020-02-30' }, 'studyDateFrom'],
      [{ ageMin: 70, ageMax: 20 }, 'ageMin'],
      [{ modality: [] }, 'modality'],
      [{ text: ' ' }, 'text'],
      [
        { attribute: [{ keyword: 'KVP', op: 'GT', value: 'high' }] },
        'attribute',
      ],
      [{ anyOf: [] }, 'anyOf'],
    ] as const) {
      const r = refusal({ allOf: [{ modality: ['CT'] }, { not: inner }] });
      assert.equal(r?.field, `allOf[1].not.${field}`, JSON.stringify(inner));
      assert.match(r?.message ?? '', /^in allOf\[1\]\.not: /);
    }
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
      field: 'allOf[0].prediction.minScore',
      message:
        'in allOf[0]: prediction minScore (0.9) is greater than maxScore (0.1)',
    });
    assert.equal(
      refusal(within({ minValue: 10, maxValue: -3 }))?.field,
      'allOf[0].prediction.minValue',
    );
    assert.equal(refusal(within({ minScore: 0.5, maxScore: 0.5 })), undefined);
    assert.equal(refusal(within({ minValue: -3, maxValue: 10 })), undefined);
  });
});
