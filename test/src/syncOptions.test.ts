import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startServer } from '@lpacs/api';
import type { RunningServer } from '@lpacs/api';
import {
  CT,
  filesUnder,
  runCli,
  syncArgs,
  syncSetup,
  tempDir,
} from './helpers';

// lpacs sync from a lake that keeps (shifted) dates to one made with
// --dates off: the peer refuses every object "under this lake's options",
// and the sender says so once, naming both lakes' options, and that it
// sent nothing, not the bytes it offered.

const work = tempDir('sync-options');
const lakeA = join(work.path, 'a');
const lakeB = join(work.path, 'b');
let serverB: RunningServer;
let baseB = '';
let token = '';
let cohort = '';
let total = 0;
/** The bytes of A's objects, from its files. */
let bytes = 0;

before(async () => {
  // A: the default options (lpacs init's usage: modified dates, patient
  // characteristics, clean descriptors). B: no dates.
  const run = await runCli(['ingest', CT, '--lake', lakeA]);
  assert.equal(run.code, 0, run.stderr);
  const init = await runCli(['init', '--lake', lakeB, '--dates', 'off']);
  assert.equal(init.code, 0, init.stderr);
  ({ cohort, total, token } = await syncSetup(lakeA, lakeB));
  bytes = filesUnder(join(lakeA, 'objects')).reduce(
    (n, f) => n + readFileSync(f).length,
    0,
  );
  serverB = await startServer({ lake: lakeB, port: 0 });
  baseB = serverB.url.replace(/\/graphql$/, '');
});
after(async () => {
  await serverB?.close();
  work.remove();
});

const args = () => syncArgs({ cohort, to: baseB, lake: lakeA, token });

describe('lpacs sync to a peer whose options keep less', () => {
  it('reports no bytes accepted and the peer options it had', async () => {
    const r = await runCli([...args(), '--json']);
    assert.equal(r.code, 1);
    const report = JSON.parse(r.stdout) as {
      sent: number;
      bytesSent: number;
      bytesStored: number;
      failed: Array<{ code: string; message?: string }>;
      peerOptions?: Record<string, unknown>;
    };
    assert.equal(total, 48); // generate-ct's 3 x 2 x 2 x 4 in datasets/cache/ct-test
    assert.deepEqual(
      [report.sent, report.bytesSent, report.bytesStored, report.failed.length],
      [0, bytes, 0, total],
    );
    for (const f of report.failed)
      assert.match(f.message ?? '', / under this lake's options$/);
    // B's lake.json, as lpacs init --dates off wrote it.
    const b = (
      JSON.parse(readFileSync(join(lakeB, 'lake.json'), 'utf8')) as {
        deidentification: Record<string, unknown>;
      }
    ).deidentification;
    assert.equal(b.longitudinal, 'off');
    const { blanking: _b, acceptUnmarked: _a, ...profile } = b;
    assert.deepEqual(report.peerOptions, profile);
  });

  it("says it sent nothing of what it offered, and why, once, naming both lakes' options", async () => {
    const r = await runCli(args());
    assert.equal(r.code, 1);
    const lines = r.stdout.split('\n');
    const sent = lines.find((l) => l.startsWith('sent '));
    assert.match(
      sent ?? '',
      new RegExp(
        `^sent {12}0 \\(${(bytes / 1e6).toFixed(1).replace('.', '\\.')} MB offered, none accepted, in \\d+\\.\\d\\d s\\)$`,
      ),
    );
    // 20 listed, then how many more and where to see them.
    const failed = lines.indexOf(`failed          ${total}`);
    assert.ok(failed > 0, r.stdout);
    const listed = lines.slice(failed + 1, failed + 21);
    for (const l of listed)
      assert.match(l, /^ {2}[0-9a-f]{16} {2}NOT_DEIDENTIFIED {2}/);
    assert.equal(
      lines[failed + 21],
      `  ... and ${total - 20} more (--json lists every one)`,
    );
    assert.deepEqual(
      lines.filter((l) => l.startsWith('refused ')),
      [
        `refused         ${total} under the peer's de-identification options, which keep less than this lake's (this lake: lpacs init --dates modified --retain patient-characteristics; the peer: lpacs init --dates off --retain patient-characteristics): sync only to a lake whose options keep at least what this lake's do (a lake's options are set when lpacs init makes it)`,
      ],
    );
  });
});
