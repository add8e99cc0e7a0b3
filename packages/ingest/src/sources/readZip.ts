import yauzl from 'yauzl';
import type { Entry, ZipFile } from 'yauzl';
import type { InputFile } from './InputFile';

/** Largest member read into memory (one object at a time); larger ones are refused. */
export const MAX_ENTRY_BYTES = 2 ** 31 - 1;

function openZip(path: string): Promise<ZipFile> {
  return new Promise((resolve, reject) => {
    yauzl.open(path, { lazyEntries: true, autoClose: true }, (err, zip) => {
      if (err || !zip) reject(err ?? new Error(`cannot open ${path}`));
      else resolve(zip);
    });
  });
}

function readEntry(zip: ZipFile, entry: Entry): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    zip.openReadStream(entry, (err, stream) => {
      if (err || !stream) return reject(err ?? new Error('no stream'));
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('error', reject);
      stream.on('end', () => resolve(Buffer.concat(chunks)));
    });
  });
}

/**
 * The files of a .zip, one entry in memory at a time (the archive itself is
 * read through its central directory, never loaded whole).
 */
export async function* readZip(path: string): AsyncGenerator<InputFile> {
  const zip = await openZip(path);
  const next = () =>
    new Promise<Entry | undefined>((resolve, reject) => {
      const onEntry = (e: Entry) => {
        cleanup();
        resolve(e);
      };
      const onEnd = () => {
        cleanup();
        resolve(undefined);
      };
      const onError = (e: Error) => {
        cleanup();
        reject(e);
      };
      const cleanup = () => {
        zip.off('entry', onEntry);
        zip.off('end', onEnd);
        zip.off('error', onError);
      };
      zip.on('entry', onEntry);
      zip.on('end', onEnd);
      zip.on('error', onError);
      zip.readEntry();
    });
  try {
    for (let entry = await next(); entry; entry = await next()) {
      if (entry.fileName.endsWith('/')) continue;
      if (entry.uncompressedSize > MAX_ENTRY_BYTES) {
        yield {
          source: `${path}!${entry.fileName}`,
          error: {
            code: 'TOO_LARGE',
            message: `zip entry of ${entry.uncompressedSize} bytes; lpacs reads objects up to ${MAX_ENTRY_BYTES} bytes`,
          },
        };
        continue;
      }
      yield {
        source: `${path}!${entry.fileName}`,
        bytes: await readEntry(zip, entry),
      };
    }
  } finally {
    zip.close();
  }
}
