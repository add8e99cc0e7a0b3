import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { AuditLog } from '@lpacs/access';
import { runCli, tempDir } from './helpers';

// `lpacs audit` shows the newest 50 entries unless told otherwise; a log
// of more must say that the list was cut, and how to see the rest.

const work = tempDir('audit-limit');
after(() => work.remove());

describe('lpacs audit: a list cut at its limit says so', () => {
  it('names shown and total in the last line; --all shows every entry', async () => {
    const lake = join(work.path, 'lake');
    assert.equal((await runCli(['init', '--lake', lake])).code, 0);
    const log = new AuditLog(lake);
    const before = log.entries().length;
    // 60 entries: 20 of one action, 40 of another.
    for (let i = 0; i < 60; i++)
      await log.append({
        actor: 'cli:test',
        action: i % 3 === 0 ? 'test.rare' : 'test.common',
        outcome: 'ok',
        target: `n${i}`,
      });
    const total = before + 60;
    const lines = (out: string) => out.split('\n').filter(Boolean);

    const plain = await runCli(['audit', '--lake', lake]);
    assert.equal(plain.code, 0, plain.stderr);
    const shown = lines(plain.stdout);
    assert.equal(shown.length, 51);
    assert.equal(
      shown[50],
      `showing the last 50 of ${total} entries; --limit N or --all for more`,
    );
    // The newest first: the 60th appended heads the list.
    assert.match(shown[0]!, /test\.common +ok +n59$/);

    const all = await runCli(['audit', '--all', '--lake', lake]);
    assert.equal(lines(all.stdout).length, total);
    assert.doesNotMatch(all.stdout, /showing the last/);

    const exact = await runCli([
      'audit',
      '--limit',
      `${total}`,
      '--lake',
      lake,
    ]);
    assert.equal(lines(exact.stdout).length, total);
    assert.doesNotMatch(exact.stdout, /showing the last/);

    const rare = await runCli([
      ...['audit', '--action', 'test.rare', '--limit', '5', '--lake', lake],
    ]);
    assert.equal(
      lines(rare.stdout).at(-1),
      'showing the last 5 of 20 entries that match; --limit N or --all for more',
    );

    // JSON stays the bare array of the entries shown.
    const json = await runCli(['audit', '--json', '--lake', lake]);
    const parsed = JSON.parse(json.stdout) as unknown[];
    assert.ok(Array.isArray(parsed));
    assert.equal(parsed.length, 50);

    const both = await runCli([
      'audit',
      '--all',
      '--limit',
      '3',
      '--lake',
      lake,
    ]);
    assert.equal(both.code, 2);
  });
});
