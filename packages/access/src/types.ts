import type { Action } from './Action';
import type { Role } from './Role';

/** A local user. The password hash never leaves the store. */
export interface User {
  id: string;
  name: string;
  role: Role;
  createdAt: string;
  disabledAt?: string;
}

/** A credential: an API token, or a portal session made at sign-in. */
export interface TokenInfo {
  id: string;
  userId: string;
  kind: 'api' | 'session';
  /** What the owner called it (`notebook`, `ci`). */
  label: string;
  /** When set, the token may perform only these actions (and its role's). */
  scopes?: Action[];
  createdAt: string;
  expiresAt: string;
  revokedAt?: string;
}

/** Who is calling, as established from a token or session. */
export interface Principal {
  userId: string;
  name: string;
  role: Role;
  tokenId: string;
  scopes?: Action[];
}

/** A token as handed to its owner, once: the secret is not stored. */
export interface IssuedToken {
  info: TokenInfo;
  /** `lpat_<id>_<secret>`, sent as `Authorization: Bearer <token>`. */
  token: string;
}
