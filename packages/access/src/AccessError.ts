/** Why an access operation failed; the API maps these to GraphQL codes. */
export enum AccessErrorCode {
  /** No valid credentials: missing, unknown, expired or revoked. */
  Unauthenticated = 'UNAUTHENTICATED',
  /** Valid credentials whose role or scope does not allow the action. */
  Forbidden = 'FORBIDDEN',
  /** A bad argument: an unknown role, a taken name, a weak password. */
  BadInput = 'BAD_USER_INPUT',
  NotFound = 'NOT_FOUND',
  /** The audit log does not verify: an entry was edited or removed. */
  AuditBroken = 'AUDIT_BROKEN',
}

export class AccessError extends Error {
  override readonly name = 'AccessError';
  constructor(
    readonly code: AccessErrorCode,
    message: string,
  ) {
    super(message);
  }
}
