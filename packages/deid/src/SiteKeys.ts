import {
  createCipheriv,
  createDecipheriv,
  createHmac,
  randomBytes,
} from 'node:crypto';

const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

/** The shape of patientPseudonym's values: `LP` and 16 base32 characters. */
export const PATIENT_PSEUDONYM = /^LP[A-Z2-7]{16}$/;

/** The shape of accession's values: `A` and 15 base32 characters. */
export const ACCESSION_PSEUDONYM = /^A[A-Z2-7]{15}$/;

/**
 * True for a UID of the shape uid() writes: `2.25.` and the decimal of a
 * 128-bit number, without leading zeros (PS3.5 B.2).
 */
export function isKeyedUid(uid: string): boolean {
  const m = /^2\.25\.(0|[1-9]\d{0,38})$/.exec(uid);
  return m !== null && BigInt(m[1]!) < 2n ** 128n;
}

function base32(bytes: Buffer, chars: number): string {
  let out = '';
  let bits = 0;
  let acc = 0;
  for (const byte of bytes) {
    acc = (acc << 8) | byte;
    bits += 8;
    while (bits >= 5 && out.length < chars) {
      out += BASE32[(acc >>> (bits - 5)) & 31];
      bits -= 5;
    }
    acc &= (1 << bits) - 1;
  }
  return out;
}

/** PN values alike but for case, spacing and trailing separators hash alike. */
export function normalisePersonName(name: string): string {
  return name
    .split('=')[0]!
    .toUpperCase()
    .split('^')
    .map((c) => c.trim().replace(/\s+/g, ' '))
    .join('^')
    .replace(/\^+$/, '');
}

/**
 * The site secret and every keyed mapping derived from it. The same
 * secret gives the same pseudonyms, UIDs and date shifts on every run and
 * worker, which is what makes re-ingest idempotent.
 */
export class SiteKeys {
  readonly #secret: Buffer;
  /**
   * Recent results: a study's files share their study, series, frame of
   * reference and patient, so most HMACs of a file were computed for the
   * one before. Cleared when full, which keeps memory bounded.
   */
  readonly #memo = new Map<string, Buffer>();

  constructor(secret: Buffer) {
    if (secret.length < 32)
      throw new Error('site secret must be at least 32 bytes');
    this.#secret = secret;
  }

  #hmac(purpose: string, value: string): Buffer {
    const input = `${purpose}\0${value}`;
    let digest = this.#memo.get(input);
    if (!digest) {
      digest = createHmac('sha256', this.#secret).update(input).digest();
      if (this.#memo.size >= 4096) this.#memo.clear();
      this.#memo.set(input, digest);
    }
    return digest;
  }

  /** `2.25.` and the decimal of 128 keyed bits (PS3.5 B.2): at most 44 characters. */
  uid(original: string): string {
    const digest = this.#hmac('uid', original).subarray(0, 16);
    return `2.25.${BigInt(`0x${digest.toString('hex')}`).toString()}`;
  }

  /** The pseudonymous PatientID of a patient key: `LP` and 16 base32 characters. */
  patientPseudonym(patientKey: string): string {
    return `LP${base32(this.#hmac('patient', patientKey), 16)}`;
  }

  /** A keyed AccessionNumber that fits SH (16 characters). */
  accession(original: string): string {
    return `A${base32(this.#hmac('accession', original.trim()), 15)}`;
  }

  /** The AES-256 key of the linkage, derived from the secret for that one use. */
  get #linkageKey(): Buffer {
    return createHmac('sha256', this.#secret).update('linkage key v1').digest();
  }

  /**
   * Encrypts a linkage record (original identifiers and their pseudonyms)
   * with AES-256-GCM: base64 of a 12-byte IV, the ciphertext and the tag.
   */
  sealLinkage(plain: string): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.#linkageKey, iv);
    const body = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
    return Buffer.concat([iv, body, cipher.getAuthTag()]).toString('base64');
  }

  /** Decrypts what sealLinkage made. @throws on a wrong key or any change. */
  openLinkage(sealed: string): string {
    const bytes = Buffer.from(sealed, 'base64');
    const decipher = createDecipheriv(
      'aes-256-gcm',
      this.#linkageKey,
      bytes.subarray(0, 12),
    );
    decipher.setAuthTag(bytes.subarray(bytes.length - 16));
    return Buffer.concat([
      decipher.update(bytes.subarray(12, bytes.length - 16)),
      decipher.final(),
    ]).toString('utf8');
  }

  /** Days to add to every date of a patient: between -4015 and -366 (1 to 11 years back). */
  dateShiftDays(patientKey: string): number {
    const n = this.#hmac('dateshift', patientKey).readUInt32BE(0);
    return -(366 + (n % 3650));
  }
}
