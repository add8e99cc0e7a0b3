import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SiteKeys, normalisePersonName } from '../index';

const keys = new SiteKeys(Buffer.alloc(32, 1));
const other = new SiteKeys(Buffer.alloc(32, 2));

describe('SiteKeys', () => {
  it('maps UIDs to valid 2.25 UIDs: at most 64 characters, no leading zero', () => {
    for (let i = 0; i < 2000; i++) {
      const uid = keys.uid(`1.2.840.113619.2.55.${i}`);
      assert.ok(uid.length <= 64, uid);
      assert.match(uid, /^2\.25\.[1-9][0-9]*$/);
    }
  });

  it('is deterministic per secret and differs between secrets', () => {
    assert.equal(keys.uid('1.2.3'), keys.uid('1.2.3'));
    assert.notEqual(keys.uid('1.2.3'), keys.uid('1.2.4'));
    assert.notEqual(keys.uid('1.2.3'), other.uid('1.2.3'));
    assert.equal(
      keys.patientPseudonym('id:|MRN1'),
      keys.patientPseudonym('id:|MRN1'),
    );
    assert.notEqual(
      keys.patientPseudonym('id:|MRN1'),
      other.patientPseudonym('id:|MRN1'),
    );
  });

  it('gives pseudonyms that fit their VRs', () => {
    assert.match(keys.patientPseudonym('x'), /^LP[A-Z2-7]{16}$/);
    assert.ok(keys.accession('A123').length <= 16); // SH
  });

  it('shifts dates back between 1 and 11 years', () => {
    for (let i = 0; i < 500; i++) {
      const d = keys.dateShiftDays(`id:|${i}`);
      assert.ok(d <= -366 && d >= -4015, String(d));
    }
  });

  it('normalises trivial name variants alike', () => {
    assert.equal(normalisePersonName('Doe^John^^^'), 'DOE^JOHN');
    assert.equal(normalisePersonName(' doe ^ john '), 'DOE^JOHN');
  });

  it('refuses a short secret', () => {
    assert.throws(() => new SiteKeys(Buffer.alloc(8)), /at least 32 bytes/);
  });
});
