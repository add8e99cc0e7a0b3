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
