import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { parseDicom } from '@lpacs/dicom';
import { DeidError, Deidentifier, RESEARCH_DEFAULT, SiteKeys } from '../index';
import type { UnmarkedKind } from '../index';
import { CT_FILE } from './fixtures';

const dir = mkdtempSync(join(tmpdir(), 'lpacs-imagerisk-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const keys = new SiteKeys(Buffer.alloc(32, 5));
const deid = (acceptUnmarked: UnmarkedKind[] = []) =>
  new Deidentifier(keys, { ...RESEARCH_DEFAULT, acceptUnmarked });

let n = 0;
/**
 * A copy of a real CT made into another class, modality and statements
 * with dcmtk's dcmodify (which updates the meta's SOP class to match).
 */
function planted(edits: {
  sopClass?: string;
  modality?: string;
  burnedIn?: string;
  recognizable?: string;
}): Buffer {
  const path = join(dir, `${n++}.dcm`);
  copyFileSync(CT_FILE, path);
  const args = ['-nb'];
  if (edits.sopClass) args.push('-m', `(0008,0016)=${edits.sopClass}`);
  if (edits.modality) args.push('-m', `(0008,0060)=${edits.modality}`);
  if (edits.burnedIn) args.push('-i', `(0028,0301)=${edits.burnedIn}`);
  if (edits.recognizable) args.push('-i', `(0028,0302)=${edits.recognizable}`);
  execFileSync('dcmodify', [...args, path], { stdio: 'ignore' });
  return readFileSync(path);
}

/** The refusal's code and message, or undefined when it is stored. */
function refusal(
  bytes: Buffer,
  by = deid(),
): { code: string; message: string } | undefined {
  try {
    by.deidentify(parseDicom(bytes));
    return undefined;
  } catch (err) {
    assert.ok(err instanceof DeidError, String(err));
    return { code: err.code, message: err.message };
  }
}

/**
 * Every Storage SOP class whose PS3.6 name says it holds ultrasound,
 * endoscopy, microscopy, photographs, film prints, documents or secondary
 * captures, as pydicom's registry (generated from PS3.6 Annex A) names
 * them: a list made apart from the code under test. (Microscopy Bulk
 * Simple Annotations holds no pixels.)
 */
function riskyClasses(): Array<[uid: string, name: string]> {
  const out = execFileSync(
    '/usr/bin/python3',
    [
      '-c',
      `
import re
from pydicom._uid_dict import UID_dictionary as U
for uid, v in sorted(U.items()):
    name = v[0]
    if v[1] != 'SOP Class' or 'Storage' not in name or 'Annotations' in name: continue
    if re.search(r'Ultrasound|\\bUS\\b|Endoscop|Microscop|Photograph|Hardcopy|VL .*Trial|Secondary Capture|Encapsulated (PDF|CDA)', name):
        print(uid + '|' + name)
`,
    ],
    { encoding: 'utf8' },
  );
  return out
    .trim()
    .split('\n')
    .map((l) => l.split('|') as [string, string]);
}

describe('burned-in text and recognizable features: classes and modalities', () => {
  it('refuses every ultrasound, visible-light, photograph, print, document and secondary capture class of PS3.6 that does not say NO', () => {
    const classes = riskyClasses();
    // The trial's misses are among them.
    for (const uid of [
      '1.2.840.10008.5.1.4.1.1.6', // Ultrasound Image (retired)
      '1.2.840.10008.5.1.4.1.1.3', // Ultrasound Multi-frame (retired)
      '1.2.840.10008.5.1.4.1.1.77.1.4', // VL Photographic
      '1.2.840.10008.5.1.4.1.1.77.1.5.1', // Ophthalmic Photography 8 Bit
    ])
      assert.ok(
        classes.some(([u]) => u === uid),
        uid,
      );
    assert.ok(classes.length >= 29, `${classes.length} classes`);
    for (const [uid, name] of classes) {
      const why = refusal(planted({ sopClass: uid }));
      assert.ok(why, `${name} (${uid}) was stored`);
      assert.match(
        why.code,
        /^(BURNED_IN_ANNOTATION|RECOGNIZABLE_VISUAL_FEATURES)$/,
        name,
      );
    }
  });

  it('refuses any class whose Modality is ultrasound, photography, endoscopy, microscopy or document, unless it says NO', () => {
    const ct = '1.2.840.10008.5.1.4.1.1.2';
    for (const modality of ['US', 'IVUS', 'ES', 'OP', 'GM', 'SM', 'DOC']) {
      const why = refusal(planted({ sopClass: ct, modality }));
      assert.equal(why?.code, 'BURNED_IN_ANNOTATION', modality);
      assert.match(
        why.message,
        new RegExp(`Modality \\(0008,0060\\) ${modality}`),
      );
      assert.equal(
        refusal(planted({ sopClass: ct, modality, burnedIn: 'NO' })),
        undefined,
        `${modality} with BurnedInAnnotation NO`,
      );
    }
    // An ultrasound stored as a secondary capture is an ultrasound: the
    // lake's acceptance of unmarked secondary captures does not cover it.
    const usAsSc = planted({
      sopClass: '1.2.840.10008.5.1.4.1.1.7',
      modality: 'US',
    });
    assert.equal(
      refusal(usAsSc, deid(['secondary-capture']))?.code,
      'BURNED_IN_ANNOTATION',
    );
    // The CT itself, as it is, is stored.
    assert.equal(refusal(readFileSync(CT_FILE)), undefined);
  });

  it('refuses RecognizableVisualFeatures YES on any class, BurnedInAnnotation NO or a blanking rule notwithstanding', () => {
    const endoscopy = planted({
      sopClass: '1.2.840.10008.5.1.4.1.1.77.1.1',
      burnedIn: 'NO',
      recognizable: 'YES',
    });
    const why = refusal(endoscopy);
    assert.equal(why?.code, 'RECOGNIZABLE_VISUAL_FEATURES');
    assert.match(
      why.message,
      /RecognizableVisualFeatures \(0028,0302\) is YES.*--accept-unmarked recognizable-visual-features/,
    );
    const photo = planted({
      sopClass: '1.2.840.10008.5.1.4.1.1.77.1.4',
      burnedIn: 'NO',
      recognizable: 'YES',
    });
    assert.equal(refusal(photo)?.code, 'RECOGNIZABLE_VISUAL_FEATURES');
    const ct = planted({ recognizable: 'YES' });
    assert.equal(refusal(ct)?.code, 'RECOGNIZABLE_VISUAL_FEATURES');
    // A rule for the device blanks text; it does not admit a face.
    const device = (tag: string) =>
      /\[([^\]]*)\]/.exec(
        execFileSync('dcmdump', ['-q', '+P', tag, CT_FILE], {
          encoding: 'latin1',
        }),
      )?.[1] ?? '';
    const ruled = new Deidentifier(keys, {
      ...RESEARCH_DEFAULT,
      blanking: [
        {
          manufacturer: device('0008,0070'),
          model: device('0008,1090'),
          rectangles: [{ x: 0, y: 0, width: 8, height: 8 }],
        },
      ],
    });
    assert.ok(device('0008,0070'));
    assert.equal(refusal(ct, ruled)?.code, 'RECOGNIZABLE_VISUAL_FEATURES');
  });

  it('refuses a photograph of the patient that does not say RecognizableVisualFeatures NO, and stores one that does', () => {
    const vlPhoto = '1.2.840.10008.5.1.4.1.1.77.1.4';
    assert.equal(
      refusal(planted({ sopClass: vlPhoto, burnedIn: 'NO' }))?.code,
      'RECOGNIZABLE_VISUAL_FEATURES',
    );
    assert.equal(
      refusal(planted({ modality: 'XC', burnedIn: 'NO' }))?.code,
      'RECOGNIZABLE_VISUAL_FEATURES',
    );
    assert.equal(
      refusal(
        planted({ sopClass: vlPhoto, burnedIn: 'NO', recognizable: 'NO' }),
      ),
      undefined,
    );
  });

  it("stores them only under the lake's explicit acceptance, with a notice and a count", () => {
    const photo = planted({
      sopClass: '1.2.840.10008.5.1.4.1.1.77.1.4',
      burnedIn: 'NO',
      recognizable: 'YES',
    });
    const out = deid(['recognizable-visual-features']).deidentify(
      parseDicom(photo),
    );
    assert.equal(out.actions.acceptedRecognizable, 1);
    assert.equal(out.notices?.length, 1);
    assert.match(
      out.notices![0]!,
      /RecognizableVisualFeatures \(0028,0302\) is YES/,
    );
    // Accepting faces is not accepting burned-in text.
    assert.equal(
      refusal(
        planted({
          sopClass: '1.2.840.10008.5.1.4.1.1.77.1.4',
          recognizable: 'YES',
        }),
        deid(['recognizable-visual-features']),
      )?.code,
      'BURNED_IN_ANNOTATION',
    );
    // Nor the other way round.
    assert.equal(
      refusal(photo, deid(['secondary-capture']))?.code,
      'RECOGNIZABLE_VISUAL_FEATURES',
    );
    const plain = deid(['recognizable-visual-features']).deidentify(
      parseDicom(readFileSync(CT_FILE)),
    );
    assert.equal(plain.actions.acceptedRecognizable, undefined);
  });
});
