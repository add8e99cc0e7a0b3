import { DicomError, DicomErrorCode } from '@lpacs/dicom';

/**
 * Text inside encapsulated pixel data: the comment and application
 * segments of JPEG (ITU-T T.81), JPEG-LS (T.87) and JPEG 2000 (ISO/IEC
 * 15444-1, HTJ2K 15444-15) codestreams, which decoders skip and any tool
 * may fill (a name in a COM segment, an Exif APP1 with a camera owner).
 * Each frame's codestream is walked marker segment by marker segment
 * over the fragments as one stream, so a segment may straddle fragment
 * boundaries; entropy-coded data is skipped by its marker rules (JPEG:
 * FF00 stuffing and RSTn; JPEG-LS: FF then a byte below 80; JPEG 2000:
 * each tile-part's Psot). What is found is blanked in place, the same
 * length, so fragments, offset tables and decoded samples stay.
 */

/** The codestream kind of an encapsulated transfer syntax. */
type Family = 'JPEG' | 'JPEG-LS' | 'JPEG 2000';

const ROOT = '1.2.840.10008.1.2.4.';
const FAMILIES: ReadonlyMap<string, Family> = new Map([
  // JPEG processes 1 to 29 (50-66, most retired) and lossless SV1 (70).
  ...Array.from(
    { length: 17 },
    (_, i) => [`${ROOT}${50 + i}`, 'JPEG'] as [string, Family],
  ),
  [`${ROOT}70`, 'JPEG'],
  [`${ROOT}80`, 'JPEG-LS'],
  [`${ROOT}81`, 'JPEG-LS'],
  // JPEG 2000 Part 1 (90, 91), Part 2 multi-component (92, 93), HTJ2K.
  ...['90', '91', '92', '93', '201', '202', '203'].map(
    (s) => [`${ROOT}${s}`, 'JPEG 2000'] as [string, Family],
  ),
]);

/** The codestream family whose segments are walked, or undefined. */
export function codestreamFamily(
  transferSyntaxUID: string,
): Family | undefined {
  return FAMILIES.get(transferSyntaxUID);
}

/** A run of bytes of the data set's buffer. */
export interface ByteRange {
  offset: number;
  length: number;
}

/** One segment payload (or part of one) that may hold text. */
export interface PixelTextSegment {
  /** `COM segment`, `APP1 segment`, `JPEG 2000 COM segment`, ...: never content. */
  kind: string;
  /** 1-based, in the order the codestreams come. */
  frame: number;
  /** Where its bytes are: more than one range when it straddles fragments. */
  ranges: ByteRange[];
  /** The byte it is blanked with. */
  fill: number;
}

/** The fragments after the Basic Offset Table, as one stream of bytes. */
class Stream {
  readonly length: number;
  readonly #buf: Buffer;
  /** Buffer offset and stream position of each (non-empty) fragment. */
  readonly #offsets: number[] = [];
  readonly #starts: number[] = [];
  readonly #lengths: number[] = [];
  #hint = 0;

  constructor(buf: Buffer, fragments: readonly ByteRange[]) {
    this.#buf = buf;
    let at = 0;
    for (const f of fragments) {
      if (f.length === 0) continue;
      this.#offsets.push(f.offset);
      this.#starts.push(at);
      this.#lengths.push(f.length);
      at += f.length;
    }
    this.length = at;
  }

  /** The fragment holding stream position `p` (0 <= p < length). */
  #fragment(p: number): number {
    const h = this.#hint;
    if (p >= this.#starts[h]! && p < this.#starts[h]! + this.#lengths[h]!)
      return h;
    let lo = 0;
    let hi = this.#starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.#starts[mid]! <= p) lo = mid;
      else hi = mid - 1;
    }
    this.#hint = lo;
    return lo;
  }

  /** The byte at `p`, or -1 past the end. */
  byte(p: number): number {
    if (p < 0 || p >= this.length) return -1;
    const i = this.#fragment(p);
    return this.#buf[this.#offsets[i]! + p - this.#starts[i]!]!;
  }

  /** A big-endian number of `n` bytes at `p`, or -1 when it runs past the end. */
  uint(p: number, n: number): number {
    if (p + n > this.length) return -1;
    let v = 0;
    for (let i = 0; i < n; i++) v = v * 256 + this.byte(p + i);
    return v;
  }

  isFragmentStart(p: number): boolean {
    return p < this.length && this.#starts[this.#fragment(p)] === p;
  }

  /** The first fragment start at or after `p` (length when none). */
  nextFragmentStart(p: number): number {
    if (p >= this.length) return this.length;
    const i = this.#fragment(p);
    return this.#starts[i] === p ? p : (this.#starts[i + 1] ?? this.length);
  }

  /** The first position at or after `p` holding 0xFF, or -1. */
  indexOfFF(p: number): number {
    while (p < this.length) {
      const i = this.#fragment(p);
      const from = this.#offsets[i]! + p - this.#starts[i]!;
      const end = this.#offsets[i]! + this.#lengths[i]!;
      const k = this.#buf.subarray(from, end).indexOf(0xff);
      if (k >= 0) return p + k;
      p = this.#starts[i]! + this.#lengths[i]!;
    }
    return -1;
  }

  /** The buffer ranges of stream bytes [p, p + n). */
  ranges(p: number, n: number): ByteRange[] {
    const out: ByteRange[] = [];
    while (n > 0) {
      const i = this.#fragment(p);
      const skip = p - this.#starts[i]!;
      const take = Math.min(n, this.#lengths[i]! - skip);
      out.push({ offset: this.#offsets[i]! + skip, length: take });
      p += take;
      n -= take;
    }
    return out;
  }
}

/** Why a frame cannot be walked; turned into the object's refusal. */
class Unwalkable extends Error {}

const hex = (code: number) =>
  `FF${code.toString(16).toUpperCase().padStart(2, '0')}`;

/** Walks the codestreams of one Pixel Data element, collecting segments. */
class Walker {
  readonly segments: PixelTextSegment[] = [];
  frame = 0;
  /** Where the current frame's codestream starts in the stream. */
  #frameStart = 0;

  constructor(
    readonly s: Stream,
    readonly family: Family,
  ) {}

  /** @param at where, in the stream; the message counts from the frame's start */
  fail(why: string, at?: number): never {
    throw new Unwalkable(
      at === undefined ? why : `${why} at byte ${at - this.#frameStart}`,
    );
  }

  add(kind: string, p: number, n: number, fill = 0): void {
    if (n > 0)
      this.segments.push({
        kind,
        frame: this.frame,
        ranges: this.s.ranges(p, n),
        fill,
      });
  }

  walk(): void {
    const { s } = this;
    const start = this.family === 'JPEG 2000' ? 0x4f : 0xd8;
    let p = 0;
    while (p < s.length) {
      this.frame++;
      this.#frameStart = p;
      if (s.uint(p, 4) === 12 && s.uint(p + 4, 4) === 0x6a502020)
        this.fail(
          'it is wrapped in JP2 file format boxes, which PS3.5 A.4.4 excludes and lpacs does not walk',
        );
      if (s.byte(p) !== 0xff || s.byte(p + 1) !== start)
        this.fail(
          `no ${this.family === 'JPEG 2000' ? 'SOC (FF4F)' : 'SOI (FFD8)'} where the codestream starts`,
          p,
        );
      p =
        this.family === 'JPEG 2000'
          ? this.#j2k(p + 2)
          : this.#jpeg(p + 2, this.family === 'JPEG-LS');
      // What follows the end of the codestream, up to the fragment that
      // starts the next one, is no part of the image: zeros only.
      let next = s.nextFragmentStart(p);
      while (
        next < s.length &&
        !(s.byte(next) === 0xff && s.byte(next + 1) === start)
      )
        next = s.nextFragmentStart(next + 1);
      if (!this.#padding(p, next))
        this.add('bytes after the end of the codestream', p, next - p);
      p = next;
    }
  }

  /**
   * True when bytes [p, end) are padding: 00 (PS3.5 A.4 pads a fragment
   * to even length with one) or FF (fill, as some writers pad).
   */
  #padding(p: number, end: number): boolean {
    for (let i = p; i < end; i++) {
      const b = this.s.byte(i);
      if (b !== 0 && b !== 0xff) return false;
    }
    return true;
  }

  /** One JPEG or JPEG-LS codestream after its SOI; returns where it ends. */
  #jpeg(p: number, ls: boolean): number {
    const { s } = this;
    for (;;) {
      if (p >= s.length) this.fail('the data ends inside the headers', p);
      if (s.byte(p) !== 0xff) this.fail('no marker where one must be', p);
      let q = p + 1;
      while (s.byte(q) === 0xff) q++; // fill bytes (T.81 B.1.1.2)
      const code = s.byte(q);
      if (code < 0) this.fail('the data ends inside a marker', p);
      p = q + 1;
      if (code === 0xd9) return p; // EOI
      if ((code >= 0xd0 && code <= 0xd7) || code === 0x01) continue;
      if (code === 0x00 || code === 0xd8)
        this.fail(`marker ${hex(code)} where a segment must start`, q - 1);
      const length = s.uint(p, 2);
      if (length < 2 || p + length > s.length)
        this.fail(`the ${hex(code)} segment runs past the end of the data`, p);
      this.#jpegSegment(code, p + 2, length - 2, ls);
      p += length;
      if (code === 0xda) {
        // SOS: entropy-coded data up to the next marker.
        p = this.#entropy(p, ls);
        if (p >= s.length) return p; // no EOI: nothing left unread
        // A codestream without EOI, the next frame's SOI in its fragment.
        if (s.byte(p + 1) === 0xd8 && s.isFragmentStart(p)) return p;
      }
    }
  }

  /** The payload of one JPEG marker segment: what may hold text. */
  #jpegSegment(code: number, p: number, n: number, ls: boolean): void {
    if (code === 0xfe) return this.add('COM segment', p, n);
    if (code < 0xe0 || code > 0xef) return;
    const app = `APP${code - 0xe0}`;
    // The headers decoders read, kept whole; anything after them blanked.
    const header = (id: string, size: number): boolean => {
      if (n < size) return false;
      for (let i = 0; i < id.length; i++)
        if (this.s.byte(p + i) !== id.charCodeAt(i)) return false;
      this.add(
        `${app} bytes after its ${id.replace('\0', '')} header`,
        p + size,
        n - size,
      );
      return true;
    };
    // APP0 JFIF (version, units, densities, thumbnail size): libjpeg
    // takes it to mean YCbCr; its thumbnail pixels are blanked.
    if (code === 0xe0 && header('JFIF\0', 14)) return;
    // APP14 Adobe (version, flags, colour transform): libjpeg reads the
    // transform to know RGB from YCbCr.
    if (code === 0xee && header('Adobe', 12)) return;
    // APP8 mrfx: CharLS reads the HP colour transform of JPEG-LS.
    if (ls && code === 0xe8 && header('mrfx', 5)) return;
    this.add(`${app} segment`, p, n);
  }

  /** The first marker after entropy-coded data from `p` (length when none). */
  #entropy(p: number, ls: boolean): number {
    const { s } = this;
    for (;;) {
      const f = s.indexOfFF(p);
      if (f < 0) return s.length;
      const b = s.byte(f + 1);
      if (b < 0) return s.length;
      // JPEG stuffs FF00; JPEG-LS follows FF with a byte below 80.
      // RSTn sits inside the scan.
      if ((ls ? b < 0x80 : b === 0) || (b >= 0xd0 && b <= 0xd7)) {
        p = f + 2;
        continue;
      }
      return f;
    }
  }

  /** One JPEG 2000 codestream after its SOC; returns where it ends. */
  #j2k(p: number): number {
    const { s } = this;
    for (;;) {
      if (s.byte(p) !== 0xff) this.fail('no marker where one must be', p);
      const code = s.byte(p + 1);
      if (code < 0) this.fail('the data ends inside a marker', p);
      if (code === 0xd9) return p + 2; // EOC
      if (code >= 0x30 && code <= 0x3f) {
        p += 2; // reserved markers without parameters (15444-1 A.1.4)
        continue;
      }
      if (code === 0x90) {
        p = this.#tilePart(p);
        continue;
      }
      if (code === 0x93 || code === 0x4f)
        this.fail(`marker ${hex(code)} in the main header`, p);
      p = this.#j2kSegment(code, p);
    }
  }

  /** A J2K marker segment at `p` (a COM noted); returns what follows. */
  #j2kSegment(code: number, p: number): number {
    const { s } = this;
    const length = s.uint(p + 2, 2);
    if (length < 2 || p + 2 + length > s.length)
      this.fail(`the ${hex(code)} segment runs past the end of the data`, p);
    if (code === 0x64 && length > 4) {
      // Rcom 1: Latin text (ISO/IEC 8859-15), blanked with spaces; 0: bytes.
      this.add(
        'JPEG 2000 COM segment',
        p + 6,
        length - 4,
        s.uint(p + 4, 2) === 1 ? 0x20 : 0,
      );
    }
    return p + 2 + length;
  }

  /** A tile-part from its SOT at `p`; returns where the next marker is. */
  #tilePart(sot: number): number {
    const { s } = this;
    const psot = s.uint(sot + 6, 4);
    if (s.uint(sot + 2, 2) !== 10 || psot < 0)
      this.fail('an SOT segment that is not 10 bytes long', sot);
    let p = sot + 12;
    for (;;) {
      if (s.byte(p) !== 0xff)
        this.fail('no marker where one must be in a tile-part header', p);
      const code = s.byte(p + 1);
      if (code === 0x93) break; // SOD
      if (code < 0 || code === 0x90 || code === 0xd9)
        this.fail('a tile-part header without SOD (FF93)', p);
      p = this.#j2kSegment(code, p);
    }
    if (psot !== 0) {
      const end = sot + psot;
      if (end > s.length || end < p + 2)
        this.fail('a tile-part whose length (Psot) runs past the data', sot);
      return end;
    }
    // Psot 0: the last tile-part, its data up to EOC. Packet data holds
    // no FF followed by 90 or more (15444-1 A.1) but SOP and EPH.
    p += 2;
    for (;;) {
      const f = s.indexOfFF(p);
      const b = s.byte(f + 1);
      if (f < 0 || b < 0) this.fail('a last tile-part without EOC (FFD9)', sot);
      if (b < 0x90) p = f + 1;
      else if (b === 0x91) p = f + 6;
      else if (b === 0x92) p = f + 2;
      else if (b === 0xd9) return f;
      else this.fail(`marker ${hex(b)} inside the last tile-part`, f);
    }
  }
}

/**
 * The segments of an encapsulated Pixel Data element's codestreams that
 * may hold text, for the JPEG family's transfer syntaxes (empty for any
 * other): JPEG and JPEG-LS COM and APPn (but the JFIF, Adobe and, in
 * JPEG-LS, mrfx headers decoders read), JPEG 2000 COM in the main and
 * tile-part headers, and bytes after a codestream's end in its last
 * fragment.
 * @param fragments the element's fragments, Basic Offset Table first
 * @throws DicomError MALFORMED when a codestream cannot be walked: what
 *   it may hold cannot be found (the message names the frame, never bytes)
 */
export function pixelTextSegments(
  buf: Buffer,
  fragments: readonly ByteRange[],
  transferSyntaxUID: string,
): PixelTextSegment[] {
  const family = codestreamFamily(transferSyntaxUID);
  if (!family || fragments.length < 2) return [];
  const walker = new Walker(new Stream(buf, fragments.slice(1)), family);
  try {
    walker.walk();
  } catch (err) {
    if (!(err instanceof Unwalkable)) throw err;
    throw new DicomError(
      DicomErrorCode.Malformed,
      `frame ${walker.frame} of the ${family} pixel data cannot be walked (${err.message}), so lpacs cannot find the text its segments may hold`,
    );
  }
  return walker.segments;
}

/** True when a segment holds any byte but its fill. */
export function holdsContent(buf: Buffer, seg: PixelTextSegment): boolean {
  return seg.ranges.some((r) =>
    buf.subarray(r.offset, r.offset + r.length).some((b) => b !== seg.fill),
  );
}
