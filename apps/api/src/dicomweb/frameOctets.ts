/**
 * Stored values as uncompressed little-endian samples of `bitsAllocated`
 * bits (PS3.5 8.2, Explicit VR Little Endian), the body of a frame
 * retrieved as application/octet-stream.
 */
export function frameOctets(stored: Int32Array, bitsAllocated: number): Buffer {
  if (bitsAllocated === 8)
    return Buffer.from(Uint8Array.from(stored, (v) => v & 0xff));
  const size = bitsAllocated === 16 ? 2 : 4;
  const out = Buffer.alloc(stored.length * size);
  for (let i = 0; i < stored.length; i++) {
    const v = stored[i] ?? 0;
    if (size === 2) out.writeUInt16LE(v & 0xffff, i * 2);
    else out.writeInt32LE(v, i * 4);
  }
  return out;
}
