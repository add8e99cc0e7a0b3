import type { UnmarkedKind } from './options';

/**
 * SOP classes whose pixels usually carry burned-in text (PS3.15 E.1.1's
 * warning about burned-in annotation; in practice ultrasound, endoscopy
 * and scanned or encapsulated documents). Objects of these classes are
 * refused unless they state BurnedInAnnotation (0028,0301) = NO.
 */
export const BURNED_IN_CLASSES: Readonly<Record<string, string>> = {
  '1.2.840.10008.5.1.4.1.1.6.1': 'Ultrasound Image',
  '1.2.840.10008.5.1.4.1.1.6.2': 'Enhanced US Volume',
  '1.2.840.10008.5.1.4.1.1.3.1': 'Ultrasound Multi-frame Image',
  '1.2.840.10008.5.1.4.1.1.77.1.1': 'VL Endoscopic Image',
  '1.2.840.10008.5.1.4.1.1.77.1.1.1': 'Video Endoscopic Image',
  '1.2.840.10008.5.1.4.1.1.104.1': 'Encapsulated PDF',
  '1.2.840.10008.5.1.4.1.1.104.2': 'Encapsulated CDA',
};

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

/**
 * What to do with an object by its class and BurnedInAnnotation value:
 * `refuse` with a reason, `warn` (ingested, reported), or `ok`. A
 * secondary capture that does not say NO is refused like an ultrasound
 * unless the lake accepts unmarked secondary captures (PS3.15 E.1.1:
 * never passed without a decision someone made and recorded).
 * @param acceptUnmarked the kinds the lake's options accept unmarked.
 */
export function burnedInRisk(
  sopClassUID: string,
  burnedIn: string | undefined,
  acceptUnmarked: readonly UnmarkedKind[] = [],
): { verdict: 'refuse' | 'warn' | 'ok'; reason?: string } {
  const stated = burnedIn?.trim().toUpperCase();
  if (stated === 'YES')
    return {
      verdict: 'refuse',
      reason:
        'BurnedInAnnotation (0028,0301) is YES: its pixels carry text that may identify the patient; add a pixel blanking rule for its device (Manufacturer and ManufacturerModelName: lpacs init --blanking FILE, docs/deid.md), then lpacs quarantine retry',
    };
  if (stated === 'NO') return { verdict: 'ok' };
  const name = BURNED_IN_CLASSES[sopClassUID];
  if (name)
    return {
      verdict: 'refuse',
      reason: `${name} objects often show identifying text in their pixels; refused unless BurnedInAnnotation (0028,0301) is NO: add a pixel blanking rule for its device (Manufacturer and ManufacturerModelName: lpacs init --blanking FILE, docs/deid.md), then lpacs quarantine retry`,
    };
  if (!SECONDARY_CAPTURE_CLASSES[sopClassUID]) return { verdict: 'ok' };
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
