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
import { Lake, lakeHolding } from '@lpacs/lake';
import { expandInputs } from '../sources/expandInputs';
import { walkFolder } from '../sources/walkFolder';
import type { WalkOptions } from '../sources/walkFolder';

const work = mkdtempSync(join(tmpdir(), 'lpacs-walk-unit-'));
after(() => rmSync(work, { recursive: true, force: true }));

function file(path: string): void {
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(path, 'not read by the walk');
}

/**
 * The walk's files relative to `dir` (an input carrying an error as
 * `name CODE: message`), and what it said it left out.
 */
async function walked(dir: string, options: WalkOptions = {}) {
  const skipped: string[] = [];
  const files: string[] = [];
  for await (const input of walkFolder(dir, {
    ...options,
    onSkip: (p, reason) => skipped.push(`${relative(dir, p)}: ${reason}`),
  })) {
    const name = relative(dir, input.source);
    files.push(
      input.error
        ? `${name} ${input.error.code}: ${input.error.message}`
        : name,
    );
  }
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
        'keys: a link into the lake this run writes',
        'site.key: a link into the lake this run writes',
      ],
    });
  });

  it('follows no link into another lake, to a folder or a file of it', async () => {
    const dir = join(work, 'link-other');
    const lake = join(work, 'linked-lake');
    await makeLake(lake);
    file(join(dir, 'a.dcm'));
    const object = join(lake, 'objects', 'ab', 'ab'.repeat(32) + '.dcm');
    symlinkSync(join(lake, 'objects'), join(dir, 'objects'));
    symlinkSync(object, join(dir, 'x.dcm'));
    symlinkSync(lake, join(dir, 'whole'));
    const real = realpathSync(lake);
    assert.deepEqual(await walked(dir), {
      files: ['a.dcm'],
      skipped: [
        `objects: a link into the lpacs lake ${real}`,
        `whole: a link to the lpacs lake ${real}`,
        `x.dcm: a link into the lpacs lake ${real}`,
      ],
    });
  });

  it('gives a link to nothing as an input carrying BROKEN_LINK', async () => {
    const dir = join(work, 'broken');
    file(join(dir, 'a.dcm'));
    symlinkSync(join(work, 'no-such-file.dcm'), join(dir, 'gone.dcm'));
    symlinkSync(join(dir, 'loop'), join(dir, 'loop')); // to itself
    symlinkSync(join(dir, 'a.dcm', 'x'), join(dir, 'under-a-file'));
    assert.deepEqual(await walked(dir), {
      files: [
        'a.dcm',
        'gone.dcm BROKEN_LINK: a symbolic link to nothing that exists (ENOENT)',
        'loop BROKEN_LINK: a symbolic link to nothing that exists (ELOOP)',
        'under-a-file BROKEN_LINK: a symbolic link to nothing that exists (ENOTDIR)',
      ],
      skipped: [],
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
      'given-lake/keys: it is inside the lake this run writes',
      'given-lake: it is the lake this run writes',
    ]);
  });

  it('reads nothing of an input inside another lake, below its root too', async () => {
    const lake = join(work, 'other-lake');
    await makeLake(lake);
    const object = join('objects', 'ab', 'ab'.repeat(32) + '.dcm');
    const beside = join(work, 'beside-other', 'a.dcm');
    file(beside);
    const link = join(work, 'to-objects');
    symlinkSync(join(lake, 'objects'), link);
    const skipped: string[] = [];
    const inputs = [];
    // Given as a user in `work` would type them: relative paths.
    const cwd = process.cwd();
    process.chdir(work);
    try {
      for await (const input of expandInputs(
        [
          'other-lake/objects',
          join('other-lake', object),
          'other-lake/objects/ab/',
          'other-lake',
          'to-objects',
          beside,
        ],
        { onSkip: (p, reason) => skipped.push(`${p}: ${reason}`) },
      ))
        inputs.push(input);
    } finally {
      process.chdir(cwd);
    }
    assert.deepEqual(inputs, [{ source: beside, path: beside }]);
    assert.deepEqual(skipped, [
      'other-lake/objects: it is inside the lpacs lake other-lake',
      `other-lake/${object}: it is inside the lpacs lake other-lake`,
      'other-lake/objects/ab/: it is inside the lpacs lake other-lake',
      'other-lake: it is an lpacs lake',
      // Through a link, the lake is named by its real path.
      `to-objects: it is inside the lpacs lake ${realpathSync(lake)}`,
    ]);
  });
});

describe('lakeHolding', () => {
  it('finds the lake root above a path inside it, and none above others', async () => {
    await makeLake(join(work, 'held-lake'));
    const lake = realpathSync(join(work, 'held-lake'));
    const known = new Map<string, boolean>();
    assert.equal(await lakeHolding(join(lake, 'objects', 'ab'), known), lake);
    assert.equal(await lakeHolding(lake, known), lake);
    assert.equal(await lakeHolding(realpathSync(work), known), undefined);
    assert.equal(await lakeHolding('/', known), undefined);
    // A folder holding a lake is not inside it.
    assert.equal(known.get(realpathSync(work)), false);
  });
});
