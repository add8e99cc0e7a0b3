import { existsSync } from 'node:fs';
import { RESEARCH_DEFAULT, UNMARKED_KINDS, parseOptions } from '@lpacs/deid';
import type { DeidOptions } from '@lpacs/deid';
import {
  KEK_HELP,
  Lake,
  LakeCipher,
  LakeError,
  LakeErrorCode,
  encryptionSettings,
  readKek,
  writeFileAtomic,
} from '@lpacs/lake';
import type { EncryptionSettings } from '@lpacs/lake';
import type { Options } from '../options';
import { CLEAN, RETAIN, existingOptions } from '../lakeOptions';
import { readOptionFile } from '../readOptionFile';

/** What `lpacs init` accepts besides the shared flags. */
export interface InitFlags {
  dates?: string;
  retain?: string[];
  noClean?: boolean;
  clean?: string[];
  /** A JSON file holding a list of blanking rules. */
  blanking?: string;
  /** Kinds of objects ingested without BurnedInAnnotation NO (with a notice). */
  acceptUnmarked?: string[];
  /** Encrypt the lake at rest under the KEK of the environment. */
  encrypt?: boolean;
}

const DATES = ['off', 'full', 'modified'];

/** Which of the options that may change under stored data differ. */
function admissionChanges(now: DeidOptions, asked: DeidOptions): string {
  const differ = (k: 'acceptUnmarked' | 'blanking') =>
    JSON.stringify(now[k]) !== JSON.stringify(asked[k]);
  const changed = [
    ...(differ('acceptUnmarked') ? ['the kinds accepted unmarked'] : []),
    ...(differ('blanking') ? ['the blanking rules'] : []),
  ];
  return changed.join(' and ');
}

/**
 * `lpacs init [--dates off|full|modified] [--retain NAME]...
 * [--no-clean-descriptors] [--clean NAME]... [--blanking FILE]
 * [--accept-unmarked secondary-capture|recognizable-visual-features]...`:
 * creates a lake with its de-identification options (lake.json). Later
 * ingests use them; they cannot change under stored data.
 */
export async function initCommand(
  opts: Options,
  flags: InitFlags,
): Promise<number> {
  // A lake that exists keeps every option not given here: `lpacs init`
  // alone changes nothing and prints them.
  const existing = existingOptions(opts.lake);
  const given =
    flags.dates !== undefined ||
    flags.retain !== undefined ||
    flags.noClean === true ||
    flags.clean !== undefined ||
    flags.blanking !== undefined ||
    flags.acceptUnmarked !== undefined;
  const requested: Record<string, unknown> = existing
    ? { ...existing }
    : { ...RESEARCH_DEFAULT, retainPatientCharacteristics: false };
  if (flags.dates !== undefined) {
    if (!DATES.includes(flags.dates))
      throw new Error(
        `--dates takes ${DATES.join(', ')}; got "${flags.dates}"`,
      );
    requested.longitudinal = flags.dates;
  }
  const retain =
    flags.retain ?? (existing ? undefined : ['patient-characteristics']);
  if (retain) for (const key of Object.values(RETAIN)) requested[key] = false;
  for (const name of retain ?? []) {
    const key = RETAIN[name];
    if (!key)
      throw new Error(
        `--retain takes ${Object.keys(RETAIN).join(', ')}; got "${name}"`,
      );
    requested[key] = true;
  }
  if (flags.noClean) requested.cleanDescriptors = false;
  if (flags.clean)
    for (const key of Object.values(CLEAN)) requested[key] = false;
  for (const name of flags.clean ?? []) {
    const key = CLEAN[name];
    if (!key)
      throw new Error(
        `--clean takes ${Object.keys(CLEAN).join(', ')}; got "${name}"`,
      );
    requested[key] = true;
  }
  const kinds: readonly string[] = UNMARKED_KINDS;
  // `--accept-unmarked none` empties the list of a lake that has one.
  let accept = flags.acceptUnmarked;
  if (accept?.includes('none')) {
    if (accept.length > 1)
      throw new Error('--accept-unmarked none stands alone');
    accept = [];
  }
  for (const name of accept ?? [])
    if (!kinds.includes(name))
      throw new Error(
        `--accept-unmarked takes ${kinds.join(', ')} or none; got "${name}" (ultrasound, endoscopy, microscopy, photographs and documents need BurnedInAnnotation NO or a --blanking rule)`,
      );
  if (accept) requested.acceptUnmarked = accept;
  if (flags.blanking !== undefined) {
    const text = readOptionFile('--blanking', flags.blanking).toString('utf8');
    try {
      requested.blanking = JSON.parse(text) as unknown;
    } catch {
      throw new Error(`--blanking ${flags.blanking} is not valid JSON`);
    }
  }
  const options = parseOptions(requested);
  const kek = flags.encrypt ? readKek() : undefined;
  if (flags.encrypt && !kek)
    throw new LakeError(
      LakeErrorCode.KekRequired,
      `lpacs init --encrypt needs a key-encryption key: ${KEK_HELP}`,
    );
  const lake = await Lake.open(opts.lake);
  try {
    const initial: Record<string, unknown> = { deidentification: options };
    if (kek) {
      if (!existsSync(lake.layout.settings)) {
        await LakeCipher.create(lake.layout.dataKeys, kek);
        initial.encryption = {
          algorithm: 'AES-256-GCM',
          dataKeys: 'keys/data-keys.json',
          kek: 'not stored: LPACS_KEK, LPACS_KEK_FILE or --kek-file',
        } satisfies EncryptionSettings;
      } else if (!encryptionSettings(opts.lake)) {
        process.stderr.write(
          `lpacs init: ${lake.layout.settings} already exists in the clear; encryption is chosen when a lake is created\n`,
        );
        return 1;
      }
    }
    const settings = await lake.settings(initial);
    let current = parseOptions(settings.deidentification);
    if (JSON.stringify(current) !== JSON.stringify(options)) {
      // Options shape stored data: the same input must de-identify the
      // same way for reruns to find it. With nothing stored yet (say a
      // lake made by an ingest that quarantined everything) they may.
      const batches = (await lake.batches('instances')).length;
      // Accepting unmarked secondary captures and blanking rules decide
      // only which new objects are admitted and how their pixels are
      // cleaned; stored objects stay as they are, so these may change.
      const { acceptUnmarked: _a, blanking: _b, ...fixedNow } = current;
      const { acceptUnmarked: _c, blanking: _d, ...fixedAsked } = options;
      const onlyAdmission =
        JSON.stringify(fixedNow) === JSON.stringify(fixedAsked);
      if (batches > 0 && !onlyAdmission) {
        process.stderr.write(
          `lpacs init: ${lake.layout.settings} already exists with other options, and the lake holds instances de-identified with them (${batches} batch${batches === 1 ? '' : 'es'}), so they cannot change:\n${JSON.stringify(current, null, 2)}\n`,
        );
        return 1;
      }
      await writeFileAtomic(
        lake.layout.settings,
        `${JSON.stringify({ ...settings, deidentification: options }, null, 2)}\n`,
      );
      process.stdout.write(
        batches > 0
          ? `lake ${opts.lake}: ${admissionChanges(current, options)} replaced; stored objects stay as they are\n`
          : `lake ${opts.lake} holds no instances yet: its options are replaced\n`,
      );
      current = options;
    }
    if (existing && !given)
      process.stdout.write(
        `lake ${opts.lake} exists; nothing changed (lpacs init changes only the options it is given)\n`,
      );
    process.stdout.write(
      `lake ${opts.lake} de-identifies with:\n${JSON.stringify(current, null, 2)}\n`,
    );
    if (settings.encryption)
      process.stdout.write(
        `encrypted at rest: AES-256-GCM, data key in ${lake.layout.dataKeys} wrapped by the key-encryption key${kek ? ` from ${kek.source}` : ''} (every command on this lake needs it)\n`,
      );
    return 0;
  } finally {
    lake.close();
  }
}
