import { decodeNpy } from './decodeNpy';
import type { FrameMask } from './segmentationMask';

/**
 * A model's `.npy` mask ([labels, rows, columns], 1 = in the label) over
 * an image of `rows` x `columns`: resampled nearest-neighbour as the job's
 * SEG writer resamples (output pixel r samples mask row
 * floor((r + 0.5) * maskRows / rows)), each label drawn as segment
 * number label index + 1, the lowest number where labels overlap — so a
 * frame reads the same whether its mask came from the SEG or the `.npy`.
 * @returns undefined when the file is not a 3-D uint8 mask.
 */
export function npyMask(
  npy: Uint8Array,
  rows: number,
  columns: number,
): FrameMask | undefined {
  const array = decodeNpy(npy);
  if (!array || array.shape.length !== 3) return undefined;
  const [labels, maskRows, maskColumns] = array.shape as [
    number,
    number,
    number,
  ];
  if (!labels || !maskRows || !maskColumns || !rows || !columns)
    return undefined;
  const segments = new Uint8Array(rows * columns);
  const numbers: number[] = [];
  // Highest label first, so a lower segment number overwrites it.
  for (let l = Math.min(labels, 255) - 1; l >= 0; l--) {
    numbers.unshift(l + 1);
    const plane = l * maskRows * maskColumns;
    for (let r = 0; r < rows; r++) {
      const mr = Math.min(
        maskRows - 1,
        Math.floor(((r + 0.5) * maskRows) / rows),
      );
      for (let c = 0; c < columns; c++) {
        const mc = Math.min(
          maskColumns - 1,
          Math.floor(((c + 0.5) * maskColumns) / columns),
        );
        if (array.data[plane + mr * maskColumns + mc])
          segments[r * columns + c] = l + 1;
      }
    }
  }
  return { rows, columns, segments, numbers };
}
