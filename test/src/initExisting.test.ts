import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CT, REPO, filesUnder, runCli, tempDir } from './helpers';

const work = tempDir('init-existing');
after(() => work.remove());

/** The lake's lake.json as it is on disk. */
function settingsText(lake: string): string {
  return readFileSync(join(lake, 'lake.json'), 'utf8');
}

function deid(lake: string): Record<string, unknown> {
  return (
    JSON.parse(settingsText(lake)) as {
      deidentification: Record<string, unknown>;
    }
  ).deidentification;
}

/** The options JSON `lpacs init` printed after "de-identifies with:". */
function printed(stdout: string): Record<string, unknown> {
  const at = stdout.indexOf('de-identifies with:\n');
  assert.ok(at >= 0, stdout);
  const rest = stdout.slice(at + 'de-identifies with:\n'.length);
  return JSON.parse(rest.slice(0, rest.indexOf('\n}\n') + 2)) as Record<
    string,
    unknown
  >;
}

const held = join(work.path, 'held');
before(async () => {
  const init = await runCli([
    ...['init', '--lake', held, '--accept-unmarked', 'secondary-capture'],
    ...['--retain', 'device-identity', '--clean', 'graphics'],
  ]);
  assert.equal(init.code, 0, init.stderr);
  const input = join(work.path, 'input');
  mkdirSync(input);
  const slice = filesUnder(CT).find((f) => f.endsWith('.dcm'))!;
  writeFileSync(join(input, 'one.dcm'), readFileSync(slice));
  const ingest = await runCli(['ingest', input, '--lake', held]);
  assert.equal(ingest.code, 0, ingest.stderr);
});

describe('lpacs init on a lake that exists', () => {
  it('changes nothing when given no options, and prints the options in force', async () => {
    const before = settingsText(held);
    assert.deepEqual(deid(held).acceptUnmarked, ['secondary-capture']);
    const r = await runCli(['init', '--lake', held]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(settingsText(held), before);
    assert.match(r.stdout, /nothing changed/);
    assert.doesNotMatch(r.stdout, /replaced/);
    assert.deepEqual(printed(r.stdout), deid(held));
  });

  it('changes only the option given: --accept-unmarked none empties that list', async () => {
    const before = deid(held);
    const r = await runCli([
      ...['init', '--lake', held, '--accept-unmarked', 'none'],
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /the kinds accepted unmarked replaced/);
    assert.deepEqual(deid(held), { ...before, acceptUnmarked: [] });
  });

  it('changes only the options given on a lake with no instances yet', async () => {
    const lake = join(work.path, 'empty');
    const made = await runCli([
      ...['init', '--lake', lake, '--accept-unmarked', 'secondary-capture'],
      ...['--dates', 'full'],
    ]);
    assert.equal(made.code, 0, made.stderr);
    const before = deid(lake);
    const r = await runCli(['init', '--lake', lake, '--retain', 'uids']);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(deid(lake), {
      ...before,
      retainPatientCharacteristics: false,
      retainDeviceIdentity: false,
      retainInstitutionIdentity: false,
      retainUIDs: true,
      retainSafePrivate: false,
    });
    assert.equal(deid(lake).longitudinal, 'full');
    assert.deepEqual(deid(lake).acceptUnmarked, ['secondary-capture']);
  });

  it('still refuses to change what shapes stored data', async () => {
    const before = settingsText(held);
    const r = await runCli(['init', '--lake', held, '--dates', 'off']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /cannot change/);
    assert.equal(settingsText(held), before);
  });

  it('names --dates, the option typed, for a value it does not take', async () => {
    const r = await runCli([
      ...['init', '--lake', join(work.path, 'bogus'), '--dates', 'bogus'],
    ]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /--dates takes off, full, modified; got "bogus"/);
    assert.doesNotMatch(r.stderr, /longitudinal/);
  });
});

describe('lpacs COMMAND --help', () => {
  const usage = async () => (await runCli(['--help'])).stdout;

  it('prints init its own entry, --encrypt in its option list', async () => {
    const r = await runCli(['init', '--help']);
    assert.equal(r.code, 0);
    assert.match(r.stdout, /^usage: lpacs init /);
    const list = r.stdout.split('NAME:')[0]!;
    assert.ok(list.includes('[--encrypt]'), list);
    assert.doesNotMatch(r.stdout, /backup prune|models add/);
    // The overall usage lists it too, and every line of init's entry.
    const all = await usage();
    for (const line of r.stdout.split('\n\n')[1]!.split('\n'))
      assert.ok(all.includes(line), line);
  });

  it('has a text of its own for every command the README lists', async () => {
    const readme = readFileSync(join(REPO, 'README.md'), 'utf8');
    const commands = new Set(
      [...readme.matchAll(/^\| `lpacs ([a-z]+)/gm)].map((m) => m[1]!),
    );
    assert.ok(commands.size >= 15, [...commands].join(' '));
    const all = await usage();
    for (const command of commands) {
      const r = await runCli([command, '--help']);
      assert.equal(r.code, 0, command);
      assert.ok(r.stdout.startsWith(`usage: lpacs ${command} `), command);
      assert.ok(r.stdout.length < all.length / 2, `${command}: all of it`);
      assert.match(r.stdout, new RegExp(`\\n  ${command}\\b`), command);
    }
  });
});
