import { AccessError, AccessErrorCode, authorize } from '@lpacs/access';
import type { Action, AuditLog, Principal } from '@lpacs/access';
import type { Logger } from '@lpacs/lake';

/**
 * One request's door: every resolver and route asks it before acting.
 * It applies the one policy (authorize) and writes the audit trail: each
 * action a request performs once, and every refusal.
 */
export class Gate {
  readonly principal: Principal | undefined;
  readonly #audit: AuditLog;
  readonly #logger: Logger;
  readonly #recorded = new Set<string>();

  constructor(
    principal: Principal | undefined,
    audit: AuditLog,
    logger: Logger,
  ) {
    this.principal = principal;
    this.#audit = audit;
    this.#logger = logger;
  }

  /**
   * The caller, when allowed to perform `action` (on `target`).
   * @throws AccessError UNAUTHENTICATED or FORBIDDEN (and audits it).
   */
  async allow(action: Action, target?: string): Promise<Principal> {
    try {
      const who = authorize(this.principal, action);
      await this.record(action, 'ok', target);
      return who;
    } catch (err) {
      await this.record(action, 'denied', target);
      throw err;
    }
  }

  /**
   * The caller, when signed in at all (for what every role may see).
   * @throws AccessError UNAUTHENTICATED (and audits it).
   */
  async signedIn(what: string): Promise<Principal> {
    if (this.principal) return this.principal;
    await this.record(what, 'denied');
    throw new AccessError(AccessErrorCode.Unauthenticated, 'sign in first');
  }

  /** Appends an audit entry, once per action, target and outcome a request. */
  async record(
    action: string,
    outcome: 'ok' | 'denied' | 'failed',
    target?: string,
    detail?: Record<string, string | number | boolean>,
  ): Promise<void> {
    const key = `${action}\0${target ?? ''}\0${outcome}`;
    if (this.#recorded.has(key) && !detail) return;
    this.#recorded.add(key);
    try {
      await this.#audit.append({
        actor: this.principal?.name ?? 'anonymous',
        ...(this.principal ? { role: this.principal.role } : {}),
        action,
        ...(target ? { target } : {}),
        outcome,
        ...(detail ? { detail } : {}),
      });
    } catch (err) {
      // An action that cannot be audited must not happen.
      this.#logger.error({ err: String(err) }, 'audit append failed');
      throw err;
    }
  }
}
