function byte(v: number): number {
  return v <= 0 ? 0 : v >= 255 ? 255 : Math.round(v);
}

/**
 * Converts interleaved 8-bit YBR_FULL samples to RGB in place
 * (PS3.3 C.7.6.3.1.2, the full-range ITU-R BT.601 equations).
 */
export function ybrToRgb(samples: Uint8Array): Uint8Array {
  for (let i = 0; i + 2 < samples.length; i += 3) {
    const y = samples[i] ?? 0;
    const cb = (samples[i + 1] ?? 0) - 128;
    const cr = (samples[i + 2] ?? 0) - 128;
    samples[i] = byte(y + 1.402 * cr);
    samples[i + 1] = byte(y - 0.344136 * cb - 0.714136 * cr);
    samples[i + 2] = byte(y + 1.772 * cb);
  }
  return samples;
}
