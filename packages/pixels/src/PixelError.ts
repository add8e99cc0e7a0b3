/** Why a frame could not be decoded or rendered; stable strings. */
export enum PixelErrorCode {
  MissingPixelData = 'MISSING_PIXEL_DATA',
  MissingAttribute = 'MISSING_ATTRIBUTE',
  FrameOutOfRange = 'FRAME_OUT_OF_RANGE',
  UnsupportedTransferSyntax = 'UNSUPPORTED_TRANSFER_SYNTAX',
  UnsupportedPixelFormat = 'UNSUPPORTED_PIXEL_FORMAT',
  Undecodable = 'UNDECODABLE_FRAME',
  BadWindow = 'BAD_WINDOW',
}

/**
 * A frame that cannot be decoded or rendered. Messages name attributes,
 * sizes and UIDs of transfer syntaxes, never values (no PHI).
 */
export class PixelError extends Error {
  override readonly name = 'PixelError';
  constructor(
    readonly code: PixelErrorCode,
    message: string,
  ) {
    super(message);
  }
}
