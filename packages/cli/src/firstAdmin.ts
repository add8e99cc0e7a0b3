import { randomBytes } from 'node:crypto';
import { AccessStore, Role } from '@lpacs/access';

/**
 * On a lake without users, adds `admin` with a generated password and
 * returns the password (shown once); otherwise undefined.
 */
export async function firstAdmin(lake: string): Promise<string | undefined> {
  const store = new AccessStore(lake);
  if (store.users().length > 0) return undefined;
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
    `lpacs: this lake had no users, so one was created:\n` +
    `  user admin, password ${password}  (shown only now; change it with: npx lpacs users password admin)\n` +
    `  sign in at ${url}, or create an API token: npx lpacs tokens create admin\n`
  );
}
