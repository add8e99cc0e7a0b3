import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, it } from 'node:test';
import { processAlive } from '../processAlive';

// A writer killed with kill -9 whose parent never reaps it (a container
// whose PID 1 reaps nothing) stays a zombie: kill(pid, 0) still succeeds,
// so its lock looked held and compact answered LAKE_BUSY.

describe('processAlive', () => {
  it('is true for a running process and false for one that exited but is not reaped', async () => {
    // sh starts a short sleep, then becomes a long one that never waits
    // for it: the short one ends as a zombie of the long one.
    const parent = spawn('sh', ['-c', 'sleep 0.2 & echo $!; exec sleep 30'], {
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    try {
      const [line] = (await once(parent.stdout!, 'data')) as [Buffer];
      const child = Number(line.toString().trim());
      assert.ok(child > 0);
      assert.equal(processAlive(child), true, 'the sleep runs');
      assert.equal(processAlive(parent.pid!), true);
      let state = '';
      for (let i = 0; i < 100 && state !== 'Z'; i++) {
        await sleep(50);
        const stat = readFileSync(`/proc/${child}/stat`, 'latin1');
        state = stat.slice(
          stat.lastIndexOf(')') + 2,
          stat.lastIndexOf(')') + 3,
        );
      }
      assert.equal(state, 'Z', 'the kernel shows it as a zombie');
      assert.equal(processAlive(child), false);
    } finally {
      parent.kill('SIGKILL');
    }
  });

  it('is false for a process that is gone', async () => {
    const p = spawn('true');
    await once(p, 'exit');
    assert.equal(processAlive(p.pid!), false);
  });
});
