import { crc32 } from 'node:zlib';
import type { Writable } from 'node:stream';

const U32 = 0xffffffff;

interface Written {
  name: Buffer;
  crc: number;
  size: number;
  offset: number;
  zip64: boolean;
}

/** DOS date and time of a JS date (PKWARE APPNOTE 4.4.6). */
function dosTime(d: Date): { time: number; date: number } {
  return {
    time: (d.getHours() << 11) | (d.getMinutes() << 5) | (d.getSeconds() >> 1),
    date:
      ((d.getFullYear() - 1980) << 9) | ((d.getMonth() + 1) << 5) | d.getDate(),
  };
}

/**
 * Writes a zip archive to a stream entry by entry, never holding a whole
 * file: entries are stored (DICOM pixel data hardly compresses), their
 * CRC-32 computed as bytes pass and written in a data descriptor. ZIP64
 * records (APPNOTE 4.3.9, 4.5.3) are used where a size, an offset or the
 * entry count passes the 32-bit limits, so releases over 4 GiB work.
 */
export class ZipStream {
  readonly #out: Writable;
  readonly #entries: Written[] = [];
  readonly #limit: number;
  readonly #when = dosTime(new Date());
  #offset = 0;

  /** @param zip64Above sizes and offsets from which ZIP64 is used (tests lower it). */
  constructor(out: Writable, zip64Above = U32) {
    this.#out = out;
    this.#limit = zip64Above;
  }

  async #write(chunk: Buffer | Uint8Array): Promise<void> {
    if (this.#out.destroyed) throw new Error('the download was interrupted');
    this.#offset += chunk.length;
    if (!this.#out.write(chunk)) await this.#drained();
  }

  /** Resolves on 'drain', or on 'close' (a client that went away). */
  #drained(): Promise<void> {
    const out = this.#out;
    return new Promise((resolve) => {
      const done = () => {
        out.off('drain', done);
        out.off('close', done);
        resolve();
      };
      out.on('drain', done);
      out.on('close', done);
    });
  }

  /**
   * Adds one entry whose bytes come from `source`; `size` must be its
   * exact length (a mismatch throws, leaving a broken archive).
   */
  async add(
    path: string,
    size: number,
    source: AsyncIterable<Buffer | Uint8Array>,
  ): Promise<void> {
    const name = Buffer.from(path, 'utf8');
    const offset = this.#offset;
    const zip64 = size >= this.#limit || offset >= this.#limit;
    const extra = zip64 ? Buffer.alloc(20) : Buffer.alloc(0);
    if (zip64) {
      extra.writeUInt16LE(0x0001, 0);
      extra.writeUInt16LE(16, 2); // sizes unknown here: zeros, real ones in the descriptor
    }
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(zip64 ? 45 : 20, 4);
    local.writeUInt16LE(0x0808, 6); // data descriptor follows; names are UTF-8
    local.writeUInt16LE(0, 8); // stored
    local.writeUInt16LE(this.#when.time, 10);
    local.writeUInt16LE(this.#when.date, 12);
    local.writeUInt32LE(0, 14);
    local.writeUInt32LE(zip64 ? U32 : 0, 18);
    local.writeUInt32LE(zip64 ? U32 : 0, 22);
    local.writeUInt16LE(name.length, 26);
    local.writeUInt16LE(extra.length, 28);
    await this.#write(Buffer.concat([local, name, extra]));
    let crc = 0;
    let seen = 0;
    for await (const chunk of source) {
      crc = crc32(chunk, crc);
      seen += chunk.length;
      await this.#write(chunk);
    }
    if (seen !== size)
      throw new Error(`${path}: expected ${size} bytes, read ${seen}`);
    const descriptor = Buffer.alloc(zip64 ? 24 : 16);
    descriptor.writeUInt32LE(0x08074b50, 0);
    descriptor.writeUInt32LE(crc, 4);
    if (zip64) {
      descriptor.writeBigUInt64LE(BigInt(size), 8);
      descriptor.writeBigUInt64LE(BigInt(size), 16);
    } else {
      descriptor.writeUInt32LE(size, 8);
      descriptor.writeUInt32LE(size, 12);
    }
    await this.#write(descriptor);
    this.#entries.push({ name, crc, size, offset, zip64 });
  }

  /** Writes the central directory and ends the stream. */
  async finish(): Promise<void> {
    const start = this.#offset;
    for (const e of this.#entries) {
      const big = e.zip64 || e.offset >= this.#limit;
      const extra = Buffer.alloc(big ? 28 : 0);
      if (big) {
        extra.writeUInt16LE(0x0001, 0);
        extra.writeUInt16LE(24, 2);
        extra.writeBigUInt64LE(BigInt(e.size), 4);
        extra.writeBigUInt64LE(BigInt(e.size), 12);
        extra.writeBigUInt64LE(BigInt(e.offset), 20);
      }
      const h = Buffer.alloc(46);
      h.writeUInt32LE(0x02014b50, 0);
      h.writeUInt16LE((3 << 8) | 45, 4); // made by Unix, spec 4.5
      h.writeUInt16LE(big ? 45 : 20, 6);
      h.writeUInt16LE(0x0808, 8);
      h.writeUInt16LE(0, 10);
      h.writeUInt16LE(this.#when.time, 12);
      h.writeUInt16LE(this.#when.date, 14);
      h.writeUInt32LE(e.crc, 16);
      h.writeUInt32LE(big ? U32 : e.size, 20);
      h.writeUInt32LE(big ? U32 : e.size, 24);
      h.writeUInt16LE(e.name.length, 28);
      h.writeUInt16LE(extra.length, 30);
      h.writeUInt32LE((0o100644 << 16) >>> 0, 38); // a regular file, rw-r--r--
      h.writeUInt32LE(big ? U32 : e.offset, 42);
      await this.#write(Buffer.concat([h, e.name, extra]));
    }
    const size = this.#offset - start;
    const count = this.#entries.length;
    if (count >= 0xffff || start >= this.#limit || size >= this.#limit) {
      const z = Buffer.alloc(56 + 20);
      z.writeUInt32LE(0x06064b50, 0);
      z.writeBigUInt64LE(44n, 4);
      z.writeUInt16LE(45, 12);
      z.writeUInt16LE(45, 14);
      z.writeBigUInt64LE(BigInt(count), 24);
      z.writeBigUInt64LE(BigInt(count), 32);
      z.writeBigUInt64LE(BigInt(size), 40);
      z.writeBigUInt64LE(BigInt(start), 48);
      z.writeUInt32LE(0x07064b50, 56); // ZIP64 end of central directory locator
      z.writeBigUInt64LE(BigInt(this.#offset), 64);
      z.writeUInt32LE(1, 72);
      await this.#write(z);
    }
    const end = Buffer.alloc(22);
    end.writeUInt32LE(0x06054b50, 0);
    end.writeUInt16LE(Math.min(count, 0xffff), 8);
    end.writeUInt16LE(Math.min(count, 0xffff), 10);
    end.writeUInt32LE(Math.min(size, U32), 12);
    end.writeUInt32LE(Math.min(start, U32), 16);
    await this.#write(end);
    this.#out.end();
  }
}
