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

describe('a file that is not DICOM', () => {
  const lake = join(work.path, 'secrets');
  const incoming = join(work.path, 'incoming-3');
  const key = randomBytes(32).toString('hex');
  const token = `token=${randomBytes(24).toString('base64url')}`;
  const notDicom = ['site.key', 'tokens.txt', 'app.log', 'export.csv'];

  it('has its reason recorded, never a copy; a refused DICOM file keeps its copy', async () => {
    mkdirSync(incoming);
    writeFileSync(join(incoming, 'site.key'), `${key}\n`);
    writeFileSync(join(incoming, 'tokens.txt'), `${token}\n`);
    writeFileSync(
      join(incoming, 'app.log'),
      `${'2026-12-05 started a long run of the importer\n'.repeat(20)}${token}\n`,
    );
    writeFileSync(
      join(incoming, 'export.csv'),
      `mrn,name\n${Array.from({ length: 30 }, (_, i) => `${1000 + i},Doe^J${i}`).join('\n')}\n`,
    );
    const whole = readFileSync(join(SAMPLE, 'deflated.dcm'));
    writeFileSync(join(incoming, 'cut.dcm'), whole.subarray(0, 3000));
    copyFileSync(join(SAMPLE, 'deflated.dcm'), join(incoming, 'screen.dcm'));
    // A raw data set (no preamble) whose second element runs off the end.
    const raw = Buffer.alloc(40);
    raw.writeUInt16LE(0x0008, 0);
    raw.writeUInt16LE(0x0016, 2);
    raw.write('UI', 4, 'latin1');
    raw.writeUInt16LE(4, 6);
    raw.write('1.2 ', 8, 'latin1');
    raw.writeUInt16LE(0x0008, 12);
    raw.writeUInt16LE(0x0018, 14);
    raw.write('UI', 16, 'latin1');
    raw.writeUInt16LE(200, 18);
    writeFileSync(join(incoming, 'raw.bin'), raw);

    const run = await runCli(['ingest', incoming, '--lake', lake]);
    assert.equal(run.code, 0, run.stderr);
    const found = reasons(lake);
    const byName = new Map(found.map((e) => [e.source.split('/').pop()!, e]));
    for (const name of notDicom) {
      const e = byName.get(name);
      assert.equal(e?.code, 'NOT_DICOM', name);
      assert.equal(e.kept, false, `${name} was copied into the quarantine`);
    }
    for (const name of ['cut.dcm', 'screen.dcm', 'raw.bin']) {
      const e = byName.get(name);
      assert.ok(e && e.code !== 'NOT_DICOM', `${name}: ${e?.code}`);
      assert.equal(e.kept, true, `${name} lost its copy`);
      assert.equal(
        sha(readFileSync(join(lake, 'quarantine', e.id, 'file.dcm'))),
        sha(readFileSync(join(incoming, name))),
      );
    }
    // Nothing of the secrets anywhere in the lake.
    for (const file of filesUnder(lake)) {
      const text = readFileSync(file, 'latin1');
      assert.ok(!text.includes(key), `${file} holds the key`);
      assert.ok(!text.includes(token), `${file} holds the token`);
    }
  });

  it('is not retryable, drops, and a backup carries none of it', async () => {
    const retry = await runCli(['quarantine', 'retry', '--lake', lake]);
    assert.equal(retry.code, 0, retry.stderr);
    for (const name of notDicom)
      assert.match(
        retry.stdout,
        new RegExp(
          `not retryable [0-9a-f]{12} .*${name.replace('.', '\\.')}: not DICOM: only its reason was recorded`,
        ),
      );
    const backup = join(work.path, 'backup');
    const made = await runCli(['backup', backup, '--lake', lake]);
    assert.equal(made.code, 0, made.stderr);
    for (const file of filesUnder(backup)) {
      const text = readFileSync(file, 'latin1');
      assert.ok(!text.includes(key), `${file} holds the key`);
      assert.ok(!text.includes(token), `${file} holds the token`);
    }
    const restored = join(work.path, 'restored');
    const back = await runCli(['restore', backup, '--lake', restored]);
    assert.equal(back.code, 0, back.stderr);
    const listed = JSON.parse(
      (await runCli(['quarantine', 'list', '--lake', restored, '--json']))
        .stdout,
    ) as Array<{ id: string; code: string; retryable: boolean }>;
    const reasonOnly = listed.filter((e) => e.code === 'NOT_DICOM');
    assert.equal(reasonOnly.length, notDicom.length);
    assert.ok(reasonOnly.every((e) => !e.retryable));
    const drop = await runCli([
      ...['quarantine', 'drop', reasonOnly[0]!.id.slice(0, 12)],
      ...['--reason', 'a key file, not an image', '--lake', lake],
    ]);
    assert.equal(drop.code, 0, drop.stderr);
    assert.ok(!existsSync(join(lake, 'quarantine', reasonOnly[0]!.id)));
  });

  it("an older lake's copy of one goes at the next retry, its reason stays", async () => {
    // As lpacs before this change kept it: the file itself, under its hash.
    const bytes = readFileSync(join(incoming, 'tokens.txt'));
    const source = join(incoming, 'tokens.txt');
    const old = await Lake.open(lake, undefined, 'append');
    let oldId: string;
    try {
      oldId = await old.quarantine(bytes, {
        code: 'NOT_DICOM',
        message: 'only 1 bytes, no DICOM preamble',
        source,
        at: new Date(0).toISOString(),
      });
    } finally {
      old.close();
    }
    assert.equal(oldId, sha(bytes).slice(0, 32));
    const retry = await runCli(['quarantine', 'retry', oldId, '--lake', lake]);
    assert.equal(retry.code, 0, retry.stderr);
    assert.ok(!existsSync(join(lake, 'quarantine', oldId)));
    const left = reasons(lake).filter((e) => e.source === source);
    assert.equal(left.length, 1);
    assert.equal(left[0]!.code, 'NOT_DICOM');
    assert.equal(left[0]!.kept, false);
  });
});
