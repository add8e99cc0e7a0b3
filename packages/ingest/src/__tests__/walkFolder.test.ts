import assert from 'node:assert/strict';
import {
  mkdirSync,
  mkdtempSync,
  realpathSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { after, describe, it } from 'node:test';
import { Lake } from '@lpacs/lake';
import { expandInputs } from '../sources/expandInputs';
import { walkFolder } from '../sources/walkFolder';
import type { WalkOptions } from '../sources/walkFolder';

const work = mkdtempSync(join(tmpdir(), 'lpacs-walk-unit-'));
after(() => rmSync(work, { recursive: true, force: true }));

function file(path: string): void {
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(path, 'not read by the walk');
}

/** The walk's files relative to `dir`, and what it said it left out. */
async function walked(dir: string, options: WalkOptions = {}) {
  const skipped: string[] = [];
  const files: string[] = [];
  for await (const path of walkFolder(dir, {
    ...options,
    onSkip: (p, reason) => skipped.push(`${relative(dir, p)}: ${reason}`),
  }))
    files.push(relative(dir, path));
  return { files, skipped };
}

/** A lake as ingest leaves one: settings, site secret, an object. */
async function makeLake(root: string): Promise<void> {
  const lake = await Lake.open(root);
  try {
    await lake.settings({ deidentification: {} });
    await lake.siteSecret();
    lake.putObjectSync(Buffer.from('object'), 'ab'.repeat(32));
  } finally {
    lake.close();
  }
}

describe('walkFolder', () => {
  it('does not enter a lake inside the folder, and says so once', async () => {
    const dir = join(work, 'beside');
    file(join(dir, 'P1', 'a.dcm'));
    file(join(dir, 'P1', 'b.dcm'));
    await makeLake(join(dir, 'lake'));
    assert.deepEqual(await walked(dir), {
      files: ['P1/a.dcm', 'P1/b.dcm'],
      skipped: ['lake: it is an lpacs lake'],
    });
    const exclude = [realpathSync(join(dir, 'lake'))];
    assert.deepEqual((await walked(dir, { exclude })).skipped, [
      'lake: it is the lake this run writes',
    ]);
  });

  it("walks a folder that merely holds folders named like a lake's", async () => {
    const dir = join(work, 'tables-only');
    file(join(dir, 'tables', 'x.dcm'));
    file(join(dir, 'objects', 'y.dcm'));
    assert.deepEqual(await walked(dir), {
      files: ['objects/y.dcm', 'tables/x.dcm'],
      skipped: [],
    });
  });

  it('follows a link to a folder, and a loop of links only once', async () => {
    const dir = join(work, 'links');
    const other = join(work, 'elsewhere');
    file(join(other, 'P2', 'c.dcm'));
    file(join(dir, 'P1', 'a.dcm'));
    symlinkSync(join(other, 'P2'), join(dir, 'P2'));
    symlinkSync(dir, join(dir, 'P1', 'back')); // back to the top
    symlinkSync(join(dir, 'P1', 'a.dcm'), join(dir, 'a-link.dcm'));
    assert.deepEqual(await walked(dir), {
      files: ['P1/a.dcm', 'P2/c.dcm', 'a-link.dcm'],
      skipped: ['P1/back: a link to a folder this run reads already'],
    });
  });

  it('does not follow a link into the lake being written', async () => {
    const dir = join(work, 'link-in');
    const lake = join(work, 'target-lake');
    await makeLake(lake);
    file(join(dir, 'a.dcm'));
    symlinkSync(join(lake, 'keys'), join(dir, 'keys'));
    symlinkSync(join(lake, 'keys', 'site.key'), join(dir, 'site.key'));
    const exclude = [realpathSync(lake)];
    assert.deepEqual(await walked(dir, { exclude }), {
      files: ['a.dcm'],
      skipped: [
        'keys: it is inside the lake this run writes',
        'site.key: a link into the lake this run writes',
      ],
    });
  });
});

describe('expandInputs', () => {
  it('counts an empty archive as an input carrying EMPTY_ARCHIVE', async () => {
    // APPNOTE.TXT 4.3.16: an archive of no entries is its end of central
    // directory record alone, 22 bytes; a tar of none is two zero blocks.
    const zip = join(work, 'empty.zip');
    writeFileSync(
      zip,
      Buffer.concat([Buffer.from('PK\x05\x06'), Buffer.alloc(18)]),
    );
    const tar = join(work, 'empty.tar');
    writeFileSync(tar, Buffer.alloc(1024));
    const inputs = [];
    for await (const input of expandInputs([zip, tar])) inputs.push(input);
    assert.deepEqual(
      inputs.map((i) => [i.source, i.error?.code]),
      [
        [zip, 'EMPTY_ARCHIVE'],
        [tar, 'EMPTY_ARCHIVE'],
      ],
    );
  });

  it('reads nothing of an input inside the lake being written', async () => {
    const lake = join(work, 'given-lake');
    await makeLake(lake);
    const skipped: string[] = [];
    const inputs = [];
    for await (const input of expandInputs([join(lake, 'keys'), lake], {
      exclude: [realpathSync(lake)],
      onSkip: (p, reason) => skipped.push(`${relative(work, p)}: ${reason}`),
    }))
      inputs.push(input);
    assert.deepEqual(inputs, []);
    assert.deepEqual(skipped, [
      'given-lake/keys: it is in the lake this run writes',
      'given-lake: it is in the lake this run writes',
    ]);
  });
});
