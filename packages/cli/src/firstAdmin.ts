import { randomBytes } from 'node:crypto';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { AccessStore, Role } from '@lpacs/access';
import {
  LakeError,
  LakeErrorCode,
  encryptionSettings,
  readObject,
  writeLakeFile,
} from '@lpacs/lake';
import { auditUserAdd } from './accessAudit';

/**
 * On a lake without an active admin, adds `admin` with a generated
 * password and returns the password (shown once); otherwise undefined.
 * Audited as `user.add` by `actor` (`system:serve`, `system:demo`), with
 * `first: true`; the password is never written there.
 */
export async function firstAdmin(
  lake: string,
  actor: string,
): Promise<string | undefined> {
  const store = new AccessStore(lake);
  const users = store.users();
  if (users.some((u) => u.role === Role.Admin && !u.disabledAt))
    return undefined;
  if (users.some((u) => u.name === 'admin')) return undefined; // disabled on purpose
  const password = randomBytes(12).toString('base64url');
  try {
    await store.addUser('admin', Role.Admin, password);
  } catch {
    return undefined; // another process made the first user meanwhile
  }
  await auditUserAdd(lake, { name: 'admin', role: Role.Admin }, actor, {
    first: true,
  });
  return password;
}

/** What to tell an operator after firstAdmin made the first user. */
export function firstAdminText(
  password: string,
  url: string,
  lake: string,
): string {
  return (
    `lpacs: this lake had no admin, so one was created:\n` +
    `  user admin, password ${password}  (shown only now; change it with: npx lpacs users password admin --lake ${lake})\n` +
    `  sign in at ${url}, or create an API token: npx lpacs tokens create admin --lake ${lake}\n`
  );
}

/** firstAdminPasswordPath, relative to the lake. */
const PASSWORD_KEY = 'state/first-admin-password';

/**
 * Where `serve` leaves the first admin's password when its output is not
 * a terminal (a service: systemd's journal and log collectors keep
 * stdout), readable by the lake's owner only; sealed in an encrypted lake.
 */
export function firstAdminPasswordPath(lake: string): string {
  return join(lake, PASSWORD_KEY);
}

/**
 * Seals the first admin's password that serve left in the clear in an
 * encrypted lake before it sealed that file (an older lpacs); true when
 * it did. Nothing to do in a lake in the clear, or when there is none.
 */
export async function sealFirstAdminPassword(lake: string): Promise<boolean> {
  if (!encryptionSettings(lake)) return false;
  let raw: Buffer;
  try {
    raw = await readFile(firstAdminPasswordPath(lake));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
  try {
    await readObject(lake, PASSWORD_KEY);
    return false; // sealed already
  } catch (err) {
    if (!(err instanceof LakeError && err.code === LakeErrorCode.Corrupt))
      throw err;
  }
  // Only what serve wrote: one generated password (base64url), a newline.
  if (!/^[A-Za-z0-9_-]+\n?$/.test(raw.toString('latin1'))) return false;
  await writeLakeFile(lake, PASSWORD_KEY, raw, 0o600);
  return true;
}

/**
 * The password serve left in firstAdminPasswordPath (opened with the KEK
 * in an encrypted lake; one an older lpacs left there in the clear is
 * sealed first), or undefined when there is none.
 */
export async function readFirstAdminPassword(
  lake: string,
): Promise<string | undefined> {
  await sealFirstAdminPassword(lake);
  try {
    return (await readObject(lake, PASSWORD_KEY)).toString('utf8').trim();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/**
 * Tells the operator the first admin's password: on a terminal, shown
 * once; otherwise written to firstAdminPasswordPath (0600; sealed like
 * the lake's other state in an encrypted lake, where `lpacs users
 * first-password` prints it) and only the path is printed, so no log
 * keeps the password.
 */
export async function announceFirstAdmin(
  lake: string,
  password: string,
  url: string,
  terminal: boolean,
): Promise<string> {
  if (terminal) return firstAdminText(password, url, lake);
  const path = firstAdminPasswordPath(lake);
  await mkdir(join(lake, 'state'), { recursive: true });
  await writeLakeFile(lake, PASSWORD_KEY, `${password}\n`, 0o600);
  const sealed = encryptionSettings(lake) !== undefined;
  return (
    `lpacs: this lake had no admin, so one was created: user admin; its password is in ${path} (mode 0600${sealed ? ', sealed with the lake key' : ''}, not printed: this output is not a terminal)\n` +
    (sealed
      ? `  print it with: npx lpacs users first-password --lake ${lake}, then change it with: npx lpacs users password admin --lake ${lake} (which deletes the file)\n`
      : `  read it, then change it with: npx lpacs users password admin --lake ${lake} (which deletes the file)\n`) +
    `  sign in at ${url}, or create an API token: npx lpacs tokens create admin --lake ${lake}\n`
  );
}
