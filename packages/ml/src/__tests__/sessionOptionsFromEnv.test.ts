import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MlErrorCode } from '../MlError';
import { sessionOptionsFromEnv } from '../sessionOptionsFromEnv';

describe('sessionOptionsFromEnv', () => {
  it('reads each $LPACS_ORT_* setting, and none when unset', () => {
    assert.deepEqual(sessionOptionsFromEnv({}), {});
    assert.deepEqual(
      sessionOptionsFromEnv({
        LPACS_ORT_PROVIDERS: ' cuda, cpu ,',
        LPACS_ORT_THREADS: '3',
        LPACS_ORT_SESSIONS: '2',
        LPACS_ORT_BATCH: '16',
      }),
      {
        executionProviders: ['cuda', 'cpu'],
        intraOpNumThreads: 3,
        poolSize: 2,
        maxBatch: 16,
      },
    );
  });

  it('names a setting that is not a whole number of 1 or more', () => {
    for (const [name, value] of [
      ['LPACS_ORT_THREADS', '0'],
      ['LPACS_ORT_SESSIONS', '1.5'],
      ['LPACS_ORT_BATCH', 'eight'],
      ['LPACS_ORT_THREADS', '-2'],
    ] as const)
      assert.throws(() => sessionOptionsFromEnv({ [name]: value }), {
        code: MlErrorCode.BadSetting,
        message: `$${name} must be a whole number of 1 or more, got "${value}"`,
      });
    assert.throws(() => sessionOptionsFromEnv({ LPACS_ORT_PROVIDERS: ' , ' }), {
      code: MlErrorCode.BadSetting,
      message:
        '$LPACS_ORT_PROVIDERS must name execution providers (e.g. cuda,cpu), got " , "',
    });
  });
});
