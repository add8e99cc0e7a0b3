import { randomBytes } from 'node:crypto';
import {
  Action,
  ACTIONS,
  parseRole,
  scopeRefusal,
  typedTarget,
} from '@lpacs/access';
import type { AuditEntry, TokenInfo, User } from '@lpacs/access';
import {
  Arg,
  Authorized,
  Ctx,
  Int,
  Mutation,
  Query,
  Resolver,
} from 'type-graphql';
import { badInput } from '../ApiError';
import type { ApiContext } from '../context';
import {
  AuditEntryType,
  AuditVerification,
  IssuedTokenType,
  NewUser,
  TokenInfoType,
  UserInfo,
} from '../schema/AccessTypes';

/** The ids AccessStore gives tokens: 16 hex digits. */
const TOKEN_ID = /^[0-9a-f]{16}$/;

function userOut(u: User): UserInfo {
  return Object.assign(new UserInfo(), u);
}
function tokenOut(t: TokenInfo): TokenInfoType {
  return Object.assign(new TokenInfoType(), t);
}
function auditOut(e: AuditEntry): AuditEntryType {
  return Object.assign(new AuditEntryType(), {
    ...e,
    detail: e.detail ? JSON.stringify(e.detail) : undefined,
  });
}

/** Users, tokens and the audit log: who may do what, and who did what. */
@Resolver()
export class AccessResolver {
  @Authorized()
  @Query(() => UserInfo, { description: 'The caller.' })
  me(@Ctx() ctx: ApiContext): UserInfo {
    const p = ctx.gate.principal!;
    return userOut(ctx.access.users().find((u) => u.id === p.userId)!);
  }

  @Authorized(Action.UserManage)
  @Query(() => [UserInfo])
  users(@Ctx() ctx: ApiContext): UserInfo[] {
    return ctx.access.users().map(userOut);
  }

  @Authorized(Action.UserManage)
  @Mutation(() => NewUser, {
    description:
      'Adds a user; without a password one is generated and shown once.',
  })
  async addUser(
    @Ctx() ctx: ApiContext,
    @Arg('name') name: string,
    @Arg('role') role: string,
    @Arg('password', () => String, { nullable: true }) password?: string,
  ): Promise<NewUser> {
    const parsed = parseRole(role);
    if (!parsed)
      throw badInput(
        `role must be admin, steward, researcher or collaborator, not "${role}"`,
        'role',
      );
    const secret = password ?? randomBytes(12).toString('base64url');
    const user = await ctx.access.addUser(name, parsed, secret);
    await ctx.gate.record('user.add', 'ok', name, { role: parsed });
    return Object.assign(new NewUser(), {
      user: userOut(user),
      password: password ? undefined : secret,
    });
  }

  @Authorized(Action.UserManage)
  @Mutation(() => Boolean, {
    description: 'Disables a user and revokes their tokens.',
  })
  async disableUser(
    @Ctx() ctx: ApiContext,
    @Arg('name') name: string,
  ): Promise<boolean> {
    await ctx.access.disableUser(name);
    await ctx.gate.record('user.disable', 'ok', name);
    return true;
  }

  @Authorized(Action.TokenOwn)
  @Query(() => [TokenInfoType], {
    description: "The caller's tokens and sessions.",
  })
  tokens(@Ctx() ctx: ApiContext): TokenInfoType[] {
    return ctx.access.tokens(ctx.gate.principal!.userId).map(tokenOut);
  }

  @Authorized(Action.TokenOwn)
  @Mutation(() => IssuedTokenType, {
    description: 'Issues an API token for the caller.',
  })
  async createToken(
    @Ctx() ctx: ApiContext,
    @Arg('label', { defaultValue: 'api' }) label: string,
    @Arg('expiresInDays', () => Int, { defaultValue: 90 }) days: number,
    @Arg('scopes', () => [String], { nullable: true }) scopes?: string[],
  ): Promise<IssuedTokenType> {
    const bad = scopes?.find((s) => !ACTIONS.includes(s as Action));
    if (bad !== undefined)
      throw badInput(
        `unknown scope "${bad}"; scopes are actions such as cohort.query`,
        'scopes',
      );
    const refusal =
      scopes && scopeRefusal(ctx.gate.principal!.role, scopes as Action[]);
    if (refusal) throw badInput(refusal, 'scopes');
    const issued = await ctx.access.issueToken(ctx.gate.principal!.name, {
      label,
      expiresInDays: days,
      ...(scopes ? { scopes: scopes as Action[] } : {}),
    });
    await ctx.gate.record('token.issue', 'ok', issued.info.id);
    return Object.assign(new IssuedTokenType(), {
      token: issued.token,
      info: tokenOut(issued.info),
    });
  }

  @Authorized(Action.TokenOwn)
  @Mutation(() => Boolean, {
    description: 'Revokes one of the caller’s tokens (admins: anyone’s).',
  })
  async revokeToken(
    @Ctx() ctx: ApiContext,
    @Arg('id') id: string,
  ): Promise<boolean> {
    const caller = ctx.gate.principal!;
    const owned = ctx.access.tokens(caller.userId).some((t) => t.id === id);
    // Written as given only in the form of a token id: anything else the
    // caller typed is named by a keyed digest (see typedTarget).
    if (!owned)
      await ctx.gate.allow(
        Action.UserManage,
        TOKEN_ID.test(id) ? id : typedTarget(ctx.lakeRoot, id),
      );
    await ctx.access.revokeToken(id);
    await ctx.gate.record('token.revoke', 'ok', id);
    return true;
  }

  @Authorized(Action.AuditRead)
  @Query(() => [AuditEntryType], {
    description: 'Audit entries, newest first.',
  })
  auditLog(
    @Ctx() ctx: ApiContext,
    @Arg('actor', () => String, { nullable: true }) actor?: string,
    @Arg('action', () => String, { nullable: true }) action?: string,
    @Arg('from', () => String, { nullable: true }) from?: string,
    @Arg('to', () => String, { nullable: true }) to?: string,
    @Arg('limit', () => Int, { defaultValue: 100 }) limit?: number,
  ): AuditEntryType[] {
    return ctx.audit
      .query({
        ...(actor ? { actor } : {}),
        ...(action ? { action } : {}),
        ...(from ? { from } : {}),
        ...(to ? { to } : {}),
        ...(limit ? { limit } : {}),
      })
      .map(auditOut);
  }

  @Authorized(Action.AuditRead)
  @Query(() => AuditVerification, {
    description: 'Recomputes the audit hash chain.',
  })
  verifyAudit(@Ctx() ctx: ApiContext): AuditVerification {
    return Object.assign(new AuditVerification(), ctx.audit.verify());
  }
}
