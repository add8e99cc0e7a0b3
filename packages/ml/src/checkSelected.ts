import type { JobInput, JobSelection } from './jobTypes';
import { MlError, MlErrorCode } from './MlError';

/** UIDs named in a message: enough to spot a typo, never a flood. */
const SHOWN = 3;

function listed(values: readonly string[]): string {
  const more = values.length - SHOWN;
  return `${values.slice(0, SHOWN).join(', ')}${more > 0 ? ` and ${more} more` : ''}`;
}

/**
 * Refuses a selection that leaves a job nothing to do, or that names a
 * series the job would silently skip: a mistyped UID or modality would
 * otherwise give an empty job marked done. A series of no image (a
 * structured report's, see IMAGES_ONLY) is refused like a missing one.
 * @param inputs - what selectInputs found for `selection`.
 * @throws MlError BAD_SELECTION naming the series or modality.
 */
export function checkSelected(
  selection: JobSelection,
  inputs: readonly JobInput[],
): void {
  const filters = [
    selection.modalities?.length
      ? `modality ${selection.modalities.map((m) => m.trim().toUpperCase()).join(' or ')}`
      : undefined,
    selection.where ? 'the cohort filter' : undefined,
  ].filter((f) => f !== undefined);
  const also = filters.length ? ` with ${filters.join(' and ')}` : '';
  const asked = selection.seriesInstanceUIDs;
  if (asked?.length) {
    const found = new Set(inputs.map((i) => i.SeriesInstanceUID));
    const missing = [...new Set(asked)].filter((uid) => !found.has(uid));
    if (missing.length)
      throw new MlError(
        MlErrorCode.BadSelection,
        `no image of series ${listed(missing)} in the lake${also}`,
      );
  }
  if (!inputs.length)
    throw new MlError(
      MlErrorCode.BadSelection,
      filters.length
        ? `no image in the lake${also}`
        : 'the lake holds no images to predict on',
    );
}
