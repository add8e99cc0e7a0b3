import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { AccessStore } from '@lpacs/access';
import {
  CLI,
  SAMPLE,
  filesUnder,
  runCli,
  startUntil,
  tempDir,
} from './helpers';

// What `lpacs serve` and `lpacs demo` set up on their own (the first
// admin, the demo's ingest and token) is in the audit log, as the same
// steps done with lpacs users add, tokens create and ingest are; no
// password or token is written there.

const work = tempDir('setup-audit');
after(() => work.remove());

interface Entry {
  seq: number;
  actor: string;
  action: string;
  outcome: string;
  target?: string;
  detail?: Record<string, unknown>;
}

async function entries(lake: string): Promise<Entry[]> {
  const run = await runCli(['audit', '--all', '--json', '--lake', lake]);
  assert.equal(run.code, 0, run.stderr);
  return (JSON.parse(run.stdout) as Entry[]).reverse();
}

async function verified(lake: string): Promise<void> {
  const run = await runCli(['audit', 'verify', '--lake', lake]);
  assert.equal(run.code, 0, run.stderr);
  assert.match(run.stdout, /^audit log intact: /);
}

const ADDRESS = /at (http:\/\/127\.0\.0\.1:\d+)\/graphql/;

describe('audit entries of what serve and demo set up', () => {
  it('lpacs serve: the first admin is a user.add by system:serve, without its password', async () => {
    const lake = join(work.path, 'serve');
    assert.equal((await runCli(['init', '--lake', lake])).code, 0);
    const serve = await startUntil(
      process.execPath,
      [CLI, 'serve', '--lake', lake, '--port', '0'],
      (o) => ADDRESS.test(o) && /create an API token/.test(o),
    );
    await serve.stop();
    const password = readFileSync(
      join(lake, 'state', 'first-admin-password'),
      'utf8',
    ).trim();
    const adds = (await entries(lake)).filter((e) => e.action === 'user.add');
    assert.deepEqual(
      adds.map((e) => [e.actor, e.target, e.outcome, e.detail]),
      [['system:serve', 'admin', 'ok', { role: 'admin', first: true }]],
    );
    const log = readFileSync(join(lake, 'audit', 'audit.ndjson'), 'utf8');
    assert.ok(!log.includes(password), 'the password is in the audit log');
    await verified(lake);
  });

  it('lpacs demo: its ingest, its admin and its token are audited', async () => {
    const lake = join(work.path, 'demo');
    const run = await runCli([
      ...['demo', '--exit', '--lake', lake, '--port', '0'],
    ]);
    assert.equal(run.code, 0, run.stderr);
    const token =
      /== the demo's API token \(issued to admin for one day[^\n]*\n(\S+)\n/.exec(
        run.stdout,
      )?.[1];
    assert.ok(token, run.stdout);
    const password = /user admin, password (\S+) /.exec(run.stdout)?.[1];
    assert.ok(password, run.stdout);
    const files = filesUnder(SAMPLE).length;
    const seen = Number(/files seen +(\d+)/.exec(run.stdout)?.[1]);
    const ingested = Number(/ingested +(\d+)/.exec(run.stdout)?.[1]);
    assert.equal(seen, files);

    const log = await entries(lake);
    const ingest = log.filter((e) => e.action === 'ingest');
    assert.equal(ingest.length, 1);
    assert.match(ingest[0]!.actor, /^cli:/);
    assert.equal(ingest[0]!.detail?.via, 'cli');
    assert.equal(ingest[0]!.detail?.files, files);
    assert.equal(ingest[0]!.detail?.ingested, ingested);

    const add = log.filter((e) => e.action === 'user.add');
    assert.deepEqual(
      add.map((e) => [e.actor, e.target, e.detail]),
      [['system:demo', 'admin', { role: 'admin', first: true }]],
    );

    // The token's id, as the store knows it, names the entry.
    const principal = new AccessStore(lake).authenticate(token);
    assert.equal(principal.name, 'admin');
    const issued = log.filter((e) => e.action === 'token.issue');
    assert.equal(issued.length, 1);
    assert.equal(issued[0]!.target, principal.tokenId);
    assert.deepEqual(issued[0]!.detail, { user: 'admin' });
    assert.match(issued[0]!.actor, /^cli:/);

    const raw = readFileSync(join(lake, 'audit', 'audit.ndjson'), 'utf8');
    assert.ok(!raw.includes(token), 'the token is in the audit log');
    assert.ok(!raw.includes(password), 'the password is in the audit log');
    await verified(lake);
  });
});
