import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, describe, it } from 'node:test';
import { CT, filesUnder, runCli, tempDir } from './helpers';
import {
  killServes,
  serveDimse as serve,
  stopServe as stop,
} from './dimseHarness';

// The JSON log line "association released" of `lpacs serve --dimse-port`
// counts what the association stored. It was written when the release
// arrived, before the C-STOREs under way had settled, and said 0.

const work = tempDir('dimse-release-log');
after(() => {
  killServes();
  work.remove();
});

describe('lpacs serve --dimse-port: the log of a released association', () => {
  it('counts every instance storescu sent, as the audit entry does', async () => {
    const lake = join(work.path, 'lake');
    assert.equal((await runCli(['init', '--lake', lake])).code, 0);
    // One patient of the generated corpus: distinct SOP Instance UIDs.
    const files = filesUnder(join(CT, 'P0001')).filter((f) =>
      f.endsWith('.dcm'),
    );
    assert.ok(files.length >= 8, `${files.length} files`);
    const s = await serve(lake, ['--allow-ae', 'MODALITY1']);
    try {
      const push = spawnSync(
        'storescu',
        [
          ...['-aet', 'MODALITY1', '-aec', 'LPACS', '127.0.0.1'],
          ...[`${s.dimsePort}`, ...files],
        ],
        { encoding: 'latin1', timeout: 120_000 },
      );
      assert.equal(push.status, 0, `${push.stdout}${push.stderr}`);
      // The line is written before the A-RELEASE answer; stderr is
      // another pipe, so give it a moment to arrive.
      const released = () =>
        s
          .err()
          .split('\n')
          .filter((l) => l.startsWith('{'))
          .map((l) => JSON.parse(l) as Record<string, unknown>)
          .filter((l) => l.msg === 'association released');
      for (let i = 0; i < 50 && !released().length; i++) await sleep(100);
      const lines = released();
      assert.equal(lines.length, 1, s.err());
      assert.equal(lines[0]!.ingested, files.length);
      assert.equal(lines[0]!.callingAE, 'MODALITY1');
    } finally {
      assert.deepEqual(await stop(s.child, 'SIGTERM'), {
        code: 0,
        signal: null,
      });
    }
    // The audit entry of the same association says the same.
    const audit = await runCli(['audit', '--lake', lake, '--json']);
    const end = (
      JSON.parse(audit.stdout) as Array<{
        action: string;
        detail?: Record<string, unknown>;
      }>
    ).find((e) => e.action === 'ingest');
    assert.equal(end?.detail?.ingested, files.length);
  });
});
