import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { Lake } from '@lpacs/lake';
import type { CliRun } from './helpers';
import { CLI, SAMPLE, filesUnder, runCli, tempDir } from './helpers';

// New-user trial: a quarantine that cannot be read was reported as
// empty; a retry left each conflict's old entry beside its CONFLICT
// record; files that are not DICOM at all were copied whole into the
// quarantine (and so into backups).

const work = tempDir('quarantine-trial');
after(() => work.remove());
// setpriv's nobody must reach the lakes below (mkdtemp makes 0700).
chmodSync(work.path, 0o755);

const PYDICOM = '/usr/lib/python3/dist-packages/pydicom/data/test_files';

/** `lpacs ...` run as nobody, who cannot read root's 0600 files. */
function runAsNobody(args: string[]): Promise<CliRun> {
  return new Promise((resolve) => {
    const child = spawn('setpriv', [
      ...['--reuid=nobody', '--regid=nogroup', '--clear-groups'],
      ...[process.execPath, CLI, ...args],
    ]);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** Each quarantine entry's reason, read from disk (a plain lake). */
function reasons(
  lake: string,
): Array<{ id: string; code: string; source: string; kept: boolean }> {
  const dir = join(lake, 'quarantine');
  return readdirSync(dir).map((id) => {
    const r = JSON.parse(
      readFileSync(join(dir, id, 'reason.json'), 'utf8'),
    ) as {
      code: string;
      source: string;
    };
    return {
      id,
      code: r.code,
      source: r.source,
      kept: existsSync(join(dir, id, 'file.dcm')),
    };
  });
}

function sha(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}

describe('a quarantine this user cannot read', () => {
  const lake = join(work.path, 'unreadable');

  it('is reported as unreadable, with how many entries, never as 0', async () => {
    const incoming = join(work.path, 'incoming-1');
    mkdirSync(incoming);
    copyFileSync(join(SAMPLE, 'deflated.dcm'), join(incoming, 'screen.dcm'));
    const whole = readFileSync(join(SAMPLE, 'deflated.dcm'));
    writeFileSync(join(incoming, 'cut.dcm'), whole.subarray(0, 3000));
    const ingested = await runCli(['ingest', incoming, '--lake', lake]);
    assert.equal(ingested.code, 0, ingested.stderr);
    const entries = readdirSync(join(lake, 'quarantine')).length;
    assert.equal(entries, 2);

    // As the lake's owner: every entry listed, exit 0.
    const own = await runCli(['status', '--lake', lake]);
    assert.equal(own.code, 0, own.stderr);
    assert.match(own.stdout, new RegExp(`^quarantined ${entries}$`, 'm'));
    assert.doesNotMatch(own.stdout, /UNREADABLE/);

    // As nobody: the entries are counted and said to be unreadable.
    const status = await runAsNobody(['status', '--lake', lake]);
    assert.equal(status.code, 1, status.stdout + status.stderr);
    assert.match(status.stdout, new RegExp(`^quarantined ${entries}$`, 'm'));
    assert.match(
      status.stdout,
      new RegExp(
        `UNREADABLE: ${entries} of ${entries} quarantine entries .* cannot be read \\(EACCES\\)`,
      ),
    );
    const json = await runAsNobody(['status', '--lake', lake, '--json']);
    assert.equal(json.code, 1);
    const parsed = JSON.parse(json.stdout) as {
      quarantineUnreadable?: { entries: number; errors: string[] };
    };
    assert.deepEqual(parsed.quarantineUnreadable, {
      entries,
      errors: ['EACCES'],
    });

    const list = await runAsNobody(['quarantine', 'list', '--lake', lake]);
    assert.equal(list.code, 1, list.stdout);
    assert.doesNotMatch(list.stdout, /quarantined 0/);
    assert.match(
      list.stderr,
      new RegExp(`${entries} of ${entries} quarantine entries .*EACCES`),
    );
  });
});

describe('lpacs quarantine retry', () => {
  it("leaves each retried file one entry, with its current reason (pydicom's test files)", async (t) => {
    if (!existsSync(PYDICOM)) {
      t.skip('python3-pydicom is not installed');
      return;
    }
    const lake = join(work.path, 'pydicom');
    const first = await runCli(['ingest', PYDICOM, '--lake', lake]);
    assert.equal(first.code, 0, first.stderr);
    const init = await runCli([
      ...['init', '--lake', lake],
      ...['--accept-unmarked', 'secondary-capture'],
    ]);
    assert.equal(init.code, 0, init.stderr);
    const before = reasons(lake);
    const retry = await runCli(['quarantine', 'retry', '--lake', lake]);
    assert.equal(retry.code, 0, retry.stderr);
    const after = reasons(lake);
    const bySource = new Map<string, typeof after>();
    for (const e of after)
      bySource.set(e.source, [...(bySource.get(e.source) ?? []), e]);
    // No file keeps two entries (the old reason beside the new one).
    const doubled = [...bySource].filter(([, list]) => list.length > 1);
    assert.deepEqual(
      doubled.map(([source, list]) => [source, list.map((e) => e.code)]),
      [],
    );
    // Files that were refused for burned-in text and are now CONFLICTs:
    // their one entry is the CONFLICT record, and they were there.
    const burned = new Set(
      before
        .filter((e) => e.code === 'BURNED_IN_ANNOTATION')
        .map((e) => e.source),
    );
    const nowConflicts = after.filter(
      (e) => e.code === 'CONFLICT' && burned.has(e.source),
    );
    assert.ok(nowConflicts.length > 0, 'the corpus has such files');
    const reported = Number(/^conflicts\s+(\d+)/m.exec(retry.stdout)?.[1]);
    assert.equal(nowConflicts.length, reported);
    // Every entry removed is gone from disk; none is left with a file
    // whose bytes are not its id's.
    for (const e of after.filter((x) => x.kept))
      assert.equal(
        sha(readFileSync(join(lake, 'quarantine', e.id, 'file.dcm'))).slice(
          0,
          32,
        ),
        e.id,
      );
  });
});
