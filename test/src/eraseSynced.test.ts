import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startServer } from '@lpacs/api';
import {
  CT,
  erasePatient,
  parquetRows,
  runCli,
  syncArgs,
  syncSetup,
  tempDir,
} from './helpers';

// A new-user trial synced a cohort to a second lake, then erased one of
// its patients in the first: the peer kept all 16 instances and nothing
// said so. An erasure now names each peer lpacs sync sent a changed
// cohort or release to, and the command that erases the copies there
// (sync sends objects as stored, so the pseudonym is the same).

const work = tempDir('erase-synced');
const lakeA = join(work.path, 'a');
const lakeB = join(work.path, 'b');
let origin = '';
let cohort = '';
let pseudonym = '';
let instances = 0;

async function countOf(lake: string, patient: string): Promise<number> {
  const [row] = await parquetRows(
    `SELECT count(*) AS n FROM read_parquet('${lake}/tables/instances/*/*.parquet') WHERE "PatientID" = '${patient}'`,
  );
  return Number(row!.n);
}

before(async () => {
  const run = await runCli(['ingest', CT, '--lake', lakeA]);
  assert.equal(run.code, 0, run.stderr);
  const init = await runCli(['init', '--lake', lakeB]);
  assert.equal(init.code, 0, init.stderr);
  const setup = await syncSetup(lakeA, lakeB);
  cohort = setup.cohort;
  // A sync that reached no peer (nothing listens on port 9 here) is
  // audited too, and must not be named: that peer holds nothing.
  const refused = await runCli(
    syncArgs({ cohort, to: 'http://127.0.0.1:9', lake: lakeA, token: 'x' }),
  );
  assert.equal(refused.code, 1, refused.stdout);
  const server = await startServer({ lake: lakeB, port: 0 });
  origin = new URL(server.url).origin;
  try {
    const sent = await runCli(
      syncArgs({ cohort, to: origin, lake: lakeA, token: setup.token }),
    );
    assert.equal(sent.code, 0, sent.stdout + sent.stderr);
  } finally {
    await server.close();
  }
  const [first] = await parquetRows(
    `SELECT min("PatientID") AS p FROM read_parquet('${lakeA}/tables/instances/*/*.parquet')`,
  );
  pseudonym = String(first!.p);
  instances = await countOf(lakeA, pseudonym);
  assert.ok(instances > 0);
  assert.equal(await countOf(lakeB, pseudonym), instances);
});
after(() => work.remove());

describe('erasing a patient whose cohort lpacs sync sent to a peer', () => {
  it('names the peer, what was sent there and the command that erases the copies, and audits it', async () => {
    const run = await erasePatient(lakeA, pseudonym);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, new RegExp(`^erased ${instances} instances `));
    const lines = run.stdout
      .split('\n')
      .filter((l) => l.startsWith('sent to '));
    assert.equal(lines.length, 1, run.stdout);
    assert.match(
      lines[0]!,
      new RegExp(
        `^sent to ${origin} by lpacs sync \\(cohort:${cohort}, last \\S+\\): that lake may hold copies, which this erasure cannot reach; remove them with lpacs erase --patient ${pseudonym} --reason \\.\\.\\. on that lake$`,
      ),
    );
    const audit = JSON.parse(
      (
        await runCli([
          'audit',
          '--lake',
          lakeA,
          '--action',
          'erase.patient',
          '--json',
        ])
      ).stdout,
    ) as Array<{ detail: Record<string, unknown> }>;
    assert.equal(audit[0]!.detail.syncedTo, origin);
  });

  it('the named command erases every copy on the peer', async () => {
    const there = await erasePatient(lakeB, pseudonym);
    assert.equal(there.code, 0, there.stderr);
    assert.match(there.stdout, new RegExp(`^erased ${instances} instances `));
    // B never synced anything on: no peer to name.
    assert.doesNotMatch(there.stdout, /^sent to /m);
    assert.equal(await countOf(lakeB, pseudonym), 0);
  });
});
