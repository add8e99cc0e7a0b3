/**
 * What is not a number in one image's (or series') model output, as a
 * sentence naming how many values are NaN, +Infinity and -Infinity, or
 * undefined when every value is finite.
 */
export function nonFinite(values: ArrayLike<number>): string | undefined {
  let nan = 0;
  let plus = 0;
  let minus = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (Number.isFinite(v)) continue;
    if (Number.isNaN(v)) nan++;
    else if (v > 0) plus++;
    else minus++;
  }
  if (!nan && !plus && !minus) return undefined;
  const parts = [
    nan ? `${nan} NaN` : '',
    plus ? `${plus} +Infinity` : '',
    minus ? `${minus} -Infinity` : '',
  ].filter(Boolean);
  return `the model's output has ${parts.join(', ')} of its ${values.length} values; no prediction or mask was kept`;
}
