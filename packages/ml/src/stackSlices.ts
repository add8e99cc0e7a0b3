import { MlError, MlErrorCode } from './MlError';

/**
 * The indices of `count` slices spread evenly over `n` sorted ones (first
 * and last always in when count > 1), nearest slice for each.
 */
export function sampleSlices(n: number, count: number): number[] {
  if (n < 1) throw new MlError(MlErrorCode.BadInput, 'a series with no slices');
  if (count === 1) return [Math.floor((n - 1) / 2)];
  return Array.from({ length: count }, (_, i) =>
    Math.round((i * (n - 1)) / (count - 1)),
  );
}

/**
 * Stacks preprocessed one-channel planes as the channels of one input, in
 * the manifest's layout.
 * @param planes - rows * columns values each, already normalised.
 */
export function stackSlices(
  planes: readonly Float32Array[],
  layout: 'NCHW' | 'NHWC',
): Float32Array {
  const c = planes.length;
  const n = planes[0]?.length ?? 0;
  const out = new Float32Array(c * n);
  planes.forEach((p, k) => {
    if (layout === 'NCHW') out.set(p, k * n);
    else for (let i = 0; i < n; i++) out[i * c + k] = p[i]!;
  });
  return out;
}
