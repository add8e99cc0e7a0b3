import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, describe, it } from 'node:test';
import { CT, dcmdump, filesUnder, runCli, tempDir } from './helpers';

interface Report {
  filesSeen: number;
  ingested: number;
  skipped: number;
  quarantined: number;
  pulled: { studies: number; series: number };
}

const work = tempDir('pull');
after(() => work.remove());

describe('lpacs pull from a real Orthanc (QIDO-RS + WADO-RS)', () => {
  it('pulls by modality and by patient, and skips what it has on a rerun', async (t) => {
    // Orthanc 1.10 binds every interface; the test runs it in a private
    // network namespace, which needs root (as CI and install-tools have).
    try {
      execFileSync('unshare', ['-n', 'true'], { stdio: 'ignore' });
    } catch {
      t.skip(
        'unshare -n is not permitted here: cannot isolate Orthanc to loopback',
      );
      return;
    }
    const truth = JSON.parse(readFileSync(join(CT, 'truth.json'), 'utf8')) as {
      patients: Array<{ patientId: string }>;
    };
    const patientID = truth.patients[0]!.patientId;
    const { stdout } = await promisify(execFile)(
      'unshare',
      [
        '-n',
        process.execPath,
        join(__dirname, 'pullScenario.js'),
        work.path,
        patientID,
      ],
      { maxBuffer: 1 << 26, timeout: 240_000 },
    );
    const r = JSON.parse(stdout) as Record<
      'first' | 'again' | 'patient' | 'none',
      Report
    >;
    // What dcmdump says the uploaded files hold.
    const files = filesUnder(CT).filter((f) => f.endsWith('.dcm'));
    const tags = files.map((f) =>
      dcmdump(f, ['0008,0060', '0010,0020', '0020,000d'])!,
    );
    const ct = tags.filter((t) => t['0008,0060'] === 'CT');
    const mine = tags.filter((t) => t['0010,0020'] === patientID);
    assert.ok(mine.length > 0 && mine.length < tags.length);
    assert.equal(r.first.ingested, ct.length);
    assert.equal(r.first.quarantined, 0);
    assert.equal(
      r.first.pulled.studies,
      new Set(ct.map((t) => t['0020,000d'])).size,
    );
    assert.equal(r.again.ingested, 0);
    assert.equal(r.again.skipped, ct.length);
    assert.equal(r.patient.ingested, mine.length);
    assert.equal(r.none.filesSeen, 0);
  });

  it('names the server it cannot reach and why (new-user case: "fetch failed")', async () => {
    // A port nothing listens on: bound, then closed, by this test.
    const server = createServer();
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const { port } = server.address() as AddressInfo;
    await new Promise((r) => server.close(r));
    const r = await runCli([
      'pull',
      `http://127.0.0.1:${port}/dicomweb`,
      '--lake',
      join(work.path, 'unreachable'),
    ]);
    assert.notEqual(r.code, 0);
    assert.equal(
      r.stderr.trim(),
      `lpacs: cannot reach http://127.0.0.1:${port}: ECONNREFUSED`,
    );
  });

  it('leaves no lake behind when the server refuses the login', async () => {
    const server = createHttpServer((_req, res) =>
      res.writeHead(401, { 'www-authenticate': 'Bearer' }).end(),
    );
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const { port } = server.address() as AddressInfo;
    const lake = join(work.path, 'refused');
    const empty = join(work.path, 'empty');
    mkdirSync(empty);
    try {
      for (const dir of [lake, empty]) {
        const r = await runCli([
          'pull',
          `http://127.0.0.1:${port}/dicomweb`,
          '--token',
          'wrong',
          '--lake',
          dir,
        ]);
        assert.equal(r.code, 1, r.stdout);
        assert.match(r.stderr, /401/);
      }
      assert.equal(existsSync(lake), false);
      assert.deepEqual(readdirSync(empty), []);
    } finally {
      await new Promise((r) => server.close(r));
    }
  });
});
