import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { copyFileSync, mkdirSync, readdirSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { CLI, SAMPLE, runCli, startUntil, tempDir } from './helpers';

// A C-STORE server killed before its batch committed leaves answered
// instances in the lake's spool. `status` said nothing of them (instances
// 0, quarantined 0), a backup left them out without a word, and `serve`
// without --dimse-port never takes them over (operator re-trial).

const work = tempDir('spool-status');
after(() => work.remove());
const lake = join(work.path, 'lake');

/** A pid that no process has: one that ran and was reaped. */
async function deadPid(): Promise<number> {
  const p = spawn('true');
  await once(p, 'exit');
  return p.pid!;
}

describe('received instances left in the spool by a stopped C-STORE server', () => {
  const files = ['volume/brain_001.dcm', 'volume/brain_002.dcm'];

  it('are named by status, warned of by backup and by serve without --dimse-port, and committed by the next C-STORE server', async () => {
    const init = await runCli(['init', '--lake', lake]);
    assert.equal(init.code, 0, init.stderr);
    // The spool as a killed server leaves it (packages/dimse Spool): a
    // folder named by its pid and host, files named by association,
    // number and calling AE.
    const host = hostname().replace(/[^A-Za-z0-9.-]/g, '-') || 'localhost';
    const dir = join(lake, 'spool', `scp-${await deadPid()}-0badf00d@${host}`);
    mkdirSync(dir, { recursive: true });
    const ae = Buffer.from('MOD').toString('hex');
    files.forEach((f, i) =>
      copyFileSync(
        join(SAMPLE, f),
        join(dir, `0123456789ab-${i + 1}-${ae}.dcm`),
      ),
    );

    const status = await runCli(['status', '--lake', lake, '--json']);
    assert.equal(status.code, 0, status.stderr);
    const s = JSON.parse(status.stdout) as {
      instances: number;
      spool?: { files: number; stopped: number };
    };
    assert.equal(Number(s.instances), 0);
    assert.deepEqual(s.spool, { files: files.length, stopped: files.length });
    const text = await runCli(['status', '--lake', lake]);
    assert.match(
      text.stdout,
      new RegExp(
        `spool +${files.length} received instances left in the spool by a C-STORE server that stopped`,
      ),
    );

    const backup = await runCli([
      'backup',
      join(work.path, 'bk'),
      '--lake',
      lake,
    ]);
    assert.equal(backup.code, 0, backup.stderr);
    assert.match(
      backup.stderr,
      /warning: this snapshot does not hold 2 received instances/,
    );

    const plain = await startUntil(
      process.execPath,
      [CLI, 'serve', '--lake', lake, '--port', '0'],
      (o) => /WARNING: 2 received instances left in the spool/.test(o),
    );
    await plain.stop();

    const scp = await startUntil(
      process.execPath,
      [
        CLI,
        'serve',
        '--lake',
        lake,
        '--port',
        '0',
        '--dimse-port',
        '0',
        '--allow-ae',
        'MOD',
      ],
      (o) => /C-STORE SCP \S+ listening/.test(o),
    );
    await scp.stop();
    const after = JSON.parse(
      (await runCli(['status', '--lake', lake, '--json'])).stdout,
    ) as { instances: number; spool?: unknown };
    assert.equal(Number(after.instances), files.length);
    assert.equal(after.spool, undefined);
    assert.deepEqual(readdirSync(join(lake, 'spool')), []);
  });
});
