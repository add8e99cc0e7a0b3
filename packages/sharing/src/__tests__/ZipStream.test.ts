import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createWriteStream, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { after, describe, it } from 'node:test';
import { ZipStream } from '../index';

const dir = mkdtempSync(join(tmpdir(), 'lpacs-zip-'));
after(() => rmSync(dir, { recursive: true, force: true }));

async function* chunks(bytes: Buffer, size: number): AsyncIterable<Buffer> {
  for (let at = 0; at < bytes.length; at += size)
    yield bytes.subarray(at, at + size);
}

/** Entries as Python's zipfile reads them: name, size and SHA-256. */
function readBack(path: string): Array<[string, number, string]> {
  const script = `
import hashlib, json, sys, zipfile
z = zipfile.ZipFile(sys.argv[1])
assert z.testzip() is None
print(json.dumps([[i.filename, i.file_size, hashlib.sha256(z.read(i)).hexdigest()] for i in z.infolist()]))`;
  return JSON.parse(
    execFileSync('/usr/bin/python3', ['-c', script, path], {
      encoding: 'utf8',
    }),
  ) as Array<[string, number, string]>;
}

async function write(path: string, zip64Above?: number) {
  const files: Array<[string, Buffer]> = [
    ['manifest.json', Buffer.from('{"files":[]}')],
    ['dicom/1.2/3.4/5.6.dcm', Buffer.alloc(300_000, 7)],
    ['metadata/ünïcode.parquet', Buffer.from('PAR1 and more')],
    ['empty', Buffer.alloc(0)],
  ];
  const out = createWriteStream(path);
  const zip = new ZipStream(out, zip64Above);
  for (const [name, bytes] of files)
    await zip.add(name, bytes.length, chunks(bytes, 65_536));
  await zip.finish();
  await new Promise<void>((resolve) => out.on('close', () => resolve()));
  return files.map(([n, b]): [string, number, string] => [
    n,
    b.length,
    createHash('sha256').update(b).digest('hex'),
  ]);
}

describe('ZipStream', () => {
  it('writes an archive that Python reads back entry by entry', async () => {
    const path = join(dir, 'plain.zip');
    const expected = await write(path);
    assert.deepEqual(readBack(path), expected);
    assert.ok(
      !readFileSync(path).includes(Buffer.from([0x50, 0x4b, 0x06, 0x06])),
    );
    execFileSync('unzip', ['-tq', path]);
  });

  it('uses ZIP64 records past the 32-bit limits (lowered here to 1000 bytes)', async () => {
    const path = join(dir, 'zip64.zip');
    const expected = await write(path, 1000);
    assert.deepEqual(readBack(path), expected);
    // The ZIP64 end of central directory record is present.
    assert.ok(
      readFileSync(path).includes(Buffer.from([0x50, 0x4b, 0x06, 0x06])),
    );
  });

  it('waits for a slow reader without piling up listeners (portal case: MaxListenersExceededWarning)', async () => {
    const warnings: string[] = [];
    const onWarning = (w: Error) => warnings.push(w.name);
    process.on('warning', onWarning);
    let most = 0;
    const sink = new Writable({
      highWaterMark: 1,
      write: (_c, _e, done) => {
        most = Math.max(most, sink.listenerCount('drain'));
        setImmediate(done);
      },
    });
    const zip = new ZipStream(sink);
    await zip.add('big', 200 * 1024, chunks(Buffer.alloc(200 * 1024), 1024));
    await zip.finish();
    await new Promise((r) => setImmediate(r));
    process.off('warning', onWarning);
    assert.deepEqual(warnings, []);
    assert.ok(most <= 2, `${most} drain listeners at once`);
    assert.equal(sink.listenerCount('close'), 0);
  });

  it('refuses an entry whose bytes do not match its declared size', async () => {
    const sink = new Writable({ write: (_c, _e, done) => done() });
    const zip = new ZipStream(sink);
    await assert.rejects(
      zip.add('x', 10, chunks(Buffer.alloc(5), 5)),
      /expected 10 bytes, read 5/,
    );
  });
});
