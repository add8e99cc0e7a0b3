import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { copyFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { AccessStore, Action, Role } from '@lpacs/access';
import { startServer } from '@lpacs/api';
import type { RunningServer } from '@lpacs/api';
import { CT, dcmdump, filesUnder, runCli, tempDir } from './helpers';

// Sync receive refuses an erased patient's object before it checks
// whether the object is de-identified: a refusal for anything else keeps
// the file, the very data erased (trial 7 finding 4).
const work = tempDir('erase-sync');
const lake = join(work.path, 'lake');
const p1 = filesUnder(join(CT, 'P0001')).filter((f) => f.endsWith('.dcm'));
const mrn = dcmdump(p1[0]!, ['0010,0020'])!['0010,0020']!;
let server: RunningServer;
let base = '';
let syncToken = '';
/** One of this lake's objects of the patient, as it stored it. */
let own = Buffer.alloc(0);
/** The same object with the site's PatientID put back. */
let putBack = Buffer.alloc(0);

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

async function send(
  objects: Buffer[],
): Promise<Array<{ sha256: string; outcome: string; code?: string }>> {
  const boundary = 'xyz';
  const res = await fetch(`${base}/sync/objects`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${syncToken}`,
      'content-type': `multipart/related; type="application/dicom"; boundary=${boundary}`,
    },
    body: Buffer.concat([
      ...objects.flatMap((b) => [
        Buffer.from(
          `--${boundary}\r\ncontent-type: application/dicom\r\nx-lpacs-sha256: ${sha(b)}\r\n\r\n`,
        ),
        b,
        Buffer.from('\r\n'),
      ]),
      Buffer.from(`--${boundary}--\r\n`),
    ]),
  });
  assert.equal(res.status, 200);
  return ((await res.json()) as { results: [] }).results;
}

interface Entry {
  id: string;
  code: string;
  retryable: boolean;
  patient?: string;
}

async function quarantineList(): Promise<Entry[]> {
  const list = await runCli(['quarantine', 'list', '--json', '--lake', lake]);
  assert.equal(list.code, 0, list.stderr);
  return JSON.parse(list.stdout) as Entry[];
}

async function startReceiver(): Promise<void> {
  server = await startServer({ lake, port: 0 });
  base = server.url.replace(/\/graphql$/, '');
}

/** The lake's pseudonym of the patient, from its stored object (dcmdump). */
let pseudonym = '';
let beforeErasure: Entry[] = [];
let afterErasure: Entry[] = [];

before(async () => {
  const run = await runCli(['ingest', join(CT, 'P0001'), '--lake', lake]);
  assert.equal(run.code, 0, run.stderr);
  const object = filesUnder(join(lake, 'objects'))[0]!;
  own = readFileSync(object);
  const copy = join(work.path, 'put-back.dcm');
  copyFileSync(object, copy);
  execFileSync('dcmodify', ['-nb', '-m', `(0010,0020)=${mrn}`, copy]);
  putBack = readFileSync(copy);
  // A copy with an element the profile removes (Patient's Address, X):
  // sync receive quarantines it (NOT_DEIDENTIFIED), the pseudonym as is.
  const tamperedPath = join(work.path, 'tampered.dcm');
  copyFileSync(object, tamperedPath);
  execFileSync('dcmodify', [
    '-nb',
    '-i',
    '(0010,1040)=1 Planted Lane',
    tamperedPath,
  ]);
  pseudonym = dcmdump(object, ['0010,0020'])!['0010,0020']!;
  const store = new AccessStore(lake);
  await store.addUser('peer', Role.Admin);
  syncToken = (
    await store.issueToken('peer', {
      label: 'sync',
      scopes: [Action.SyncReceive],
    })
  ).token;
  await startReceiver();
  const sent = await send([readFileSync(tamperedPath)]);
  assert.deepEqual(
    sent.map((r) => [r.outcome, r.code]),
    [['refused', 'NOT_DEIDENTIFIED']],
  );
  beforeErasure = await quarantineList();
  await server.close(); // erase needs the lake to itself
  const erased = await runCli([
    'erase',
    '--original-patient-id',
    mrn,
    '--reason',
    'consent withdrawn',
    '--lake',
    lake,
  ]);
  assert.equal(erased.code, 0, erased.stderr);
  afterErasure = await quarantineList();
  await startReceiver();
});
after(async () => {
  await server?.close();
  work.remove();
});

describe('sync receive of an erased patient', () => {
  it('labels a quarantined synced object with its pseudonym as is, and the erasure removes it', () => {
    assert.deepEqual(
      beforeErasure.map((e) => [e.code, e.patient]),
      [['NOT_DEIDENTIFIED', pseudonym]],
    );
    assert.deepEqual(afterErasure, []);
  });

  it('refuses ERASED both the lake’s own object and one with the MRN put back, keeping no file', async () => {
    const results = await send([own, putBack]);
    assert.deepEqual(
      results.map((r) => [r.sha256, r.outcome, r.code]),
      [
        [sha(own), 'refused', 'ERASED'],
        [sha(putBack), 'refused', 'ERASED'],
      ],
    );
    const list = await runCli(['quarantine', 'list', '--json', '--lake', lake]);
    const entries = JSON.parse(list.stdout) as Array<{
      code: string;
      retryable: boolean;
    }>;
    assert.deepEqual(
      entries.map((e) => [e.code, e.retryable]),
      [
        ['ERASED', false],
        ['ERASED', false],
      ],
    );
    for (const f of filesUnder(join(lake, 'quarantine')))
      assert.ok(!readFileSync(f).toString('latin1').includes(mrn), f);
  });
});
