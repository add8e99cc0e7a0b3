import type { RenderOptions } from '@lpacs/pixels';
import { badParameter } from './DicomWebError';

/**
 * The rendering query parameters of PS3.18 8.3.5.1: `window=center,width,
 * function` (only `linear`) and `quality` (1-100). Others are refused so
 * that a client does not take a silently ignored one for applied.
 */
export function renderParams(
  search: URLSearchParams,
): Omit<RenderOptions, 'format'> {
  const out: Omit<RenderOptions, 'format'> = {};
  for (const name of search.keys()) {
    if (name !== 'window' && name !== 'quality')
      throw badParameter(name, 'not supported for rendering (window, quality)');
  }
  const window = search.get('window');
  if (window !== null) {
    const [c, w, fn, ...rest] = window.split(',');
    const center = Number(c);
    const width = Number(w);
    if (rest.length || !c || !w || !Number.isFinite(center) || !(width >= 1)) {
      throw badParameter(
        'window',
        `"${window.slice(0, 60)}" is not center,width,function with width at least 1`,
      );
    }
    if (fn !== undefined && fn.toLowerCase() !== 'linear') {
      throw badParameter(
        'window',
        `function "${fn.slice(0, 20)}" is not supported (linear)`,
      );
    }
    out.windowCenter = center;
    out.windowWidth = width;
  }
  const quality = search.get('quality');
  if (quality !== null) {
    const q = Number(quality);
    if (!Number.isInteger(q) || q < 1 || q > 100)
      throw badParameter(
        'quality',
        `"${quality.slice(0, 20)}" is not a whole number from 1 to 100`,
      );
    out.quality = q;
  }
  return out;
}
