import { AccessStore, ACTIONS, AuditLog, scopeRefusal } from '@lpacs/access';
import type { Action } from '@lpacs/access';
import { issueTokenAudited } from '../accessAudit';
import { cliActor } from '../cliActor';
import type { Options } from '../options';
import { requireLake } from '../requireLake';

/**
 * `lpacs tokens create USER [--label L] [--days N] [--scope ACTION]...`
 * prints a token for `Authorization: Bearer`; `tokens list [USER]`;
 * `tokens revoke ID`.
 */
export async function tokensCommand(
  args: string[],
  opts: Options,
  flags: {
    label?: string | undefined;
    days?: string | undefined;
    scope?: string[] | undefined;
  },
): Promise<number> {
  await requireLake(opts.lake);
  const store = new AccessStore(opts.lake);
  const audit = new AuditLog(opts.lake);
  const operator = cliActor();
  const [verb, arg] = args;
  if (verb === 'create' && arg) {
    const bad = flags.scope?.find((s) => !ACTIONS.includes(s as Action));
    if (bad !== undefined) {
      process.stderr.write(
        `lpacs tokens: unknown scope "${bad}"; one of ${ACTIONS.join(', ')}\n`,
      );
      return 2;
    }
    // A scope the user's role can never use is refused here, not by every
    // request the token makes later.
    const role = store.user(arg)?.role;
    const refusal =
      role && flags.scope && scopeRefusal(role, flags.scope as Action[]);
    if (refusal) {
      process.stderr.write(`lpacs tokens: ${refusal} (user "${arg}")\n`);
      return 2;
    }
    const days = flags.days === undefined ? 90 : Number(flags.days);
    // Checked here as well as by the store, whose message names its own
    // field (expiresInDays), not the flag the user typed.
    if (!(Number.isInteger(days) && days >= 1 && days <= 3650)) {
      process.stderr.write(
        `lpacs tokens: --days must be a whole number between 1 and 3650, got "${flags.days}"\n`,
      );
      return 2;
    }
    const issued = await issueTokenAudited(
      opts.lake,
      arg,
      {
        label: flags.label ?? 'cli',
        expiresInDays: days,
        ...(flags.scope ? { scopes: flags.scope as Action[] } : {}),
      },
      operator,
    );
    if (opts.json) process.stdout.write(`${JSON.stringify(issued, null, 2)}\n`);
    else
      process.stdout.write(
        `${issued.token}\n# for ${arg}, id ${issued.info.id}, expires ${issued.info.expiresAt}; send as: Authorization: Bearer <token>\n`,
      );
    return 0;
  }
  if (verb === 'list') {
    const user = arg ? store.user(arg) : undefined;
    if (arg && !user) {
      process.stderr.write(`lpacs tokens: no user "${arg}"\n`);
      return 1;
    }
    const names = new Map(store.users().map((u) => [u.id, u.name]));
    const tokens = store.tokens(user?.id);
    if (opts.json) process.stdout.write(`${JSON.stringify(tokens, null, 2)}\n`);
    else
      for (const t of tokens)
        process.stdout.write(
          `${t.id}  ${(names.get(t.userId) ?? '?').padEnd(16)} ${t.kind.padEnd(8)} ${t.label.padEnd(12)} ${t.revokedAt ? 'revoked' : `expires ${t.expiresAt}`}\n`,
        );
    return 0;
  }
  if (verb === 'revoke' && arg) {
    await store.revokeToken(arg);
    await audit.append({
      actor: operator,
      action: 'token.revoke',
      target: arg,
      outcome: 'ok',
    });
    process.stdout.write(`revoked ${arg}\n`);
    return 0;
  }
  process.stderr.write(
    'usage: lpacs tokens create USER [--label L] [--days N] [--scope ACTION]... | list [USER] | revoke ID\n',
  );
  return 2;
}
