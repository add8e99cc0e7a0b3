import { AccessError, AccessErrorCode, authorize } from '@lpacs/access';
import type { Action, AuditLog, Principal } from '@lpacs/access';
import type { Logger } from '@lpacs/lake';

type Detail = Record<string, string | number | boolean>;

/** An action authorised for a GraphQL field, whose entry waits for its outcome. */
interface Pending {
  action: string;
  target?: string;
  detail?: Detail;
  /** Response paths of the fields that asked for it, e.g. `saveCohort`. */
  paths: string[][];
}

/**
 * One request's door: every resolver and route asks it before acting.
 * It applies the one policy (authorize) and writes the audit trail: each
 * action a request performs once, and every refusal. An action a GraphQL
 * field was allowed is written when the response is, as `ok` or, when
 * that field failed, `failed` with the error's code: one entry per action,
 * carrying what its resolver added (see record).
 */
export class Gate {
  readonly principal: Principal | undefined;
  readonly #audit: AuditLog;
  readonly #logger: Logger;
  readonly #recorded = new Set<string>();
  readonly #pending: Pending[] = [];

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
   * The caller, when allowed to perform `action` (on `target`). With the
   * response `path` of a GraphQL field, the `ok` entry waits for settle.
   * `refused` names what a refusal was about when `target` does not (the
   * share id a caller of the wrong role tried to decide).
   * @throws AccessError UNAUTHENTICATED or FORBIDDEN (and audits it).
   */
  async allow(
    action: Action,
    target?: string,
    path?: ReadonlyArray<string | number>,
    refused?: string,
  ): Promise<Principal> {
    let who: Principal;
    try {
      who = authorize(this.principal, action);
    } catch (err) {
      await this.record(action, 'denied', target ?? refused);
      throw err;
    }
    if (!path) {
      await this.record(action, 'ok', target);
      return who;
    }
    const field = path.map(String);
    const same = this.#pending.find(
      (p) => p.action === action && p.target === target,
    );
    if (same) same.paths.push(field);
    else this.#pending.push({ action, target, paths: [field] });
    return who;
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

  /**
   * Appends an audit entry, once per action, target and outcome a request.
   * An `ok` for an action still waiting for its outcome is merged into
   * that entry instead (its target and detail), so a mutation leaves one
   * entry that says what it did.
   */
  async record(
    action: string,
    outcome: 'ok' | 'denied' | 'failed',
    target?: string,
    detail?: Detail,
  ): Promise<void> {
    if (outcome === 'ok') {
      const waiting = this.#pending.find(
        (p) =>
          p.action === action &&
          (p.target === undefined || p.target === target),
      );
      if (waiting) {
        waiting.target = target ?? waiting.target;
        if (detail) waiting.detail = { ...waiting.detail, ...detail };
        return;
      }
    }
    const key = `${action}\0${target ?? ''}\0${outcome}`;
    if (this.#recorded.has(key) && !detail) return;
    this.#recorded.add(key);
    await this.#append(action, outcome, target, detail);
  }

  /**
   * Drops the entries waiting under `path` without writing them (a read
   * the route has already put on record, see dicomWebAudit).
   */
  discard(path: ReadonlyArray<string>): void {
    for (let i = this.#pending.length - 1; i >= 0; i--) {
      const p = this.#pending[i]!;
      if (p.paths.some((f) => f.join('\0') === path.join('\0')))
        this.#pending.splice(i, 1);
    }
  }

  /**
   * Writes the entries waiting for their outcome: `failed` (with the
   * error's code) for an action whose field, or a field below it, is in
   * `errors`, or the error's own `outcome` (`denied` for a route that
   * answered as if a thing the caller may not see were not there); `ok`
   * otherwise.
   */
  async settle(
    errors: ReadonlyArray<{
      path?: ReadonlyArray<string | number>;
      code?: string;
      outcome?: 'denied' | 'failed';
    }> = [],
  ): Promise<void> {
    const pending = this.#pending.splice(0);
    for (const p of pending) {
      const error = errors.find(
        (e) =>
          e.path !== undefined &&
          p.paths.some((field) =>
            field.every((part, i) => String(e.path![i]) === part),
          ),
      );
      const detail = error
        ? { ...p.detail, error: error.code ?? 'ERROR' }
        : p.detail;
      await this.#append(
        p.action,
        error ? (error.outcome ?? 'failed') : 'ok',
        p.target,
        detail,
      );
    }
  }

  async #append(
    action: string,
    outcome: 'ok' | 'denied' | 'failed',
    target: string | undefined,
    detail: Detail | undefined,
  ): Promise<void> {
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
