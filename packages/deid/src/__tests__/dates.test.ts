import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ageFromAS, shiftDA, shiftDT, yearsBetween } from '../index';
import { isTime } from '../dates';

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

  it('refuses a DT whose digits are not a date and time of PS3.5 6.2', () => {
    assert.equal(shiftDT('2019041', -1), undefined); // 7 digits
    assert.equal(shiftDT('20200105256', 0), undefined); // odd time digits
    assert.equal(shiftDT('2020010525', 0), undefined); // hour 25
    assert.equal(shiftDT('202001.5', 0), undefined); // fraction without time
    assert.equal(shiftDT('2020010514', 0), '2020010514');
  });

  it('tells a TM from what is not one', () => {
    for (const ok of ['10', '1010', '101010', '101060', '235959.123456'])
      assert.ok(isTime(ok), ok);
    for (const bad of ['25', '2561', '1', '101010.1234567', '10:10', ''])
      assert.ok(!isTime(bad), bad);
  });

  it('computes ages the way a clinician counts birthdays', () => {
    assert.equal(yearsBetween('19440604', '20200105'), 75);
    assert.equal(yearsBetween('19440604', '20200604'), 76);
    assert.equal(ageFromAS('075Y'), 75);
    assert.equal(ageFromAS('018M'), 1);
    // Read leniently, as cappedAge reads what it caps.
    assert.equal(ageFromAS('75Y'), 75);
    assert.equal(ageFromAS('1150M'), 95);
    assert.equal(ageFromAS(' 095 y'), 95);
    assert.equal(ageFromAS('1079M'), 89);
    assert.equal(ageFromAS('abc'), undefined);
    assert.equal(ageFromAS('95.5Y'), undefined);
  });
});
