import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ActionTable, RESEARCH_DEFAULT } from '../index';

const basic = new ActionTable({
  ...RESEARCH_DEFAULT,
  longitudinal: 'off',
  retainPatientCharacteristics: false,
  cleanDescriptors: false,
});
const research = new ActionTable(RESEARCH_DEFAULT);

describe('ActionTable', () => {
  it('applies the Basic Profile without options', () => {
    assert.equal(basic.actionFor(0x00100010), 'Z'); // PatientName
    assert.equal(basic.actionFor(0x00080020), 'Z'); // StudyDate
    assert.equal(basic.actionFor(0x00100040), 'Z'); // PatientSex
    assert.equal(basic.actionFor(0x00081030), 'X'); // StudyDescription
    assert.equal(basic.actionFor(0x0020000d), 'U'); // StudyInstanceUID
  });

  it('applies the options of the research default', () => {
    assert.equal(research.actionFor(0x00080020), 'C');
    assert.equal(research.actionFor(0x00100040), 'K');
    assert.equal(research.actionFor(0x00081030), 'C');
  });

  it('shifts the device dates Retain Device Identity keeps when dates are modified', () => {
    // Table E.1-1: DateOfLastCalibration (0018,1200), DateOfManufacture
    // (0018,1204): K under Retain Device Identity, C under Modified Dates.
    const both = new ActionTable({
      ...RESEARCH_DEFAULT,
      longitudinal: 'modified',
      retainDeviceIdentity: true,
    });
    assert.equal(both.actionFor(0x00181200), 'C');
    assert.equal(both.actionFor(0x00181204), 'C');
    assert.equal(both.actionFor(0x00181000), 'K'); // DeviceSerialNumber
    const full = new ActionTable({
      ...RESEARCH_DEFAULT,
      longitudinal: 'full',
      retainDeviceIdentity: true,
    });
    assert.equal(full.actionFor(0x00181200), 'K');
    const deviceOnly = new ActionTable({
      ...RESEARCH_DEFAULT,
      longitudinal: 'off',
      retainDeviceIdentity: true,
    });
    assert.equal(deviceOnly.actionFor(0x00181200), 'K');
  });

  it('removes private attributes and matches repeating groups', () => {
    assert.equal(research.actionFor(0x00291010), 'X');
    assert.equal(research.actionFor(0x00090010), 'X'); // private creator
    assert.equal(research.actionFor(0x60004000), 'X'); // Overlay Comments (60xx,4000)
    assert.equal(research.actionFor(0x60024000), 'X');
    assert.equal(research.actionFor(0x50000005), 'X'); // curve data (50xx,xxxx)
  });

  it('keeps what the table does not list', () => {
    assert.equal(research.actionFor(0x00280010), 'keep'); // Rows
    assert.equal(research.actionFor(0x00080060), 'keep'); // Modality
  });
});
