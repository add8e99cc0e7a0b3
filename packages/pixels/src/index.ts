export { decodeFrame } from './decodeFrame';
export { PixelError, PixelErrorCode } from './PixelError';
export type { DecodedFrame, RenderOptions } from './types';
