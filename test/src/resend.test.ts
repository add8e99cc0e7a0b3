import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CT, filesUnder, runCli, tempDir } from './helpers';
import { lakeDifferences } from './lakeDiff';

const work = tempDir('resend');
after(() => work.remove());

interface Report {
  ingested: number;
  skipped: number;
  conflicts: number;
}

/**
 * One instance sent twice, the second time changed by `dcmodify` (dcmtk,
 * not lpacs): how lpacs files the second copy must not depend on whether
 * the two arrive in one run, in two runs, or in two runs at once
 * (new-user case: they gave skipped, conflict and conflict).
 */
function pair(name: string, change: string): string[] {
  const dir = join(work.path, name);
  mkdirSync(dir, { recursive: true });
  const slice = filesUnder(CT).find((f) => f.endsWith('CT000001.dcm'))!;
  const a = join(dir, 'a.dcm');
  const b = join(dir, 'b.dcm');
  copyFileSync(slice, a);
  copyFileSync(slice, b);
  execFileSync('dcmodify', ['-nb', '-i', change, b]);
  return [a, b];
}

/** A fresh lake sharing `template`'s site secret and settings. */
function lakeLike(template: string, name: string): string {
  const lake = join(work.path, name);
  mkdirSync(join(lake, 'keys'), { recursive: true });
  copyFileSync(
    join(template, 'keys', 'site.key'),
    join(lake, 'keys', 'site.key'),
  );
  copyFileSync(join(template, 'lake.json'), join(lake, 'lake.json'));
  return lake;
}

async function ingest(lake: string, files: string[]): Promise<Report> {
  const r = await runCli(['ingest', ...files, '--lake', lake, '--json']);
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout) as Report;
}

const sum = (rs: Report[]) => ({
  ingested: rs.reduce((n, r) => n + r.ingested, 0),
  skipped: rs.reduce((n, r) => n + r.skipped, 0),
  conflicts: rs.reduce((n, r) => n + r.conflicts, 0),
});

for (const [name, change, expected] of [
  // Protocol Name is kept (cleaned) but not indexed: the same instance.
  [
    'unindexed',
    '(0018,1030)=PROTO X',
    { ingested: 1, skipped: 1, conflicts: 0 },
  ],
  // Slice Thickness is indexed: other content under one SOP Instance UID.
  ['indexed', '(0018,0050)=9', { ingested: 1, skipped: 0, conflicts: 1 }],
] as const) {
  describe(`a re-sent instance, changed in ${name === 'indexed' ? 'an indexed' : 'an unindexed'} attribute`, () => {
    let files: string[];
    let sequential: string;
    before(() => {
      files = pair(name, change);
    });

    it('in two runs, one after the other', async () => {
      sequential = join(work.path, `${name}-sequential`);
      const rs = [
        await ingest(sequential, [files[0]!]),
        await ingest(sequential, [files[1]!]),
      ];
      assert.deepEqual(sum(rs), expected);
    });

    it('in one run: the same verdicts and the same lake', async () => {
      const lake = lakeLike(sequential, `${name}-one-run`);
      assert.deepEqual(sum([await ingest(lake, files)]), expected);
      assert.deepEqual(await lakeDifferences(lake, sequential), []);
      assert.equal(
        filesUnder(join(lake, 'objects')).length,
        filesUnder(join(sequential, 'objects')).length,
      );
    });

    it('in two runs at once: the same verdicts, and the lake of one order or the other', async () => {
      // Which run commits first is a race: the lake must be one of the two
      // made one after the other.
      const reversed = lakeLike(sequential, `${name}-reversed`);
      await ingest(reversed, [files[1]!]);
      await ingest(reversed, [files[0]!]);
      const lake = lakeLike(sequential, `${name}-at-once`);
      const rs = await Promise.all(files.map((f) => ingest(lake, [f])));
      assert.deepEqual(sum(rs), expected);
      const [ab, ba] = [
        await lakeDifferences(lake, sequential),
        await lakeDifferences(lake, reversed),
      ];
      assert.ok(ab.length === 0 || ba.length === 0, JSON.stringify({ ab, ba }));
      assert.equal(
        filesUnder(join(lake, 'objects')).length,
        filesUnder(join(sequential, 'objects')).length,
      );
    });
  });
}
