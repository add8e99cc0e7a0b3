import { randomBytes } from 'node:crypto';
import { AccessStore, Role } from '@lpacs/access';

/**
 * On a lake without an active admin, adds `admin` with a generated
 * password and returns the password (shown once); otherwise undefined.
 */
export async function firstAdmin(lake: string): Promise<string | undefined> {
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
  return password;
}

/** What to tell an operator after firstAdmin made the first user. */
export function firstAdminText(password: string, url: string): string {
  return (
    `lpacs: this lake had no admin, so one was created:\n` +
    `  user admin, password ${password}  (shown only now; change it with: npx lpacs users password admin)\n` +
    `  sign in at ${url}, or create an API token: npx lpacs tokens create admin\n`
  );
}
