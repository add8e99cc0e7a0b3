import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { parseDicom } from '@lpacs/dicom';
import { DeidError, Deidentifier, RESEARCH_DEFAULT, SiteKeys } from '../index';
import { CT_FILE } from './fixtures';

const dir = mkdtempSync(join(tmpdir(), 'lpacs-burned-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const keys = new SiteKeys(Buffer.alloc(32, 9));
const deid = new Deidentifier(keys);
const accepting = new Deidentifier(keys, {
  ...RESEARCH_DEFAULT,
  acceptUnmarked: ['secondary-capture'],
});

/** A copy of a real CT made into another SOP class with dcmtk's dcmodify. */
function asClass(name: string, sopClass: string, burnedIn?: string): Buffer {
  const path = join(dir, `${name}.dcm`);
  copyFileSync(CT_FILE, path);
  // dcmodify updates the file meta's MediaStorageSOPClassUID to match.
  const edits = ['-m', `(0008,0016)=${sopClass}`];
  if (burnedIn) edits.push('-i', `(0028,0301)=${burnedIn}`);
  execFileSync('dcmodify', ['-nb', ...edits, path], { stdio: 'ignore' });
  return readFileSync(path);
}

function refusal(bytes: Buffer, by: Deidentifier = deid): string | undefined {
  try {
    by.deidentify(parseDicom(bytes));
    return undefined;
  } catch (err) {
    assert.ok(err instanceof DeidError);
    assert.equal(err.code, 'BURNED_IN_ANNOTATION');
    return err.message;
  }
}

describe('burned-in text policy', () => {
  it('refuses ultrasound, endoscopy and encapsulated documents that do not say NO', () => {
    // SOP Class UIDs from PS3.4 Annex B, written out by hand.
    for (const [name, uid] of [
      ['Ultrasound Image', '1.2.840.10008.5.1.4.1.1.6.1'],
      ['Ultrasound Multi-frame Image', '1.2.840.10008.5.1.4.1.1.3.1'],
      ['VL Endoscopic Image', '1.2.840.10008.5.1.4.1.1.77.1.1'],
      ['Encapsulated PDF', '1.2.840.10008.5.1.4.1.1.104.1'],
      // Added to PS3.4 after the list was written (PS3.6 2023-2024).
      ['Photoacoustic Image', '1.2.840.10008.5.1.4.1.1.6.3'],
      ['Confocal Microscopy Image', '1.2.840.10008.5.1.4.1.1.77.1.8'],
      [
        'Confocal Microscopy Tiled Pyramidal Image',
        '1.2.840.10008.5.1.4.1.1.77.1.9',
      ],
    ] as const)
      assert.match(
        refusal(asClass(name.replace(/ /g, '-'), uid)) ?? 'accepted',
        new RegExp(`^${name} objects`),
        name,
      );
  });

  it('accepts them when BurnedInAnnotation is NO, and refuses any class when it is YES', () => {
    assert.equal(
      refusal(asClass('us-no', '1.2.840.10008.5.1.4.1.1.6.1', 'NO')),
      undefined,
    );
    assert.match(
      refusal(asClass('ct-yes', '1.2.840.10008.5.1.4.1.1.2', 'YES')) ?? '',
      /is YES/,
    );
  });

  it('says what to do with an object that says YES, and the advice works: a blanking rule for its device admits it', () => {
    const yes = asClass('ct-yes-advice', '1.2.840.10008.5.1.4.1.1.2', 'YES');
    assert.match(
      refusal(yes) ?? 'accepted',
      /is YES: .*add a pixel blanking rule for its device .*docs\/deid\.md.*then lpacs quarantine retry$/,
    );
    // The device as dcmtk reads it, not as the code under test does.
    const device = (tag: string) =>
      /\[([^\]]*)\]/.exec(
        execFileSync(
          'dcmdump',
          ['-q', '+P', tag, join(dir, 'ct-yes-advice.dcm')],
          {
            encoding: 'latin1',
          },
        ),
      )?.[1] ?? '';
    const blanking = new Deidentifier(keys, {
      ...RESEARCH_DEFAULT,
      blanking: [
        {
          manufacturer: device('0008,0070'),
          model: device('0008,1090'),
          rectangles: [{ x: 0, y: 0, width: 16, height: 8 }],
        },
      ],
    });
    assert.ok(device('0008,0070') && device('0008,1090'));
    assert.equal(refusal(yes, blanking), undefined);
  });

  it('says what to do with an unmarked ultrasound, and the advice works (new-user case: no way out was named)', () => {
    const us = asClass('us-advice', '1.2.840.10008.5.1.4.1.1.6.1');
    assert.match(
      refusal(us) ?? 'accepted',
      /^Ultrasound.*add a pixel blanking rule for its device .*then lpacs quarantine retry$/,
    );
    const device = (tag: string) =>
      /\[([^\]]*)\]/.exec(
        execFileSync('dcmdump', ['-q', '+P', tag, join(dir, 'us-advice.dcm')], {
          encoding: 'latin1',
        }),
      )?.[1] ?? '';
    assert.ok(device('0008,0070') && device('0008,1090'));
    const blanking = new Deidentifier(keys, {
      ...RESEARCH_DEFAULT,
      blanking: [
        {
          manufacturer: device('0008,0070'),
          model: device('0008,1090'),
          rectangles: [{ x: 0, y: 0, width: 16, height: 8 }],
        },
      ],
    });
    assert.equal(refusal(us, blanking), undefined);
  });

  it('refuses every secondary capture class that does not say NO, and says what to do', () => {
    // PS3.4 B.5 / PS3.6 Annex A, written out by hand.
    for (const uid of [
      '1.2.840.10008.5.1.4.1.1.7', // Secondary Capture Image
      '1.2.840.10008.5.1.4.1.1.7.1', // Multi-frame Single Bit SC
      '1.2.840.10008.5.1.4.1.1.7.2', // Multi-frame Grayscale Byte SC
      '1.2.840.10008.5.1.4.1.1.7.3', // Multi-frame Grayscale Word SC
      '1.2.840.10008.5.1.4.1.1.7.4', // Multi-frame True Color SC
    ]) {
      const message = refusal(asClass(`sc-${uid}`, uid));
      assert.match(message ?? 'accepted', /^secondary capture without/, uid);
      assert.match(message!, /blanking rule for its device/);
      assert.match(message!, /--accept-unmarked secondary-capture/);
    }
  });

  it('ingests a secondary capture without BurnedInAnnotation when the lake accepts it, with a notice and a count', () => {
    const out = accepting.deidentify(
      parseDicom(asClass('sc', '1.2.840.10008.5.1.4.1.1.7')),
    );
    assert.deepEqual(out.notices, [
      'secondary capture without BurnedInAnnotation (0028,0301): check its pixels for text before sharing',
    ]);
    assert.deepEqual(out.warnings, []);
    assert.equal(out.actions.acceptedUnmarked, 1);
    const ct = accepting.deidentify(parseDicom(readFileSync(CT_FILE)));
    assert.deepEqual(ct.notices, []);
    assert.equal(ct.actions.acceptedUnmarked, undefined);
  });

  it('ingests a secondary capture that says NO without the option or a notice', () => {
    const out = deid.deidentify(
      parseDicom(asClass('sc-no', '1.2.840.10008.5.1.4.1.1.7.4', 'NO')),
    );
    assert.deepEqual(out.notices, []);
    assert.equal(out.actions.acceptedUnmarked, undefined);
  });

  it('accepts nothing but secondary captures unmarked: ultrasound and YES are still refused', () => {
    assert.match(
      refusal(asClass('us-acc', '1.2.840.10008.5.1.4.1.1.6.1'), accepting) ??
        'accepted',
      /^Ultrasound Image objects/,
    );
    assert.match(
      refusal(
        asClass('sc-yes', '1.2.840.10008.5.1.4.1.1.7', 'YES'),
        accepting,
      ) ?? 'accepted',
      /is YES/,
    );
  });

  it('takes NO only as one value NO: several values, lower case or another word do not say NO', () => {
    // Trial (session 9): the gate read only the first value, upper-cased,
    // so NO\YES and no admitted secondary captures in a lake that
    // does not accept them unmarked. BurnedInAnnotation is CS, VM 1
    // (PS3.3 C.7.6.1); spaces around a CS value are padding (PS3.5 6.2).
    const SC = '1.2.840.10008.5.1.4.1.1.7';
    for (const said of ['NO\\YES', 'YES\\NO', 'yes']) {
      const why = refusal(asClass('sc-multi', SC, said)) ?? 'accepted';
      assert.match(why, /is YES/, said);
    }
    for (const said of ['no', 'NO\\NO', 'NONE'])
      assert.match(
        refusal(asClass('sc-unclear', SC, said)) ?? 'accepted',
        /^secondary capture without BurnedInAnnotation/,
        said,
      );
    for (const said of [' NO', 'NO '])
      assert.equal(refusal(asClass('sc-padded', SC, said)), undefined, said);
  });

  it('treats an object as ultrasound when any of its Modality values is US', () => {
    const path = join(dir, 'ct-us.dcm');
    copyFileSync(CT_FILE, path);
    execFileSync('dcmodify', ['-nb', '-m', '(0008,0060)=CT\\US', path], {
      stdio: 'ignore',
    });
    assert.match(
      refusal(readFileSync(path)) ?? 'accepted',
      /^Modality \(0008,0060\) US \(ultrasound\)/,
    );
  });
});
