import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { join } from 'node:path';
import type { Action } from './Action';
import { AccessError, AccessErrorCode } from './AccessError';
import { JsonDocument } from './JsonDocument';
import { hashPassword, verifyPassword } from './passwords';
import { scopeRefusal } from './permissions';
import type { Role } from './Role';
import type { IssuedToken, Principal, TokenInfo, User } from './types';

interface StoredUser extends User {
  passwordHash?: string;
}
interface StoredToken extends TokenInfo {
  /** SHA-256 of the secret: tokens are 256 random bits, so no KDF is needed. */
  secretHash: string;
}
interface Doc {
  users: StoredUser[];
  tokens: StoredToken[];
}

const NAME = /^[a-z][a-z0-9._-]{1,31}$/;
const TOKEN = /^lpat_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$/;
const DAY_MS = 86_400_000;
/** Portal sessions last a working day. */
const SESSION_HOURS = 12;

function sha256(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}

function publicUser(u: StoredUser): User {
  const { passwordHash: _hidden, ...user } = u;
  return user;
}

function publicToken(t: StoredToken): TokenInfo {
  const { secretHash: _hidden, ...info } = t;
  return info;
}

/**
 * Users and their credentials, kept in `<lake>/state/access.json` (0600).
 * Passwords are scrypt hashes; token secrets are stored only as SHA-256.
 */
export class AccessStore {
  readonly #doc: JsonDocument<Doc>;

  constructor(lakeRoot: string) {
    this.#doc = new JsonDocument<Doc>(
      lakeRoot,
      join(lakeRoot, 'state', 'access.json'),
      () => ({ users: [], tokens: [] }),
    );
  }

  users(): User[] {
    return this.#doc.read().users.map(publicUser);
  }

  user(name: string): User | undefined {
    return this.users().find((u) => u.name === name);
  }

  /** Adds a user. @throws AccessError BAD_USER_INPUT for a bad or taken name. */
  async addUser(name: string, role: Role, password?: string): Promise<User> {
    if (!NAME.test(name))
      throw new AccessError(
        AccessErrorCode.BadInput,
        `user name "${name}" must be 2-32 characters: lower-case letters, digits, . _ - (starting with a letter)`,
      );
    if (password !== undefined && password.length < 12)
      throw new AccessError(
        AccessErrorCode.BadInput,
        'a password needs at least 12 characters',
      );
    const passwordHash =
      password === undefined ? undefined : await hashPassword(password);
    return this.#doc.update((doc) => {
      if (doc.users.some((u) => u.name === name))
        throw new AccessError(
          AccessErrorCode.BadInput,
          `a user named "${name}" exists already`,
        );
      const user: StoredUser = {
        id: randomBytes(8).toString('hex'),
        name,
        role,
        createdAt: new Date().toISOString(),
        ...(passwordHash ? { passwordHash } : {}),
      };
      doc.users.push(user);
      return publicUser(user);
    });
  }

  /**
   * Sets a user's password (at least 12 characters) and, in the same
   * write, revokes every session and API token they hold: a password is
   * changed because it may be known to someone else, who may have signed
   * in or made a token with it already.
   * @returns How many live sessions and API tokens were revoked.
   */
  async setPassword(
    name: string,
    password: string,
  ): Promise<{ sessions: number; tokens: number }> {
    if (password.length < 12)
      throw new AccessError(
        AccessErrorCode.BadInput,
        'a password needs at least 12 characters',
      );
    const passwordHash = await hashPassword(password);
    const now = new Date();
    return this.#doc.update((doc) => {
      const user = doc.users.find((u) => u.name === name);
      if (!user)
        throw new AccessError(AccessErrorCode.NotFound, `no user "${name}"`);
      user.passwordHash = passwordHash;
      const revoked = { sessions: 0, tokens: 0 };
      for (const t of doc.tokens) {
        if (t.userId !== user.id || t.revokedAt) continue;
        if (Date.parse(t.expiresAt) > now.getTime())
          revoked[t.kind === 'session' ? 'sessions' : 'tokens']++;
        t.revokedAt = now.toISOString();
      }
      return revoked;
    });
  }

  /** Disables a user and revokes every credential they hold, at once. */
  async disableUser(name: string): Promise<void> {
    const now = new Date().toISOString();
    await this.#doc.update((doc) => {
      const user = doc.users.find((u) => u.name === name);
      if (!user)
        throw new AccessError(AccessErrorCode.NotFound, `no user "${name}"`);
      user.disabledAt ??= now;
      for (const t of doc.tokens) if (t.userId === user.id) t.revokedAt ??= now;
    });
  }

  /** Issues an API token (default 90 days) or a portal session. */
  async issueToken(
    userName: string,
    options: {
      kind?: 'api' | 'session';
      label?: string;
      scopes?: Action[];
      expiresInDays?: number;
    } = {},
  ): Promise<IssuedToken> {
    const kind = options.kind ?? 'api';
    const days = options.expiresInDays ?? 90;
    if (!(Number.isInteger(days) && days >= 1 && days <= 3650))
      throw new AccessError(
        AccessErrorCode.BadInput,
        `expiresInDays must be a whole number between 1 and 3650, not ${days}`,
      );
    const id = randomBytes(8).toString('hex');
    const secret = randomBytes(32).toString('base64url');
    const now = Date.now();
    const lifetime =
      kind === 'session' ? SESSION_HOURS * 3_600_000 : days * DAY_MS;
    const info = await this.#doc.update((doc) => {
      const user = doc.users.find((u) => u.name === userName);
      if (!user || user.disabledAt)
        throw new AccessError(
          AccessErrorCode.NotFound,
          `no active user "${userName}"`,
        );
      const refusal = options.scopes && scopeRefusal(user.role, options.scopes);
      if (refusal) throw new AccessError(AccessErrorCode.BadInput, refusal);
      const token: StoredToken = {
        id,
        userId: user.id,
        kind,
        label: options.label ?? kind,
        ...(options.scopes ? { scopes: options.scopes } : {}),
        createdAt: new Date(now).toISOString(),
        expiresAt: new Date(now + lifetime).toISOString(),
        secretHash: sha256(secret).toString('hex'),
      };
      doc.tokens.push(token);
      return publicToken(token);
    });
    return { info, token: `lpat_${id}_${secret}` };
  }

  tokens(userId?: string): TokenInfo[] {
    return this.#doc
      .read()
      .tokens.filter((t) => userId === undefined || t.userId === userId)
      .map(publicToken);
  }

  /** Revokes a token at once; the next request with it is refused. */
  async revokeToken(id: string): Promise<void> {
    await this.#doc.update((doc) => {
      const token = doc.tokens.find((t) => t.id === id);
      if (!token)
        throw new AccessError(AccessErrorCode.NotFound, `no token "${id}"`);
      token.revokedAt ??= new Date().toISOString();
    });
  }

  /**
   * The principal a bearer token or session cookie stands for.
   * @throws AccessError UNAUTHENTICATED, never saying which part was wrong.
   */
  authenticate(raw: string): Principal {
    const refused = new AccessError(
      AccessErrorCode.Unauthenticated,
      'the token is not valid (unknown, expired or revoked)',
    );
    const match = TOKEN.exec(raw.trim());
    if (!match) throw refused;
    const doc = this.#doc.read();
    const token = doc.tokens.find((t) => t.id === match[1]);
    if (!token) throw refused;
    const given = sha256(match[2]!);
    const stored = Buffer.from(token.secretHash, 'hex');
    if (!timingSafeEqual(given, stored)) throw refused;
    if (token.revokedAt || Date.parse(token.expiresAt) <= Date.now())
      throw refused;
    const user = doc.users.find((u) => u.id === token.userId);
    if (!user || user.disabledAt) throw refused;
    return {
      userId: user.id,
      name: user.name,
      role: user.role,
      tokenId: token.id,
      ...(token.scopes ? { scopes: token.scopes } : {}),
    };
  }

  /** Checks a password and opens a portal session. @throws UNAUTHENTICATED */
  async signIn(name: string, password: string): Promise<IssuedToken> {
    const user = this.#doc.read().users.find((u) => u.name === name);
    // Hash even for an unknown name, so timing does not reveal which names exist.
    const ok = await verifyPassword(password, user?.passwordHash ?? DUMMY_HASH);
    if (!user || !user.passwordHash || user.disabledAt || !ok)
      throw new AccessError(
        AccessErrorCode.Unauthenticated,
        'wrong user name or password',
      );
    return this.issueToken(name, { kind: 'session', label: 'portal' });
  }
}

/** A well-formed hash of a random password nobody knows. */
const DUMMY_HASH =
  'scrypt$65536$8$1$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=';
