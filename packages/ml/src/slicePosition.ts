import { findElement, parseDicom, readDecimals } from '@lpacs/dicom';
import { MlError, MlErrorCode } from './MlError';

const IMAGE_POSITION_PATIENT = 0x00200032;
const IMAGE_ORIENTATION_PATIENT = 0x00200037;

/**
 * Where a slice lies along its normal: ImagePositionPatient projected on
 * the cross product of the row and column direction cosines of
 * ImageOrientationPatient (PS3.3 C.7.6.2.1.1). Sorting a series' slices by
 * it orders them in space whatever their InstanceNumber says.
 * @throws MlError BAD_INPUT when either attribute is missing or malformed.
 */
export function slicePosition(dicom: Uint8Array): number {
  const buf = Buffer.from(dicom.buffer, dicom.byteOffset, dicom.byteLength);
  const { body } = parseDicom(buf);
  const ipp = readDecimals(
    body.buffer,
    findElement(body.elements, IMAGE_POSITION_PATIENT),
  );
  const iop = readDecimals(
    body.buffer,
    findElement(body.elements, IMAGE_ORIENTATION_PATIENT),
  );
  if (ipp.length !== 3 || iop.length !== 6)
    throw new MlError(
      MlErrorCode.BadInput,
      `stacking by ImagePositionPatient needs (0020,0032) with 3 values and (0020,0037) with 6; found ${ipp.length} and ${iop.length}`,
    );
  const [r0, r1, r2, c0, c1, c2] = iop as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  const normal = [r1 * c2 - r2 * c1, r2 * c0 - r0 * c2, r0 * c1 - r1 * c0];
  return ipp[0]! * normal[0]! + ipp[1]! * normal[1]! + ipp[2]! * normal[2]!;
}
