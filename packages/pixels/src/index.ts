export { decodeFrame } from './decodeFrame';
export { encodeGreyPng } from './encodeGreyPng';
export { PixelError, PixelErrorCode } from './PixelError';
export { renderFrame } from './renderFrame';
export type { DecodedFrame, RenderOptions } from './types';
