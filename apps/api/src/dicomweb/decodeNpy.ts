/** A uint8 array read out of a NumPy `.npy` file. */
export interface NpyArray {
  shape: number[];
  data: Uint8Array;
}

const MAGIC = '\x93NUMPY';

/**
 * Reads a NumPy `.npy` file (format 1.0 to 3.0) holding uint8 values in C
 * order, as lpacs's segmentation jobs write masks: the magic string, the
 * version, a little-endian header length (2 bytes in 1.0, 4 after), then a
 * Python dict literal giving `descr`, `fortran_order` and `shape`.
 * @returns undefined when the file is not such an array (another dtype,
 * Fortran order, or fewer values than its shape says).
 */
export function decodeNpy(bytes: Uint8Array): NpyArray | undefined {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (buf.length < 10 || buf.toString('latin1', 0, 6) !== MAGIC)
    return undefined;
  const major = buf[6]!;
  const wide = major >= 2;
  if (major < 1 || major > 3 || (wide && buf.length < 12)) return undefined;
  const length = wide ? buf.readUInt32LE(8) : buf.readUInt16LE(8);
  const start = (wide ? 12 : 10) + length;
  if (start > buf.length) return undefined;
  const header = buf.toString(
    major === 3 ? 'utf8' : 'latin1',
    start - length,
    start,
  );
  const descr = /'descr':\s*'([^']*)'/.exec(header)?.[1];
  const fortran = /'fortran_order':\s*(True|False)/.exec(header)?.[1];
  const dims = /'shape':\s*\(([^)]*)\)/.exec(header)?.[1];
  if (!['|u1', 'u1', '<u1', '>u1', '|b1'].includes(descr ?? ''))
    return undefined;
  if (fortran !== 'False' || dims === undefined) return undefined;
  const shape = dims
    .split(',')
    .map((d) => d.trim())
    .filter((d) => d !== '')
    .map(Number);
  if (shape.some((d) => !Number.isInteger(d) || d < 0)) return undefined;
  const count = shape.reduce((a, b) => a * b, 1);
  if (buf.length - start < count) return undefined;
  return { shape, data: buf.subarray(start, start + count) };
}
