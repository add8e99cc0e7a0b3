import { RESEARCH_DEFAULT } from '../index';
import type { DeidOptions } from '../index';

/**
 * The research default that also accepts secondary captures without
 * BurnedInAnnotation (0028,0301) NO. For tests of what happens to
 * attributes whose fixtures are such secondary captures (the planted-PHI
 * corpus, dump2dcm listings, the clean-descriptors cases): by default
 * they are quarantined before any attribute is read.
 */
export const ACCEPT_UNMARKED_SC: Readonly<DeidOptions> = {
  ...RESEARCH_DEFAULT,
  acceptUnmarked: ['secondary-capture'],
};
