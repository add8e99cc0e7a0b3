import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { CT, SAMPLE, dcmdump, filesUnder, runCli, tempDir } from './helpers';

const work = tempDir('options');
after(() => work.remove());
const slice = filesUnder(CT).find((f) => f.endsWith('CT000001.dcm'))!;
const TAGS = [
  '0008,0020',
  '0018,1000',
  '0008,1010',
  '0010,1010',
  '0012,0064',
  '0008,0100',
];

/** Ingests one CT slice into a lake made with `init` flags; returns the stored object's values. */
async function storedWith(name: string, flags: string[]) {
  const lake = join(work.path, name);
  if (flags.length) {
    const init = await runCli(['init', '--lake', lake, ...flags]);
    assert.equal(init.code, 0, init.stderr);
  }
  const run = await runCli(['ingest', slice, '--lake', lake, '--json']);
  assert.equal(run.code, 0, run.stderr);
  const objects = filesUnder(join(lake, 'objects'));
  assert.equal(objects.length, 1);
  return { values: dcmdump(objects[0]!, TAGS)!, codes: codesOf(objects[0]!) };
}

/** CID 7050 code values in (0012,0064), read by dcmdump. */
function codesOf(file: string): string[] {
  const text = execFileSync('dcmdump', ['-q', '+P', '0012,0064', '+p', file], {
    encoding: 'latin1',
  });
  return [...text.matchAll(/\(0008,0100\) SH \[(\d+)\]/g)].map((m) => m[1]!);
}

describe('de-identification options per lake (lpacs init)', () => {
  const original = dcmdump(slice, TAGS)!;

  it('shifts dates and drops device identity by default', async () => {
    const { values, codes } = await storedWith('default', []);
    assert.notEqual(values['0008,0020'], original['0008,0020']);
    assert.notEqual(values['0018,1000'], original['0018,1000']);
    assert.notEqual(values['0008,1010'], original['0008,1010']);
    assert.equal(values['0010,1010'], original['0010,1010']); // patient characteristics kept
    assert.deepEqual(codes.sort(), ['113100', '113105', '113107', '113108']);
  });

  it('keeps full dates and device identity when the lake says so, and records it', async () => {
    const { values, codes } = await storedWith('full', [
      '--dates',
      'full',
      '--retain',
      'device-identity',
    ]);
    assert.equal(values['0008,0020'], original['0008,0020']);
    assert.equal(values['0018,1000'], original['0018,1000']);
    assert.equal(values['0008,1010'], original['0008,1010']);
    assert.notEqual(values['0010,1010'], original['0010,1010']); // characteristics not asked for
    assert.deepEqual(codes.sort(), ['113100', '113105', '113106', '113109']);
  });

  it('refuses to change options under stored data', async () => {
    const lake = join(work.path, 'default');
    const run = await runCli(['init', '--lake', lake, '--dates', 'off']);
    assert.equal(run.code, 1);
    assert.match(run.stderr, /already exists with other options/);
    assert.ok(readdirSync(lake).includes('lake.json'));
  });
});

describe('changing options after the fact (new-user cases)', () => {
  const deflated = join(SAMPLE, 'deflated.dcm'); // a secondary capture

  it('lets a lake that holds no instances yet take new options', async () => {
    const lake = join(work.path, 'empty-yet');
    const first = await runCli(['ingest', deflated, '--lake', lake, '--json']);
    assert.equal(first.code, 0, first.stderr);
    assert.equal(
      (JSON.parse(first.stdout) as { quarantined: number }).quarantined,
      1,
    );
    const init = await runCli(['init', '--lake', lake, '--dates', 'off']);
    assert.equal(init.code, 0, init.stderr);
    assert.match(
      init.stdout,
      /holds no instances yet: its options are replaced/,
    );
    const settings = JSON.parse(
      readFileSync(join(lake, 'lake.json'), 'utf8'),
    ) as { deidentification: { longitudinal: string } };
    assert.equal(settings.deidentification.longitudinal, 'off');
  });

  it('accepts unmarked secondary captures under stored data (they change only what is admitted), and then ingests the one it refused', async () => {
    const lake = join(work.path, 'with-data');
    const first = await runCli([
      'ingest',
      slice,
      deflated,
      '--lake',
      lake,
      '--json',
    ]);
    const before = JSON.parse(first.stdout) as {
      ingested: number;
      quarantined: number;
    };
    assert.deepEqual([before.ingested, before.quarantined], [1, 1]);
    const init = await runCli([
      'init',
      '--lake',
      lake,
      '--accept-unmarked',
      'secondary-capture',
    ]);
    assert.equal(init.code, 0, init.stderr);
    assert.match(
      init.stdout,
      /the kinds accepted unmarked replaced; stored objects stay as they are/,
    );
    const again = await runCli(['ingest', deflated, '--lake', lake, '--json']);
    assert.equal(
      (JSON.parse(again.stdout) as { ingested: number }).ingested,
      1,
    );
    const dates = await runCli(['init', '--lake', lake, '--dates', 'off']);
    assert.equal(dates.code, 1);
    assert.match(
      dates.stderr,
      /already exists with other options, and the lake holds instances de-identified with them \(2 batches\), so they cannot change/,
    );
  });
});

describe('command-line mistakes (new-user cases)', () => {
  it('names a misspelt option instead of suggesting "--", and exits 2', async () => {
    const r = await runCli(['status', '--lak', join(work.path, 'x')]);
    assert.equal(r.code, 2);
    assert.equal(
      r.stderr,
      'lpacs: unknown option --lak (lpacs --help lists them)\n',
    );
  });

  it('says how to give a value that starts with a dash', async () => {
    const r = await runCli(['audit', '--limit', '-3']);
    assert.equal(r.code, 2);
    assert.equal(
      r.stderr,
      'lpacs: option --limit needs a value (one starting with - is written --limit=VALUE; lpacs --help)\n',
    );
  });

  it('says to choose another --port when the port is taken', async () => {
    const taken = createServer();
    await new Promise<void>((r) => taken.listen(0, '127.0.0.1', r));
    const { port } = taken.address() as AddressInfo;
    try {
      const lake = join(work.path, 'serve-busy');
      await runCli(['ingest', slice, '--lake', lake]);
      const r = await runCli(['serve', '--lake', lake, '--port', `${port}`]);
      assert.equal(r.code, 1);
      assert.match(
        r.stderr,
        new RegExp(
          `lpacs: EADDRINUSE: 127\\.0\\.0\\.1 port ${port} is in use \\(another lpacs serve\\?\\): choose another with --port\\n$`,
        ),
      );
    } finally {
      taken.close();
    }
  });
});
