import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import {
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { parseDicom } from '@lpacs/dicom';
import { Deidentifier, RESEARCH_DEFAULT, SiteKeys } from '../index';

const CT = join(
  __dirname,
  '..',
  '..',
  '..',
  '..',
  'datasets',
  'cache',
  'ct-test',
);
const out = mkdtempSync(join(tmpdir(), 'lpacs-pseudonyms-'));
after(() => rmSync(out, { recursive: true, force: true }));

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? files(p) : p.endsWith('.dcm') ? [p] : [];
  });
}

/** PatientID and StudyInstanceUID as dcmtk reads them. */
function ids(file: string): [string, string] {
  const dump = execFileSync(
    'dcmdump',
    ['-q', '+P', '0010,0020', '+P', '0020,000d', file],
    { encoding: 'latin1' },
  );
  const values = [...dump.matchAll(/\[([^\]]*)\]/g)].map((m) => m[1]!);
  return [values[0]!, values[1]!];
}

describe('Deidentifier.pseudonymsOf (how an erasure finds quarantined originals)', () => {
  const keys = new SiteKeys(Buffer.alloc(32, 5));
  // One file from each study: three patients, two studies each.
  const picked = files(CT).filter((f) => /SE01[/\\]CT000001\.dcm$/.test(f));

  for (const retainUIDs of [false, true]) {
    it(`names the PatientID and StudyInstanceUID deidentify() writes (retainUIDs ${retainUIDs})`, () => {
      assert.equal(picked.length, 6);
      const deid = new Deidentifier(keys, { ...RESEARCH_DEFAULT, retainUIDs });
      for (const [i, file] of picked.entries()) {
        const original = readFileSync(file);
        const written = join(out, `${retainUIDs}-${i}.dcm`);
        writeFileSync(
          written,
          deid.deidentify(parseDicom(Buffer.from(original))).bytes,
        );
        const [patientID, study] = ids(written);
        assert.deepEqual(deid.pseudonymsOf(parseDicom(original)), {
          patientID,
          studyInstanceUID: study,
        });
        if (retainUIDs) assert.equal(study, ids(file)[1]);
        else assert.notEqual(study, ids(file)[1]);
      }
    });
  }
});
