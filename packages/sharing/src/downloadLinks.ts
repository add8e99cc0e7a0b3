import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * Signed, expiring download links: the signature binds the release, the
 * user and the expiry, so a link works only as issued and only until then.
 * The key lives in the server process; a restart invalidates old links,
 * which expire within minutes anyway.
 */
export class DownloadLinks {
  readonly #key = randomBytes(32);

  #sign(release: string, user: string, expires: number): Buffer {
    return createHmac('sha256', this.#key)
      .update(`${release}\0${user}\0${expires}`)
      .digest();
  }

  /** Query string for `release` downloaded by `user`, valid `seconds`. */
  sign(
    release: string,
    user: string,
    seconds: number,
  ): { query: string; expiresAt: string } {
    const expires = Date.now() + seconds * 1000;
    const sig = this.#sign(release, user, expires).toString('base64url');
    return {
      query: `user=${encodeURIComponent(user)}&expires=${expires}&sig=${sig}`,
      expiresAt: new Date(expires).toISOString(),
    };
  }

  /** The user a link was issued to, or a reason it is not valid. */
  verify(
    release: string,
    params: URLSearchParams,
  ): { user: string } | { refused: string } {
    const user = params.get('user') ?? '';
    const expires = Number(params.get('expires'));
    const sig = Buffer.from(params.get('sig') ?? '', 'base64url');
    const want = this.#sign(release, user, expires);
    if (sig.length !== want.length || !timingSafeEqual(sig, want))
      return { refused: 'the download link is not valid' };
    if (!(expires > Date.now()))
      return { refused: 'the download link has expired' };
    return { user };
  }
}
