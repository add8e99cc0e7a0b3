import type { UnmarkedKind } from './options';

/**
 * Storage SOP classes whose pixels usually carry burned-in text or are
 * photographs (PS3.15 E.1.1's warning about burned-in annotation and
 * recognizable visual features), from the Storage SOP classes of PS3.4
 * B.5 (UIDs and names as PS3.6 Annex A registers them, retired ones
 * included, since devices still send them). Objects of these classes
 * are refused unless they state BurnedInAnnotation (0028,0301) = NO or
 * a blanking rule for their device clears the text.
 *
 * Left out on purpose: cross-sectional and projection classes (CT, MR,
 * XA, ...), whose text, when burned in, must be stated as YES; ophthalmic
 * tomography and OCT (scans, not photographs); Encapsulated STL, OBJ and
 * MTL (surfaces, no text); Secondary Capture, which has its own rule
 * (SECONDARY_CAPTURE_CLASSES).
 */
export const BURNED_IN_CLASSES: Readonly<Record<string, string>> = {
  // Ultrasound
  '1.2.840.10008.5.1.4.1.1.6': 'Ultrasound Image (retired)',
  '1.2.840.10008.5.1.4.1.1.6.1': 'Ultrasound Image',
  '1.2.840.10008.5.1.4.1.1.6.2': 'Enhanced US Volume',
  // Acquired with an ultrasound transducer and shown with its annotations.
  '1.2.840.10008.5.1.4.1.1.6.3': 'Photoacoustic Image',
  '1.2.840.10008.5.1.4.1.1.3': 'Ultrasound Multi-frame Image (retired)',
  '1.2.840.10008.5.1.4.1.1.3.1': 'Ultrasound Multi-frame Image',
  // Visible light: endoscopy, microscopy, photography (PS3.3 A.32)
  '1.2.840.10008.5.1.4.1.1.77.1': 'VL Image - Trial (retired)',
  '1.2.840.10008.5.1.4.1.1.77.2': 'VL Multi-frame Image - Trial (retired)',
  '1.2.840.10008.5.1.4.1.1.77.1.1': 'VL Endoscopic Image',
  '1.2.840.10008.5.1.4.1.1.77.1.1.1': 'Video Endoscopic Image',
  '1.2.840.10008.5.1.4.1.1.77.1.2': 'VL Microscopic Image',
  '1.2.840.10008.5.1.4.1.1.77.1.2.1': 'Video Microscopic Image',
  '1.2.840.10008.5.1.4.1.1.77.1.3': 'VL Slide-Coordinates Microscopic Image',
  '1.2.840.10008.5.1.4.1.1.77.1.4': 'VL Photographic Image',
  '1.2.840.10008.5.1.4.1.1.77.1.4.1': 'Video Photographic Image',
  '1.2.840.10008.5.1.4.1.1.77.1.5.1': 'Ophthalmic Photography 8 Bit Image',
  '1.2.840.10008.5.1.4.1.1.77.1.5.2': 'Ophthalmic Photography 16 Bit Image',
  '1.2.840.10008.5.1.4.1.1.77.1.5.5':
    'Wide Field Ophthalmic Photography Stereographic Projection Image',
  '1.2.840.10008.5.1.4.1.1.77.1.5.6':
    'Wide Field Ophthalmic Photography 3D Coordinates Image',
  // Whole-slide images include the slide's label and overview images.
  '1.2.840.10008.5.1.4.1.1.77.1.6': 'VL Whole Slide Microscopy Image',
  '1.2.840.10008.5.1.4.1.1.77.1.7': 'Dermoscopic Photography Image',
  '1.2.840.10008.5.1.4.1.1.77.1.8': 'Confocal Microscopy Image',
  '1.2.840.10008.5.1.4.1.1.77.1.9': 'Confocal Microscopy Tiled Pyramidal Image',
  // Documents
  '1.2.840.10008.5.1.4.1.1.104.1': 'Encapsulated PDF',
  '1.2.840.10008.5.1.4.1.1.104.2': 'Encapsulated CDA',
  // Film prints with their annotations (PS3.4 H, retired)
  '1.2.840.10008.5.1.1.29': 'Hardcopy Grayscale Image (retired)',
  '1.2.840.10008.5.1.1.30': 'Hardcopy Color Image (retired)',
};

/**
 * Modalities (PS3.3 C.7.3.1.1.1, CID 29 and CID 33) whose images are
 * ultrasound, photographs, endoscopy, microscopy or documents, whatever
 * class they were stored under (an ultrasound sent as a CT or as a
 * secondary capture): treated like the classes above.
 */
export const BURNED_IN_MODALITIES: Readonly<Record<string, string>> = {
  US: 'ultrasound',
  IVUS: 'intravascular ultrasound',
  BDUS: 'bone densitometry (ultrasound)',
  XC: 'external-camera photography',
  ES: 'endoscopy',
  OP: 'ophthalmic photography',
  GM: 'general microscopy',
  SM: 'slide microscopy',
  DMS: 'dermoscopy',
  DOC: 'document',
};

/**
 * Classes and modalities whose images are photographs of the patient:
 * they must say RecognizableVisualFeatures (0028,0302) NO (a face or a
 * tattoo cannot be blanked by rectangles of text).
 */
const PHOTOGRAPH_CLASSES: ReadonlySet<string> = new Set([
  '1.2.840.10008.5.1.4.1.1.77.1.4',
  '1.2.840.10008.5.1.4.1.1.77.1.4.1',
]);
const PHOTOGRAPH_MODALITIES: ReadonlySet<string> = new Set(['XC']);

/**
 * The Secondary Capture classes (PS3.4 B.5): screenshots, scans and
 * derived images, any of which may show text typed or printed on them.
 */
const SECONDARY_CAPTURE_CLASSES: Readonly<Record<string, string>> = {
  '1.2.840.10008.5.1.4.1.1.7': 'Secondary Capture Image',
  '1.2.840.10008.5.1.4.1.1.7.1': 'Multi-frame Single Bit Secondary Capture',
  '1.2.840.10008.5.1.4.1.1.7.2': 'Multi-frame Grayscale Byte Secondary Capture',
  '1.2.840.10008.5.1.4.1.1.7.3': 'Multi-frame Grayscale Word Secondary Capture',
  '1.2.840.10008.5.1.4.1.1.7.4': 'Multi-frame True Color Secondary Capture',
};

/** A verdict: `refuse` with a reason, `warn` (ingested, reported), or `ok`. */
export interface Risk {
  verdict: 'refuse' | 'warn' | 'ok';
  reason?: string;
}

/**
 * What an object says of itself that decides its risk: each statement
 * with all its values as written, joined by backslashes.
 */
export interface RiskFacts {
  sopClassUID: string;
  /** BurnedInAnnotation (0028,0301). */
  burnedIn?: string | undefined;
  /** RecognizableVisualFeatures (0028,0302). */
  recognizable?: string | undefined;
  /** Modality (0008,0060). */
  modality?: string | undefined;
}

/**
 * A YES/NO statement (CS, VM 1): `NO` only when it is exactly one value
 * NO (CS spaces around it are padding, PS3.5 6.2; CS is upper case, so
 * `no` is no NO); `YES` when any value reads yes in any case; else
 * `unclear` (absent, empty, several values, or another word), which the
 * gates treat as not saying NO.
 */
function statement(value: string | undefined): 'YES' | 'NO' | 'unclear' {
  const values = (value ?? '').split('\\').map((v) => v.trim());
  if (values.some((v) => v.toUpperCase() === 'YES')) return 'YES';
  return values.length === 1 && values[0] === 'NO' ? 'NO' : 'unclear';
}

/** The first of an object's modalities that marks a burned-in kind (any value, any case). */
function riskyModality(value: string | undefined): string {
  const values = (value ?? '').split('\\').map((v) => v.trim().toUpperCase());
  return values.find((v) => BURNED_IN_MODALITIES[v]) ?? values[0] ?? '';
}

const BLANKING_ADVICE =
  'add a pixel blanking rule for its device (Manufacturer and ManufacturerModelName: lpacs init --blanking FILE, docs/deid.md), then lpacs quarantine retry';

/**
 * What to do with an object by its class, Modality and BurnedInAnnotation
 * value. A secondary capture that does not say NO is refused like an
 * ultrasound unless the lake accepts unmarked secondary captures (PS3.15
 * E.1.1: never passed without a decision someone made and recorded).
 * @param acceptUnmarked the kinds the lake's options accept unmarked.
 */
export function burnedInRisk(
  facts: RiskFacts,
  acceptUnmarked: readonly UnmarkedKind[] = [],
): Risk {
  const stated = statement(facts.burnedIn);
  if (stated === 'YES')
    return {
      verdict: 'refuse',
      reason: `BurnedInAnnotation (0028,0301) is YES: its pixels carry text that may identify the patient; ${BLANKING_ADVICE}`,
    };
  if (stated === 'NO') return { verdict: 'ok' };
  const name = BURNED_IN_CLASSES[facts.sopClassUID];
  if (name)
    return {
      verdict: 'refuse',
      reason: `${name} objects often show identifying text in their pixels; refused unless BurnedInAnnotation (0028,0301) is NO: ${BLANKING_ADVICE}`,
    };
  const modality = riskyModality(facts.modality);
  const kind = BURNED_IN_MODALITIES[modality];
  if (kind)
    return {
      verdict: 'refuse',
      reason: `Modality (0008,0060) ${modality} (${kind}): such images often show identifying text in their pixels; refused unless BurnedInAnnotation (0028,0301) is NO: ${BLANKING_ADVICE}`,
    };
  if (!SECONDARY_CAPTURE_CLASSES[facts.sopClassUID]) return { verdict: 'ok' };
  if (acceptUnmarked.includes('secondary-capture'))
    return {
      verdict: 'warn',
      reason:
        'secondary capture without BurnedInAnnotation (0028,0301): check its pixels for text before sharing',
    };
  return {
    verdict: 'refuse',
    reason:
      'secondary capture without BurnedInAnnotation (0028,0301) NO may show identifying text in its pixels: add a blanking rule for its device, or accept unmarked secondary captures in the lake (lpacs init --accept-unmarked secondary-capture, or acceptUnmarked in lake.json)',
  };
}

const ACCEPT_RECOGNIZABLE =
  'lpacs has no Clean Recognizable Visual Features Option (PS3.15 E.3.2); accept such objects as they are only by a decision for the lake (lpacs init --accept-unmarked recognizable-visual-features, or acceptUnmarked in lake.json)';

/**
 * Whether an object may show the patient's face or other recognizable
 * features (PS3.15 E.1.1, Retain and Clean Recognizable Visual Features):
 * RecognizableVisualFeatures (0028,0302) YES on any class, or a
 * photograph of the patient (VL or Video Photographic, Modality XC) that
 * does not say NO. No blanking rule admits such an object: only the
 * lake's `recognizable-visual-features` acceptance does, with a notice.
 */
export function recognizableRisk(
  facts: RiskFacts,
  acceptUnmarked: readonly UnmarkedKind[] = [],
): Risk {
  const stated = statement(facts.recognizable);
  if (stated === 'NO') return { verdict: 'ok' };
  const values = (facts.modality ?? '')
    .split('\\')
    .map((v) => v.trim().toUpperCase());
  const modality =
    values.find((v) => PHOTOGRAPH_MODALITIES.has(v)) ?? values[0] ?? '';
  let why: string;
  if (stated === 'YES')
    why =
      'RecognizableVisualFeatures (0028,0302) is YES: its pixels may show the patient recognizably (a face, a tattoo)';
  else if (
    PHOTOGRAPH_CLASSES.has(facts.sopClassUID) ||
    PHOTOGRAPH_MODALITIES.has(modality)
  )
    why = `${BURNED_IN_CLASSES[facts.sopClassUID] ?? `Modality (0008,0060) ${modality}`} objects are photographs that may show the patient recognizably, and this one does not say RecognizableVisualFeatures (0028,0302) NO`;
  else return { verdict: 'ok' };
  if (acceptUnmarked.includes('recognizable-visual-features'))
    return {
      verdict: 'warn',
      reason: `${why}; accepted by the lake's option: check its pixels before sharing`,
    };
  return { verdict: 'refuse', reason: `${why}; ${ACCEPT_RECOGNIZABLE}` };
}
