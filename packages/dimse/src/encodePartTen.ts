/** What the file meta of a received instance says (PS3.10 7.1). */
export interface ReceivedMeta {
  /** Affected SOP Class UID of the C-STORE-RQ. */
  sopClassUID: string;
  /** Affected SOP Instance UID of the C-STORE-RQ. */
  sopInstanceUID: string;
  /** The transfer syntax negotiated for the presentation context. */
  transferSyntaxUID: string;
  implementationClassUID: string;
  implementationVersionName: string;
  /** The calling AE title, for tracing where a quarantined file came from. */
  sourceAETitle: string;
}

/** One explicit VR little endian element with a 2-byte length. */
function shortElement(element: number, vr: string, value: Buffer): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt16LE(0x0002, 0);
  head.writeUInt16LE(element, 2);
  head.write(vr, 4, 'latin1');
  head.writeUInt16LE(value.length, 6);
  return Buffer.concat([head, value]);
}

/** A string value padded to even length: UI with NUL, others with space (PS3.5 6.2). */
function text(value: string, vr: string): Buffer {
  const pad = value.length % 2 ? (vr === 'UI' ? '\0' : ' ') : '';
  return Buffer.from(value + pad, 'latin1');
}

/**
 * Wraps a data set received over DIMSE in a DICOM file (PS3.10 7): preamble,
 * `DICM` and a file meta group. The data set bytes are kept exactly as they
 * arrived, deflated or big endian ones included, since the meta group is
 * always explicit VR little endian and the syntax it names rules the rest.
 */
export function encodePartTen(meta: ReceivedMeta, dataset: Buffer): Buffer {
  const version = Buffer.alloc(14);
  version.writeUInt16LE(0x0002, 0);
  version.writeUInt16LE(0x0001, 2);
  version.write('OB', 4, 'latin1');
  version.writeUInt32LE(2, 8);
  version.writeUInt16BE(0x0001, 12);
  const group = Buffer.concat([
    version,
    shortElement(0x0002, 'UI', text(meta.sopClassUID, 'UI')),
    shortElement(0x0003, 'UI', text(meta.sopInstanceUID, 'UI')),
    shortElement(0x0010, 'UI', text(meta.transferSyntaxUID, 'UI')),
    shortElement(0x0012, 'UI', text(meta.implementationClassUID, 'UI')),
    shortElement(
      0x0013,
      'SH',
      text(meta.implementationVersionName.slice(0, 16), 'SH'),
    ),
    shortElement(0x0016, 'AE', text(meta.sourceAETitle, 'AE')),
  ]);
  const length = Buffer.alloc(4);
  length.writeUInt32LE(group.length);
  return Buffer.concat([
    Buffer.alloc(128),
    Buffer.from('DICM', 'latin1'),
    shortElement(0x0000, 'UL', length),
    group,
    dataset,
  ]);
}
