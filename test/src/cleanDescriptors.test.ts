import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CT, dcmdump, filesUnder, runCli, tempDir } from './helpers';

// A new-user case: physicians' names (requesting, of record, reading) and
// names and IDs nested in sequences, repeated in the descriptors that Clean
// Descriptors keeps. Planted with dcmtk's dcmodify into a CT of the
// generated corpus, ingested with the CLI, read back with dcmdump.
const PLANTED: Array<[string, string]> = [
  // Person names at the top level.
  ['(0032,1032)', 'ZZREQDOC^HOUSE'], // RequestingPhysician
  ['(0008,1048)', 'ZZPHYSREC^DOC'], // PhysiciansOfRecord
  ['(0008,1060)', 'ZZREADDOC^B'], // NameOfPhysiciansReadingStudy
  ['(0008,0090)', 'ZZREFPHYS^X'], // ReferringPhysicianName
  ['(0008,1050)', 'ZZPERFDOC^Y'], // PerformingPhysicianName
  ['(0008,1070)', 'ZZOPNAME^Z'], // OperatorsName
  // Person names in sequence items, one of them two levels deep.
  ['(0040,0275)[0].(0032,1032)', 'ZZNESTREQ^AA'],
  ['(0040,a730)[0].(0040,a040)', 'PNAME'],
  ['(0040,a730)[0].(0040,a123)', 'ZZCONTENTPN^Q'],
  ['(0040,a730)[1].(0040,a040)', 'CONTAINER'],
  ['(0040,a730)[1].(0040,a730)[0].(0040,a040)', 'PNAME'],
  ['(0040,a730)[1].(0040,a730)[0].(0040,a123)', 'ZZDEEPPN^R'],
  // IDs and places the Basic Profile removes, at the top level and nested.
  ['(0018,1000)', 'ZZSERIAL3'], // DeviceSerialNumber
  ['(0040,0253)', 'ZZPPSID4'], // PerformedProcedureStepID
  ['(0018,700a)', 'ZZDETID2'], // DetectorID
  ['(0040,0275)[0].(0040,1001)', 'ZZRPID9'], // RequestedProcedureID
  ['(0008,1072)[0].(0008,0080)', 'ZZOPINST'], // InstitutionName
  ['(0008,1072)[0].(0040,1101)[0].(0008,0100)', 'ZZOPCODE7'], // CodeValue
  ['(0008,1072)[0].(0040,1101)[0].(0008,0102)', '99LOCAL'],
  ['(0008,1072)[0].(0040,1101)[0].(0008,0104)', 'ZZOPCODEMEANING'],
  // A department named by a modality says nothing of where: "CT" stays.
  ['(0008,1040)', 'CT'], // InstitutionalDepartmentName
  // The kept descriptors repeating them.
  ['(0008,1030)', 'review ZZREQDOC ZZPHYSREC'],
  ['(0008,103e)', 'by ZZPERFDOC ZZREADDOC ZZOPNAME ZZREFPHYS'],
  ['(0018,1030)', 'CT HEAD ZZSERIAL3 ZZPPSID4 ZZDETID2 ZZOPINST ZZOPCODE7'],
  [
    '(0040,0254)',
    'ROUTINE ZZNESTREQ ZZCONTENTPN ZZDEEPPN ZZRPID9 HOUSE DOC ZZOPCODEMEANING',
  ],
  ['(0040,0275)[0].(0032,1060)', 'biopsy ZZNESTREQ ZZREQDOC ZZDEEPPN'],
];

// Every name part of 3 characters or more and every ID planted above.
const NEEDLES = [
  'ZZREQDOC',
  'HOUSE',
  'ZZPHYSREC',
  'DOC',
  'ZZREADDOC',
  'ZZREFPHYS',
  'ZZPERFDOC',
  'ZZOPNAME',
  'ZZNESTREQ',
  'ZZCONTENTPN',
  'ZZDEEPPN',
  'ZZSERIAL3',
  'ZZPPSID4',
  'ZZDETID2',
  'ZZRPID9',
  'ZZOPINST',
  'ZZOPCODE7',
  'ZZOPCODEMEANING',
];

const work = tempDir('clean-descriptors');
const input = join(work.path, 'in');
const lake = join(work.path, 'lake');
let stored = '';

before(async () => {
  mkdirSync(input, { recursive: true });
  const file = join(input, 'planted.dcm');
  copyFileSync(join(CT, 'P0002', 'ST02', 'SE02', 'CT000001.dcm'), file);
  execFileSync('dcmodify', [
    '-nb',
    '-q',
    ...PLANTED.flatMap(([path, value]) => ['-i', `${path}=${value}`]),
    file,
  ]);
  // The input carries every planted value (dcmdump, before ingest).
  const dumped = execFileSync('dcmdump', ['-q', file], { encoding: 'latin1' });
  for (const needle of NEEDLES) assert.ok(dumped.includes(needle), needle);
  const run = await runCli(['ingest', input, '--lake', lake]);
  assert.equal(run.code, 0, run.stderr);
  const objects = filesUnder(join(lake, 'objects'));
  assert.equal(objects.length, 1);
  stored = objects[0]!;
});
after(() => work.remove());

/** Every value dcmdump prints of an object, at every depth. */
function allValues(file: string): string[] {
  const out = execFileSync('dcmdump', ['-q', '+L', file], {
    encoding: 'latin1',
  });
  return [...out.matchAll(/^\s*\([0-9a-f]{4},[0-9a-f]{4}\) \w\w \[(.*)\]/gm)]
    .map((m) => m[1]!)
    .filter((v) => v.length > 0);
}

describe('Clean Descriptors removes every person name and ID the object carries (new-user case)', () => {
  it('keeps only the generic words of each descriptor, top-level and in Request Attributes Sequence', () => {
    const v = dcmdump(stored, [
      '0008,1030',
      '0008,103e',
      '0018,1030',
      '0040,0254',
      '0032,1060',
    ]);
    assert.ok(v);
    assert.equal(v['0008,1030'], 'review');
    assert.equal(v['0008,103e'], 'by');
    assert.equal(v['0018,1030'], 'CT HEAD');
    assert.equal(v['0040,0254'], 'ROUTINE');
    // Found only inside (0040,0275): dcmdump +P searches every depth.
    assert.equal(v['0032,1060'], 'biopsy');
  });

  it('leaves no planted name part or ID in any element at any depth', () => {
    const values = allValues(stored);
    assert.ok(values.length > 20);
    for (const needle of NEEDLES)
      for (const value of values)
        assert.ok(
          !value.toUpperCase().includes(needle),
          `${needle} in "${value}"`,
        );
  });
});

// Privacy trial: the patient's own name typed on an ASCII keyboard
// (MÜLLER as MUELLER or MULLER) survived in the descriptors, and the name
// and ID survived verbatim in text the table keeps (a code meaning, a
// window explanation, a content label, a model name, software versions).
// Planted with dcmodify in ISO_IR 100 bytes, ingested with the CLI, read
// back with dcmdump.
describe('Clean Descriptors: the name as typed, and kept text (privacy trial)', () => {
  const trial = tempDir('clean-descriptors-trial');
  const dir = join(trial.path, 'in');
  let object = '';
  const TYPED: Array<[string, string, string]> = [
    // Where, as typed, and what must stay (by hand).
    ['0008,1030', 'JURGEN MUELLER axial', 'axial'],
    ['0008,103e', 'CT MULLER chest', 'CT chest'],
    ['0018,1030', 'Kopf Juergen', 'Kopf'],
    ['0028,1055', 'MULLER WINDOW', 'WINDOW'],
    ['0070,0080', 'MUELLER', ''],
    ['0008,1090', 'SOMATOM MUELLER', 'SOMATOM'],
    ['0018,1020', 'QQMRN5521', ''],
  ];
  const MEANING = 'CT chest MULLER QQMRN5521';

  before(async () => {
    mkdirSync(dir, { recursive: true });
    const file = join(dir, 'trial.dcm');
    copyFileSync(join(CT, 'P0001', 'ST01', 'SE01', 'CT000001.dcm'), file);
    // MÜLLER^JÜRGEN in ISO_IR 100 bytes, padded to even length.
    const name = join(trial.path, 'name.bin');
    writeFileSync(name, Buffer.from('MÜLLER^JÜRGEN ', 'latin1'));
    execFileSync('dcmodify', [
      '-nb',
      '-q',
      ...['-i', '(0008,0005)=ISO_IR 100'],
      ...['-mf', `(0010,0010)=${name}`],
      ...['-m', '(0010,0020)=QQMRN5521'],
      ...TYPED.flatMap(([tag, value]) => ['-i', `(${tag})=${value}`]),
      ...['-i', '(0008,1032)[0].(0008,0100)=CTCHEST'],
      ...['-i', '(0008,1032)[0].(0008,0102)=99LOCAL'],
      ...['-i', `(0008,1032)[0].(0008,0104)=${MEANING}`],
      file,
    ]);
    const dumped = execFileSync('dcmdump', ['-q', file], {
      encoding: 'latin1',
    });
    assert.ok(dumped.includes('[MÜLLER^JÜRGEN]'), 'name planted in latin1');
    assert.ok(dumped.includes(MEANING));
    const lake = join(trial.path, 'lake');
    const run = await runCli(['ingest', dir, '--lake', lake]);
    assert.equal(run.code, 0, run.stderr);
    const objects = filesUnder(join(lake, 'objects'));
    assert.equal(objects.length, 1);
    object = objects[0]!;
  });
  after(() => trial.remove());

  it('removes the name in every typed spelling and the ID from kept text, keeping the words', () => {
    const v = dcmdump(
      object,
      TYPED.map(([t]) => t),
    );
    assert.ok(v);
    for (const [tag, , kept] of TYPED) assert.equal(v[tag], kept, tag);
    // The item of Procedure Code Sequence, as dcmdump +P prints it.
    const code = dcmdump(object, ['0008,1032.0008,0104']);
    assert.equal(code?.['0008,0104'], 'CT chest');
    assert.equal(code?.['0008,0100'], 'CTCHEST');
    for (const value of allValues(object))
      for (const needle of [
        'MULLER',
        'MUELLER',
        'JURGEN',
        'JUERGEN',
        'QQMRN5521',
      ])
        assert.ok(
          !value.toUpperCase().includes(needle),
          `${needle} in "${value}"`,
        );
  });
});
