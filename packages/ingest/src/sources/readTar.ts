import { createReadStream } from 'node:fs';
import type { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import type { InputFile } from './InputFile';

const BLOCK = 512;

/** Reads exact byte counts from a stream, holding at most one chunk extra. */
class ExactReader {
  readonly #iterator: AsyncIterator<Buffer>;
  #buffered: Buffer[] = [];
  #size = 0;

  constructor(stream: Readable) {
    this.#iterator = stream[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  }

  /** Exactly `n` bytes, or fewer only at the end of the stream. */
  async read(n: number): Promise<Buffer> {
    while (this.#size < n) {
      const next = await this.#iterator.next();
      if (next.done) break;
      this.#buffered.push(next.value);
      this.#size += next.value.length;
    }
    const all = Buffer.concat(this.#buffered, this.#size);
    const out = all.subarray(0, Math.min(n, all.length));
    const rest = all.subarray(out.length);
    this.#buffered = rest.length ? [rest] : [];
    this.#size = rest.length;
    return out;
  }
}

function text(header: Buffer, at: number, length: number): string {
  const raw = header.subarray(at, at + length);
  const end = raw.indexOf(0);
  return raw.subarray(0, end < 0 ? raw.length : end).toString('utf8');
}

function octal(header: Buffer, at: number, length: number): number {
  const value = text(header, at, length).trim();
  return value ? parseInt(value, 8) : 0;
}

/** `path=` from a pax extended header (POSIX.1-2001). */
function paxPath(data: Buffer): string | undefined {
  for (const record of data.toString('utf8').split('\n')) {
    const m = /^\d+ path=(.*)$/.exec(record);
    if (m) return m[1];
  }
  return undefined;
}

/** Entry types that are neither files nor folders (POSIX ustar, GNU). */
const NOT_FILES: Record<string, string> = {
  '1': 'a hard link',
  '2': 'a symbolic link',
  '3': 'a character device',
  '4': 'a block device',
  '6': 'a FIFO',
  S: 'a GNU sparse file',
};

/**
 * The regular files of a .tar, .tar.gz or .tgz, streamed: one member in
 * memory at a time, never the archive. Understands ustar prefixes, GNU long
 * names and pax paths. A link (or a device, FIFO, sparse file) is not
 * read: it comes as an input with `notRead` saying so, never silently
 * dropped; folders and metadata entries are passed over.
 * @throws Error naming the offset when a header is damaged.
 */
export async function* readTar(path: string): AsyncGenerator<InputFile> {
  const gz = /\.(tgz|tar\.gz)$/i.test(path);
  const file = createReadStream(path);
  const stream: Readable = gz ? file.pipe(createGunzip()) : file;
  const reader = new ExactReader(stream);
  let offset = 0;
  let longName: string | undefined;
  try {
    for (;;) {
      const header = await reader.read(BLOCK);
      if (header.length < BLOCK || header.every((b) => b === 0)) return;
      const stored = octal(header, 148, 8);
      let sum = 0;
      for (let i = 0; i < BLOCK; i++)
        sum += i >= 148 && i < 156 ? 32 : header[i]!;
      if (sum !== stored)
        throw new Error(`damaged tar header at byte ${offset} of ${path}`);
      const size = octal(header, 124, 12);
      const type = String.fromCharCode(header[156] ?? 0);
      const prefix = text(header, 345, 155);
      const name =
        longName ??
        (prefix ? `${prefix}/${text(header, 0, 100)}` : text(header, 0, 100));
      longName = undefined;
      const data = await reader.read(size);
      if (data.length < size)
        throw new Error(`tar member ${name} is cut short in ${path}`);
      await reader.read((BLOCK - (size % BLOCK)) % BLOCK);
      offset += BLOCK + Math.ceil(size / BLOCK) * BLOCK;
      if (type === 'L') longName = data.toString('utf8').replace(/\0+$/, '');
      else if (type === 'x') longName = paxPath(data);
      else if (type === '0' || type === '\0')
        yield { source: `${path}!${name}`, bytes: Buffer.from(data) };
      else if (NOT_FILES[type])
        yield {
          source: `${path}!${name}`,
          notRead:
            type === '1' || type === '2'
              ? `ARCHIVE_LINK: ${NOT_FILES[type]}; links in an archive are not followed (put the file itself in the archive, or unpack it and ingest the folder)`
              : `ARCHIVE_SPECIAL: ${NOT_FILES[type]}, not a regular file; not read`,
        };
    }
  } finally {
    file.destroy();
  }
}
