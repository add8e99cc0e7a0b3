import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ageFromAS, shiftDA, shiftDT, yearsBetween } from '../index';

describe('date shifting', () => {
  it('shifts DA across month, leap day and year ends', () => {
    assert.equal(shiftDA('20240229', 1), '20240301');
    assert.equal(shiftDA('20240301', -1), '20240229');
    assert.equal(shiftDA('20230101', -1), '20221231');
    assert.equal(shiftDA('20200105', -400), '20181201');
  });

  it('reads the ACR-NEMA dotted form and writes a valid DA', () => {
    assert.equal(shiftDA('1999.05.24', -24), '19990430');
  });

  it('refuses what is not a date, so the caller removes it', () => {
    assert.equal(shiftDA('20230230', 0), undefined);
    assert.equal(shiftDA('UNKNOWN', 3), undefined);
    assert.equal(shiftDA('2023', 3), undefined);
  });

  it('keeps DT precision, time of day and UTC offset', () => {
    assert.equal(
      shiftDT('20200105144056.123456+0100', -5),
      '20191231144056.123456+0100',
    );
    assert.equal(shiftDT('202001', -10), '201912');
    assert.equal(shiftDT('2020', -1), '2019');
    assert.equal(shiftDT('20200105', 2), '20200107');
  });

  it('computes ages the way a clinician counts birthdays', () => {
    assert.equal(yearsBetween('19440604', '20200105'), 75);
    assert.equal(yearsBetween('19440604', '20200604'), 76);
    assert.equal(ageFromAS('075Y'), 75);
    assert.equal(ageFromAS('018M'), 1);
    assert.equal(ageFromAS('75Y'), undefined);
  });
});
