import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { CLI, filesUnder, runCli, startUntil, tempDir } from './helpers';

// `lpacs serve` on a lake without an admin creates one and printed its
// password on stdout, which a service manager (systemd's journal) keeps
// (operator trial). Off a terminal it now goes to a 0600 file instead.

const work = tempDir('first-admin');
after(() => work.remove());

const ADDRESS = /at (http:\/\/127\.0\.0\.1:\d+)\/graphql/;

async function signIn(base: string, password: string): Promise<number> {
  const res = await fetch(`${base}/auth/sign-in`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'admin', password }),
  });
  await res.text();
  return res.status;
}

describe('the first admin made by lpacs serve', () => {
  it('off a terminal: the password goes to a 0600 file, never to the output, and signs in', async () => {
    const lake = join(work.path, 'service');
    const init = await runCli(['init', '--lake', lake]);
    assert.equal(init.code, 0, init.stderr);
    const serve = await startUntil(
      process.execPath,
      [CLI, 'serve', '--lake', lake, '--port', '0'],
      (o) => ADDRESS.test(o) && /create an API token/.test(o),
    );
    try {
      const file = join(lake, 'state', 'first-admin-password');
      assert.ok(serve.out.includes(file), serve.out);
      const password = readFileSync(file, 'utf8').trim();
      assert.ok(password.length >= 16);
      assert.ok(!serve.out.includes(password), 'the password is printed');
      assert.equal(statSync(file).mode & 0o777, 0o600);
      const base = ADDRESS.exec(serve.out)![1]!;
      assert.equal(await signIn(base, password), 200);
      assert.equal(await signIn(base, `${password}x`), 401);
    } finally {
      await serve.stop();
    }
    // Nor does a backup keep it.
    const dest = join(work.path, 'backup');
    const backup = await runCli(['backup', dest, '--lake', lake]);
    assert.equal(backup.code, 0, backup.stderr);
    const password = readFileSync(
      join(lake, 'state', 'first-admin-password'),
      'utf8',
    ).trim();
    const holding = filesUnder(dest).filter((f) =>
      readFileSync(f).includes(password),
    );
    assert.deepEqual(holding, []);
    assert.ok(filesUnder(dest).length > 0);
    // Changing the password spends the file.
    const change = await runCli(['users', 'password', 'admin', '--lake', lake]);
    assert.equal(change.code, 0, change.stderr);
    assert.match(change.stdout, /deleted \S+first-admin-password/);
    assert.equal(
      existsSync(join(lake, 'state', 'first-admin-password')),
      false,
    );
  });

  it('on a terminal: the password is shown once and no file is written', async () => {
    const lake = join(work.path, 'terminal');
    const init = await runCli(['init', '--lake', lake]);
    assert.equal(init.code, 0, init.stderr);
    // script(1) gives serve a pseudo-terminal as its stdout.
    const serve = await startUntil(
      'script',
      [
        '-qec',
        `${process.execPath} ${CLI} serve --lake ${lake} --port 0`,
        '/dev/null',
      ],
      (o) => /create an API token/.test(o),
    );
    await serve.stop();
    assert.match(serve.out, /user admin, password \S{16,}/);
    assert.equal(
      existsSync(join(lake, 'state', 'first-admin-password')),
      false,
    );
  });

  it('in an encrypted lake: the file is sealed, users first-password prints it, and one an older lpacs left in the clear is sealed', async () => {
    const lake = join(work.path, 'sealed');
    const kekFile = join(work.path, 'kek.hex');
    writeFileSync(kekFile, randomBytes(32).toString('hex') + '\n');
    const env = { LPACS_KEK_FILE: kekFile, LPACS_KEK: '' };
    const init = await runCli(['init', '--lake', lake, '--encrypt'], env);
    assert.equal(init.code, 0, init.stderr);
    const serve = await startUntil(
      process.execPath,
      [CLI, 'serve', '--lake', lake, '--port', '0', '--kek-file', kekFile],
      (o) => ADDRESS.test(o) && /create an API token/.test(o),
    );
    const file = join(lake, 'state', 'first-admin-password');
    let password: string;
    try {
      assert.match(serve.out, /sealed with the lake key/);
      assert.match(serve.out, /lpacs users first-password --lake/);
      const shown = await runCli(
        ['users', 'first-password', '--lake', lake],
        env,
      );
      assert.equal(shown.code, 0, shown.stderr);
      password = shown.stdout.trim();
      assert.ok(password.length >= 16);
      const sealed = readFileSync(file);
      assert.equal(sealed.subarray(0, 4).toString('latin1'), 'LPE1');
      assert.equal(sealed.includes(password), false);
      assert.equal(statSync(file).mode & 0o777, 0o600);
      const base = ADDRESS.exec(serve.out)![1]!;
      assert.equal(await signIn(base, password), 200);
    } finally {
      await serve.stop();
    }
    // An older lpacs left it in the clear: the next serve seals it, and
    // it still prints.
    writeFileSync(file, `${password}\n`, { mode: 0o600 });
    const again = await startUntil(
      process.execPath,
      [CLI, 'serve', '--lake', lake, '--port', '0', '--kek-file', kekFile],
      (o) => ADDRESS.test(o),
    );
    await again.stop();
    assert.equal(readFileSync(file).includes(password), false);
    const shown = await runCli(
      ['users', 'first-password', '--lake', lake],
      env,
    );
    assert.equal(shown.stdout.trim(), password);
    // Each reading of the credential is in the audit log, without it.
    const audit = await runCli(['audit', '--lake', lake, '--json'], env);
    const reads = (
      JSON.parse(audit.stdout) as Array<{ action: string; target?: string }>
    ).filter((e) => e.action === 'user.first-password');
    assert.equal(reads.length, 2);
    assert.ok(reads.every((e) => e.target === 'admin'));
    assert.equal(audit.stdout.includes(password), false);
    // Changing the password spends the file, as in a lake in the clear.
    const change = await runCli(
      ['users', 'password', 'admin', '--lake', lake],
      env,
    );
    assert.equal(change.code, 0, change.stderr);
    assert.equal(existsSync(file), false);
  });
});
