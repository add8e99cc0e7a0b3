import { parseBlankingRules } from './blanking';
import { BOOLEAN_KEYS, RESEARCH_DEFAULT, UNMARKED_KINDS } from './options';
import type { DeidOptions, UnmarkedKind } from './options';

/**
 * Reads de-identification options from untrusted JSON (a lake's
 * `lake.json`): missing keys take the research default, unknown keys and
 * wrong types are refused with a message naming them.
 * @throws Error naming the first bad key and its value.
 */
export function parseOptions(input: unknown): DeidOptions {
  if (input === undefined || input === null) return { ...RESEARCH_DEFAULT };
  if (typeof input !== 'object' || Array.isArray(input)) {
    throw new Error('deidentification options must be an object');
  }
  const known = new Set<string>([
    'longitudinal',
    'blanking',
    'acceptUnmarked',
    ...BOOLEAN_KEYS,
  ]);
  for (const key of Object.keys(input)) {
    if (!known.has(key)) {
      throw new Error(
        `unknown de-identification option "${key}" (known: ${[...known].join(', ')})`,
      );
    }
  }
  const raw = input as Record<string, unknown>;
  const out: DeidOptions = { ...RESEARCH_DEFAULT };
  if (raw.longitudinal !== undefined) {
    if (
      raw.longitudinal !== 'off' &&
      raw.longitudinal !== 'full' &&
      raw.longitudinal !== 'modified'
    ) {
      throw new Error(
        `longitudinal must be "off", "full" or "modified", got ${JSON.stringify(raw.longitudinal)}`,
      );
    }
    out.longitudinal = raw.longitudinal;
  }
  for (const key of BOOLEAN_KEYS) {
    const value = raw[key];
    if (value === undefined) continue;
    if (typeof value !== 'boolean')
      throw new Error(
        `${key} must be true or false, got ${JSON.stringify(value)}`,
      );
    out[key] = value;
  }
  out.blanking = parseBlankingRules(raw.blanking);
  out.acceptUnmarked = parseUnmarked(raw.acceptUnmarked);
  return out;
}

function parseUnmarked(value: unknown): UnmarkedKind[] {
  if (value === undefined) return [];
  const kinds: readonly string[] = UNMARKED_KINDS;
  const bad = !Array.isArray(value)
    ? value
    : value.find((v) => typeof v !== 'string' || !kinds.includes(v));
  if (!Array.isArray(value) || bad !== undefined)
    throw new Error(
      `acceptUnmarked must be a list of ${kinds.map((k) => `"${k}"`).join(', ')}; got ${JSON.stringify(bad)}`,
    );
  // Sorted and once each, so equal settings compare equal as JSON.
  return [...new Set(value as UnmarkedKind[])].sort();
}
