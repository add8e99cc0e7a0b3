import { join } from 'node:path';

/** The repository (these tests run from packages/deid/dist/__tests__). */
export const REPO = join(__dirname, '..', '..', '..', '..');

/** The generated CT corpus the test command puts in place (datasets/generate-ct.mjs). */
export const CT_TEST = join(REPO, 'datasets', 'cache', 'ct-test');

/** The first slice of the corpus, for tests that plant values in one CT. */
export const CT_FILE = join(CT_TEST, 'P0001', 'ST01', 'SE01', 'CT000001.dcm');
