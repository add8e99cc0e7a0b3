import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

/**
 * gdcmanon's de-identify mode encrypts the removed attributes for the
 * recipient in a certificate and refuses to run without one; benchmarks
 * make a throwaway self-signed one in `dir` and return its path.
 */
export function makeCertificate(dir) {
  const cert = join(dir, 'cert.pem');
  const result = spawnSync('openssl', [
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    join(dir, 'key.pem'),
    '-out',
    cert,
    '-days',
    '1',
    '-subj',
    '/CN=lpacs-bench',
  ]);
  if (result.status !== 0) throw new Error(`openssl: ${result.stderr}`);
  return cert;
}
