import { MlError, MlErrorCode } from './MlError';
import type { SessionOptions } from './types';

const SETTINGS = {
  LPACS_ORT_PROVIDERS: 'executionProviders',
  LPACS_ORT_THREADS: 'intraOpNumThreads',
  LPACS_ORT_SESSIONS: 'poolSize',
  LPACS_ORT_BATCH: 'maxBatch',
} as const;

function wholeNumber(name: string, text: string): number {
  const n = Number(text);
  if (!/^\s*\d+\s*$/.test(text) || !(n >= 1))
    throw new MlError(
      MlErrorCode.BadSetting,
      `$${name} must be a whole number of 1 or more, got ${JSON.stringify(text)}`,
    );
  return n;
}

/**
 * onnxruntime settings from the environment, for `lpacs predict` and
 * `lpacs serve` alike: `LPACS_ORT_PROVIDERS` (execution providers in
 * order, e.g. `cuda,cpu`), `LPACS_ORT_THREADS` (intra-op threads per
 * session), `LPACS_ORT_SESSIONS` (sessions per model),
 * `LPACS_ORT_BATCH` (inputs per run). Unset ones keep their defaults.
 * @throws MlError BAD_SETTING naming a variable that is not a whole
 * number of 1 or more, or a provider list with no name.
 */
export function sessionOptionsFromEnv(
  env: NodeJS.ProcessEnv = process.env,
): SessionOptions {
  const out: SessionOptions = {};
  for (const [name, key] of Object.entries(SETTINGS)) {
    const text = env[name];
    if (text === undefined || text === '') continue;
    if (key === 'executionProviders') {
      const providers = text
        .split(',')
        .map((p) => p.trim())
        .filter(Boolean);
      if (!providers.length)
        throw new MlError(
          MlErrorCode.BadSetting,
          `$${name} must name execution providers (e.g. cuda,cpu), got ${JSON.stringify(text)}`,
        );
      out.executionProviders = providers;
    } else out[key] = wholeNumber(name, text);
  }
  return out;
}
