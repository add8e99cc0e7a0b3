import sharp from 'sharp';

/**
 * Encodes 8-bit greyscale samples (rows of `columns` bytes) as a one
 * channel PNG, values unchanged: for label maps such as segmentation masks.
 */
export function encodeGreyPng(
  samples: Uint8Array,
  columns: number,
  rows: number,
): Promise<Buffer> {
  return sharp(samples, { raw: { width: columns, height: rows, channels: 1 } })
    .toColourspace('b-w')
    .png()
    .toBuffer();
}
