import pino from 'pino';
import type { Logger } from '@lpacs/lake';

/**
 * A JSON logger on stderr with a category per area; the level comes from
 * $LPACS_LOG_LEVEL (default info). Callers log pseudonyms, counts and
 * codes, never PHI.
 */
export function createLogger(
  category: string,
  level = process.env.LPACS_LOG_LEVEL ?? 'info',
): Logger {
  return pino({ level, base: { category } }, pino.destination(2));
}
