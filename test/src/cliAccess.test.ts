import assert from 'node:assert/strict';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { AuditLog } from '@lpacs/access';
import { SAMPLE, runCli, tempDir } from './helpers';

// Mistakes a new user made with the access commands (new-user trial).
const work = tempDir('cli-access');
const lake = join(work.path, 'lake');

before(async () => {
  const r = await runCli(['ingest', join(SAMPLE, 'rle.dcm'), '--lake', lake]);
  assert.equal(r.code, 0, r.stderr);
});
after(() => work.remove());

describe('lpacs users and audit on bad input', () => {
  it('names an unknown role', async () => {
    const r = await runCli([
      'users',
      'add',
      'rita',
      '--role',
      'reseacher',
      '--lake',
      lake,
    ]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /unknown role "reseacher"/);
  });

  it('refuses a mistyped audit subcommand and a bad --limit instead of listing', async () => {
    const typo = await runCli(['audit', 'verfy', '--lake', lake]);
    assert.equal(typo.code, 2);
    assert.match(typo.stderr, /unknown: "verfy"/);
    for (const limit of ['abc', '0']) {
      const r = await runCli(['audit', '--limit', limit, '--lake', lake]);
      assert.equal(r.code, 2, limit);
      assert.equal(r.stdout, '', limit);
    }
  });

  it('audits the account running the CLI when the shell sets no USER', async () => {
    const r = await runCli(
      ['users', 'add', 'sam', '--role', 'steward', '--lake', lake],
      {
        USER: '',
        LOGNAME: '',
      },
    );
    assert.equal(r.code, 0, r.stderr);
    const [entry] = new AuditLog(lake).query({ action: 'user.add' });
    assert.equal(entry?.actor, `cli:${userInfo().username}`);
  });
});
