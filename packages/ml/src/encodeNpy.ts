/**
 * Encodes a uint8 array as a NumPy `.npy` file (format 1.0): the magic
 * string, a header giving dtype and shape, then the values in C order.
 * `numpy.load` reads it back as is.
 */
export function encodeNpy(data: Uint8Array, shape: readonly number[]): Buffer {
  const dims = shape.length === 1 ? `${shape[0]},` : shape.join(', ');
  let header = `{'descr': '|u1', 'fortran_order': False, 'shape': (${dims}), }`;
  // The whole preamble (10 bytes) plus header is padded to 64 bytes.
  const total = Math.ceil((10 + header.length + 1) / 64) * 64;
  header = header.padEnd(total - 10 - 1, ' ') + '\n';
  const out = Buffer.alloc(total + data.length);
  out.write('\x93NUMPY', 0, 'latin1');
  out[6] = 1;
  out[7] = 0;
  out.writeUInt16LE(header.length, 8);
  out.write(header, 10, 'latin1');
  out.set(data, total);
  return out;
}
