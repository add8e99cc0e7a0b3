export { decodeFrame } from './decodeFrame';
export { PixelError, PixelErrorCode } from './PixelError';
export { renderFrame } from './renderFrame';
export type { DecodedFrame, RenderOptions } from './types';
