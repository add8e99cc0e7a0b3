import { readFileSync } from 'node:fs';
import { parseOptions } from '@lpacs/deid';
import { LakeLayout } from '@lpacs/lake';

/** `lpacs init --retain NAME`: the option each name sets. */
export const RETAIN: Record<string, string> = {
  'patient-characteristics': 'retainPatientCharacteristics',
  'device-identity': 'retainDeviceIdentity',
  'institution-identity': 'retainInstitutionIdentity',
  uids: 'retainUIDs',
  'safe-private': 'retainSafePrivate',
};

/** `lpacs init --clean NAME`: the option each name sets. */
export const CLEAN: Record<string, string> = {
  'structured-content': 'cleanStructuredContent',
  graphics: 'cleanGraphics',
};

/**
 * The de-identification options of the lake at `root` as its lake.json
 * holds them, or undefined when it has none yet (a new lake).
 */
export function existingOptions(
  root: string,
): Record<string, unknown> | undefined {
  let text: string;
  try {
    text = readFileSync(new LakeLayout(root).settings, 'utf8');
  } catch {
    return undefined;
  }
  let settings: { deidentification?: unknown };
  try {
    settings = JSON.parse(text) as { deidentification?: unknown };
  } catch {
    return undefined; // Lake.settings reports it as corrupt
  }
  return settings.deidentification === undefined
    ? undefined
    : { ...parseOptions(settings.deidentification) };
}

/**
 * De-identification options as the lpacs init flags that make them, e.g.
 * `--dates modified --retain patient-characteristics`.
 */
export function initFlags(o: Record<string, unknown>): string {
  const flags = [`--dates ${String(o.longitudinal)}`];
  for (const [name, key] of Object.entries(RETAIN))
    if (o[key] === true) flags.push(`--retain ${name}`);
  if (o.cleanDescriptors === false) flags.push('--no-clean-descriptors');
  for (const [name, key] of Object.entries(CLEAN))
    if (o[key] === true) flags.push(`--clean ${name}`);
  return flags.join(' ');
}
