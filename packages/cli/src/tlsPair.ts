import { createSecureContext } from 'node:tls';

/** A certificate or key option: its flag, its path, and the bytes read. */
interface PemOption {
  flag: string;
  path: string;
  pem: Buffer;
}

/** OpenSSL's code for a failure, or its message. */
function codeOf(err: unknown): string {
  const e = err as { code?: unknown; message?: unknown };
  return typeof e.code === 'string' ? e.code : String(e.message);
}

/**
 * Checks, before anything listens, that a certificate and key given on
 * the command line load and belong together, and says which file is at
 * fault: OpenSSL's own errors (ERR_OSSL_PEM_NO_START_LINE,
 * ERR_OSSL_X509_KEY_VALUES_MISMATCH) name neither.
 * @throws Error naming the flags and files
 */
export function checkTlsPair(cert: PemOption, key: PemOption): void {
  try {
    createSecureContext({ cert: cert.pem });
  } catch (err) {
    throw new Error(
      `${cert.flag} ${cert.path} is not a PEM certificate (${codeOf(err)})${/PRIVATE KEY-----/.test(cert.pem.toString('latin1')) ? `: it holds a private key; are ${cert.flag} and ${key.flag} swapped?` : ''}`,
    );
  }
  try {
    createSecureContext({ key: key.pem });
  } catch (err) {
    throw new Error(
      `${key.flag} ${key.path} is not a PEM private key (${codeOf(err)})${/BEGIN CERTIFICATE-----/.test(key.pem.toString('latin1')) ? `: it holds a certificate; are ${cert.flag} and ${key.flag} swapped?` : ''}`,
    );
  }
  try {
    createSecureContext({ cert: cert.pem, key: key.pem });
  } catch (err) {
    throw new Error(
      `${key.flag} ${key.path} is not the private key of the certificate in ${cert.flag} ${cert.path} (${codeOf(err)})`,
    );
  }
}
