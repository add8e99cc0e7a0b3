import { resolve } from 'node:path';

/** Flags shared by every command. */
export interface Options {
  lake: string;
  json: boolean;
  host: string;
  port: number;
  workers: number | undefined;
  batchSize: number | undefined;
}

function positiveInt(
  name: string,
  value: string | undefined,
): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0)
    throw new Error(`--${name} must be a whole number, got "${value}"`);
  return n;
}

function atLeastOne(
  name: string,
  value: number | undefined,
): number | undefined {
  if (value === 0) throw new Error(`--${name} must be at least 1`);
  return value;
}

/**
 * A TCP port from a flag; 0 asks the system for a free one (tests use it).
 * Node's own error for 99999 names neither the flag nor the range.
 */
export function portNumber(
  name: string,
  value: string | undefined,
): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!/^\d+$/.test(value) || n > 65535)
    throw new Error(
      `--${name} must be 1-65535 (or 0 for any free port), got "${value}"`,
    );
  return n;
}

/** Reads flags; the lake is --lake, else $LPACS_LAKE, else ./lake. */
export function readOptions(
  values: Record<string, string | boolean | string[] | undefined>,
): Options {
  const str = (k: string) =>
    typeof values[k] === 'string' ? (values[k] as string) : undefined;
  return {
    lake: resolve(str('lake') ?? process.env.LPACS_LAKE ?? 'lake'),
    json: values.json === true,
    host: str('host') ?? '127.0.0.1',
    port: portNumber('port', str('port')) ?? 4000,
    workers: atLeastOne('workers', positiveInt('workers', str('workers'))),
    batchSize: atLeastOne(
      'batch-size',
      positiveInt('batch-size', str('batch-size')),
    ),
  };
}
