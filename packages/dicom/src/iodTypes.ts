import IOD_DATA from './generated/iodTypes.json';

/** An attribute's type in an IOD (PS3.5 7.4): 1, 1C, 2, 2C or 3. */
export type IodType = '1' | '1C' | '2' | '2C' | '3';

interface IodData {
  source: { package: string; version: string; edition: string };
  iods: Record<string, { table: string; types: Record<string, IodType> }>;
  sopClasses: Record<string, string>;
}

const data = IOD_DATA as unknown as IodData;

/**
 * Where the IOD types come from: GDCM's encoding of PS3.3 and PS3.4,
 * as Debian's libgdcm3.0 ships it (see packages/dicom/standard/README.md).
 */
export const IOD_TYPES_SOURCE =
  `DICOM PS3.3 module tables (edition ${data.source.edition}) as encoded by GDCM ` +
  `(${data.source.package} ${data.source.version}, BSD-style licence, ` +
  'see packages/dicom/standard/LICENSE.gdcm.txt)';

/** One Map per IOD, built on first use and shared by its SOP classes. */
const byIod = new Map<string, ReadonlyMap<number, IodType>>();

/**
 * The top-level type, in the IOD of a SOP class, of each attribute whose
 * Table E.1-1 Basic Profile code is combined (X/Z, X/D, X/Z/D, Z/D,
 * X/Z/U*): the strictest one among the IOD's modules and the macros
 * they include, as written, whatever the module's usage (M, C or U).
 * Undefined for a SOP class the table does not map to an IOD.
 */
export function iodTypesFor(
  sopClassUID: string | undefined,
): ReadonlyMap<number, IodType> | undefined {
  if (!sopClassUID) return undefined;
  const iod = data.sopClasses[sopClassUID];
  if (!iod) return undefined;
  let map = byIod.get(iod);
  if (!map) {
    map = new Map(
      Object.entries(data.iods[iod]!.types).map(([tag, type]) => [
        parseInt(tag, 16),
        type,
      ]),
    );
    byIod.set(iod, map);
  }
  return map;
}

/** The IOD a SOP class maps to (its PS3.3 Annex A name), if any. */
export function iodOf(sopClassUID: string): string | undefined {
  return data.sopClasses[sopClassUID];
}
