export { AccessError, AccessErrorCode } from './AccessError';
export { AccessStore } from './AccessStore';
export { Action, ACTIONS } from './Action';
export { AuditLog } from './AuditLog';
export type {
  AuditEntry,
  AuditEvent,
  AuditHead,
  AuditQuery,
  AuditVerified,
} from './AuditLog';
export { authorize } from './authorize';
export { JsonDocument, withFileLock } from './JsonDocument';
export {
  erasedSomething,
  lastErasure,
  lastErasureInLog,
  recordErasure,
  recordLastErasureIfUnknown,
  snapshotsBeforeLastErasure,
} from './lastErasure';
export type { ErasureMark, SnapshotsBeforeErasure } from './lastErasure';
export { hashPassword, verifyPassword } from './passwords';
export { typedTarget } from './typedTarget';
export { PERMISSIONS, roleAllows, scopeRefusal } from './permissions';
export { parseRole, Role, ROLES } from './Role';
export type { IssuedToken, Principal, TokenInfo, User } from './types';
