import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { AccessStore, AuditLog, parseRole, ROLES } from '@lpacs/access';
import { addUserAudited } from '../accessAudit';
import { cliActor } from '../cliActor';
import { firstAdminPasswordPath, readFirstAdminPassword } from '../firstAdmin';
import type { Options } from '../options';
import { requireLake } from '../requireLake';

/** Reads a password from stdin (one line), for scripts: --password-stdin. */
function stdinPassword(): string {
  return readFileSync(0, 'utf8').split('\n')[0] ?? '';
}

function plural(n: number, one: string): string {
  return `${n} ${one}${n === 1 ? '' : 's'}`;
}

/** What a password change ended, and how the user gets back in. */
function revokedLine(
  name: string,
  r: { sessions: number; tokens: number },
): string {
  return (
    `revoked ${plural(r.sessions, 'portal session')} and ` +
    `${plural(r.tokens, 'API token')}` +
    (r.tokens ? `; make new ones with: lpacs tokens create ${name}` : '')
  );
}

/**
 * `lpacs users add NAME --role ROLE [--password-stdin]`, `users list`,
 * `users disable NAME`, `users password NAME [--password-stdin]`,
 * `users first-password`.
 */
export async function usersCommand(
  args: string[],
  opts: Options,
  flags: { role?: string | undefined; passwordStdin?: boolean | undefined },
): Promise<number> {
  await requireLake(opts.lake);
  const store = new AccessStore(opts.lake);
  const audit = new AuditLog(opts.lake);
  const [verb, name] = args;
  const operator = cliActor();
  const password = () =>
    flags.passwordStdin
      ? stdinPassword()
      : randomBytes(12).toString('base64url');
  switch (verb) {
    case 'list': {
      const users = store.users();
      if (opts.json)
        process.stdout.write(`${JSON.stringify(users, null, 2)}\n`);
      else
        for (const u of users)
          process.stdout.write(
            `${u.name.padEnd(20)} ${u.role.padEnd(13)} ${u.disabledAt ? `disabled ${u.disabledAt}` : `since ${u.createdAt}`}\n`,
          );
      return 0;
    }
    case 'add': {
      const role = parseRole(flags.role ?? '');
      if (!name || !role) {
        process.stderr.write(
          `${flags.role && !role ? `lpacs users: unknown role "${flags.role}"\n` : ''}usage: lpacs users add NAME --role ${ROLES.join('|')} [--password-stdin]\n`,
        );
        return 2;
      }
      const secret = password();
      await addUserAudited(
        opts.lake,
        { name, role, password: secret },
        operator,
      );
      process.stdout.write(
        flags.passwordStdin
          ? `added ${name} (${role})\n`
          : `added ${name} (${role}) with password ${secret}\n(shown only now; sign-in needs it)\n`,
      );
      return 0;
    }
    case 'disable':
      if (!name) break;
      await store.disableUser(name);
      await audit.append({
        actor: operator,
        action: 'user.disable',
        target: name,
        outcome: 'ok',
      });
      process.stdout.write(
        `disabled ${name}; their tokens and sessions are revoked\n`,
      );
      return 0;
    case 'first-password': {
      // What serve left in the lake (sealed in an encrypted one) when it
      // made the first admin off a terminal.
      const first = await readFirstAdminPassword(opts.lake);
      if (first === undefined) {
        process.stderr.write(
          `lpacs users: ${firstAdminPasswordPath(opts.lake)} does not exist: serve leaves the first admin's password there only when its output is not a terminal, and users password admin deletes it\n`,
        );
        return 1;
      }
      // Reading a credential is audited, and before it is shown: a log
      // that cannot take the entry reveals nothing.
      await audit.append({
        actor: operator,
        action: 'user.first-password',
        target: 'admin',
        outcome: 'ok',
      });
      process.stdout.write(`${first}\n`);
      return 0;
    }
    case 'password': {
      if (!name) break;
      const secret = password();
      const revoked = await store.setPassword(name, secret);
      // The first admin's password that serve left for the operator
      // (firstAdmin) is spent once it is changed.
      const firstPassword = firstAdminPasswordPath(opts.lake);
      const spent = name === 'admin' && existsSync(firstPassword);
      if (spent) await rm(firstPassword, { force: true });
      await audit.append({
        actor: operator,
        action: 'user.password',
        target: name,
        outcome: 'ok',
        detail: revoked,
      });
      process.stdout.write(
        `${
          flags.passwordStdin
            ? `password of ${name} set`
            : `new password of ${name}: ${secret}`
        }\n${revokedLine(name, revoked)}\n${spent ? `deleted ${firstPassword}, which held the first password\n` : ''}`,
      );
      return 0;
    }
    default:
  }
  process.stderr.write(
    'usage: lpacs users add NAME --role ROLE | list | disable NAME | password NAME [--password-stdin] | first-password\n',
  );
  return 2;
}
