import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { Lake } from '../index';

const root = mkdtempSync(join(tmpdir(), 'lpacs-sweep-'));
after(() => rmSync(root, { recursive: true, force: true }));

const sha = (text: string) => createHash('sha256').update(text).digest('hex');

/** An instance row naming the object of `text` (stored by putObjectSync). */
const row = (i: number, text: string) => ({
  SOPInstanceUID: `2.25.${i}`,
  SeriesInstanceUID: '2.25.900',
  StudyInstanceUID: '2.25.800',
  PatientID: 'LPTEST',
  Modality: 'CT',
  object_key: `objects/${sha(text).slice(0, 2)}/${sha(text)}.dcm`,
  sha256: sha(text),
  size_bytes: text.length,
  ingested_at: '2026-01-01T00:00:00Z',
});

function objectFiles(dir: string): string[] {
  return readdirSync(join(dir, 'objects'), { withFileTypes: true }).flatMap(
    (p) =>
      p.isDirectory()
        ? readdirSync(join(dir, 'objects', p.name)).map(
            (f) => `objects/${p.name}/${f}`,
          )
        : [`objects/${p.name}`],
  );
}

describe('Lake.sweepObjects', () => {
  it('deletes only objects no instance row and no quarantine record names', async () => {
    const dir = join(root, 'sweep');
    const lake = await Lake.open(dir);
    try {
      for (const text of ['one', 'two', 'conflict', 'orphan', 'orphan 2'])
        lake.putObjectSync(Buffer.from(text), sha(text));
      await lake.commitBatch('b1', {
        instances: [row(1, 'one'), row(2, 'two')],
      });
      // The record ingest writes for a CONFLICT names the version it keeps.
      await lake.quarantine(undefined, {
        code: 'CONFLICT',
        message: `SOP Instance 2.25.1 is stored with other content (sha256 ${sha('one').slice(0, 12)}); this version is kept as ${row(3, 'conflict').object_key}`,
        source: 'x.dcm',
        at: '2026-01-01T00:00:00Z',
      });
      // Not an object's name: left alone whatever it is.
      writeFileSync(join(dir, 'objects', 'README'), 'not an object');
      const sweep = await lake.sweepObjects();
      assert.deepEqual(sweep, {
        kept: 3,
        removed: 2,
        bytesFreed: 'orphan'.length + 'orphan 2'.length,
      });
    } finally {
      lake.close();
    }
    assert.deepEqual(
      objectFiles(dir).sort(),
      [
        'objects/README',
        row(1, 'one').object_key,
        row(2, 'two').object_key,
        row(3, 'conflict').object_key,
      ].sort(),
    );
  });

  it('removes nothing when a quarantine record cannot be read', async () => {
    const dir = join(root, 'unreadable');
    const lake = await Lake.open(dir);
    try {
      lake.putObjectSync(Buffer.from('orphan'), sha('orphan'));
      const entry = join(dir, 'quarantine', 'ab'.repeat(16));
      mkdirSync(entry);
      writeFileSync(join(entry, 'reason.json'), '{"code": "CONF');
      await assert.rejects(lake.sweepObjects(), { code: 'LAKE_CORRUPT' });
    } finally {
      lake.close();
    }
    assert.ok(existsSync(join(dir, row(1, 'orphan').object_key)));
  });

  it('needs the lake alone', async () => {
    const lake = await Lake.open(join(root, 'append'), undefined, 'append');
    try {
      await assert.rejects(lake.sweepObjects(), { code: 'LAKE_BUSY' });
    } finally {
      lake.close();
    }
  });
});

describe('Lake.open on a folder', () => {
  it('refuses one that holds other files and no lake, naming it', async () => {
    const dir = join(root, 'documents');
    mkdirSync(join(dir, 'P0001'), { recursive: true });
    writeFileSync(join(dir, 'P0001', 'a.dcm'), 'x');
    for (const mode of ['write', 'append'] as const)
      await assert.rejects(Lake.open(dir, undefined, mode), {
        code: 'NOT_A_LAKE',
        message: `${dir} is not an lpacs lake and holds 1 other entry; a lake is created only in a new or empty folder (give --lake one)`,
      });
    assert.deepEqual(readdirSync(dir), ['P0001']);
  });

  it('opens a new, an empty (hidden files aside), a seeded and an existing lake', async () => {
    const empty = join(root, 'empty');
    mkdirSync(join(empty, 'lost+found'), { recursive: true });
    writeFileSync(join(empty, '.DS_Store'), '');
    // A site secret copied in ahead of the first ingest.
    const seeded = join(root, 'seeded');
    mkdirSync(join(seeded, 'keys'), { recursive: true });
    writeFileSync(join(seeded, 'keys', 'site.key'), 'ab'.repeat(32));
    for (const dir of [join(root, 'new'), empty, seeded]) {
      const lake = await Lake.open(dir);
      await lake.settings({});
      lake.close();
      (await Lake.open(dir, undefined, 'append')).close();
    }
  });
});
