/**
 * Reads back a uint8 `.npy` (format 1.0) as encodeNpy writes it: its shape
 * and a view of its values.
 * @throws Error when the bytes are not such a file.
 */
export function decodeNpy(bytes: Uint8Array): {
  shape: number[];
  values: Uint8Array;
} {
  const magic = Buffer.from(bytes.buffer, bytes.byteOffset, 6).toString(
    'latin1',
  );
  if (bytes.length < 10 || magic !== '\x93NUMPY' || bytes[6] !== 1)
    throw new Error('not a .npy file of format 1.0');
  const length = bytes[8]! | (bytes[9]! << 8);
  const header = Buffer.from(
    bytes.buffer,
    bytes.byteOffset + 10,
    length,
  ).toString('latin1');
  const dims = /'shape': \(([^)]*)\)/.exec(header)?.[1];
  if (!header.includes("'descr': '|u1'") || dims === undefined)
    throw new Error('not a uint8 .npy file');
  const shape = dims
    .split(',')
    .map((d) => d.trim())
    .filter((d) => d !== '')
    .map(Number);
  const values = bytes.subarray(10 + length);
  if (values.length !== shape.reduce((a, b) => a * b, 1))
    throw new Error('.npy values do not fill its shape');
  return { shape, values };
}
