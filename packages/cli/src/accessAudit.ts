import { AccessStore, AuditLog } from '@lpacs/access';
import type { IssuedToken, Role } from '@lpacs/access';

/**
 * Adds a user and appends its `user.add` entry (name and role, never the
 * password): `lpacs users add`, the first admin `serve` and `demo` make.
 */
export async function addUserAudited(
  lake: string,
  user: { name: string; role: Role; password: string },
  actor: string,
  detail: Record<string, string | number | boolean> = {},
): Promise<void> {
  new AuditLog(lake).assertAppendable();
  await new AccessStore(lake).addUser(user.name, user.role, user.password);
  await auditUserAdd(lake, user, actor, detail);
}

/** The `user.add` entry of a user just added: name and role only. */
export async function auditUserAdd(
  lake: string,
  user: { name: string; role: Role },
  actor: string,
  detail: Record<string, string | number | boolean> = {},
): Promise<void> {
  await new AuditLog(lake).append({
    actor,
    action: 'user.add',
    target: user.name,
    outcome: 'ok',
    detail: { role: user.role, ...detail },
  });
}

/**
 * Issues an API token and appends its `token.issue` entry (the token's
 * id and user, never the token): `lpacs tokens create` and `demo`.
 */
export async function issueTokenAudited(
  lake: string,
  user: string,
  options: Parameters<AccessStore['issueToken']>[1],
  actor: string,
): Promise<IssuedToken> {
  new AuditLog(lake).assertAppendable();
  const issued = await new AccessStore(lake).issueToken(user, options);
  await new AuditLog(lake).append({
    actor,
    action: 'token.issue',
    target: issued.info.id,
    outcome: 'ok',
    detail: { user },
  });
  return issued;
}
