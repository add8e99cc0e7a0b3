import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { redactIdentifiers } from '../redactIdentifiers';

const X = 'LPABCDEFGHIJKLMNOP';
const Y = 'LPQRSTUVWXYZ234567';

describe('redactIdentifiers', () => {
  it('replaces an erased PatientID in a saved filter and leaves others', () => {
    const filter = JSON.stringify({
      anyOf: [X, Y].map((value) => ({
        attribute: [{ keyword: 'PatientID', op: 'EQ', value }],
      })),
    });
    assert.equal(
      redactIdentifiers(filter, new Set([X])),
      `{"anyOf":[{"attribute":[{"keyword":"PatientID","op":"EQ","value":"ERASED"}]},{"attribute":[{"keyword":"PatientID","op":"EQ","value":"${Y}"}]}]}`,
    );
  });

  it('takes UIDs whole: one that begins another is not cut out of it', () => {
    const text = 'studies 2.25.12 and 2.25.123, then 2.25.12.';
    assert.equal(
      redactIdentifiers(text, new Set(['2.25.12'])),
      'studies ERASED and 2.25.123, then ERASED.',
    );
    assert.equal(
      redactIdentifiers(text, new Set(['2.25.123'])),
      'studies 2.25.12 and ERASED, then 2.25.12.',
    );
  });

  it('does not match a pseudonym inside a longer word', () => {
    assert.equal(
      redactIdentifiers(`x${X} ${X}9 ${X}`, new Set([X])),
      `x${X} ${X}9 ERASED`,
    );
  });
});
