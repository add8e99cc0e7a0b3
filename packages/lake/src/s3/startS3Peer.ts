import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';

/** A running S3-compatible server for tests and benchmarks. */
export interface S3Peer {
  /** http://127.0.0.1:PORT */
  endpoint: string;
  /** Environment that points lpacs (and AWS tools) at it. */
  env: Record<string, string>;
  stop(): Promise<void>;
}

/**
 * Starts s3rver (a development dependency: an S3 API server that keeps
 * buckets in a local directory) in its own process on 127.0.0.1. Its
 * ListObjectsV2 continuation tokens use DES, which Node's OpenSSL 3 only
 * offers through the legacy provider, hence the flag on that process.
 * s3rver does not check SigV4 signatures; the tests check ours against
 * botocore instead.
 */
export async function startS3Peer(directory: string): Promise<S3Peer> {
  const s3rver = require.resolve('s3rver');
  const script = `
    const S3rver = require(${JSON.stringify(s3rver)});
    new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory: ${JSON.stringify(directory)} })
      .run().then(({ port }) => console.log(JSON.stringify({ port })));`;
  const child = spawn(
    process.execPath,
    ['--openssl-legacy-provider', '-e', script],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const lines = createInterface({ input: child.stdout! });
  const [first] = (await Promise.race([
    once(lines, 'line'),
    once(child, 'exit').then(([code]) => {
      throw new Error(`s3rver exited (${String(code)}) before listening`);
    }),
  ])) as [string];
  const { port } = JSON.parse(first) as { port: number };
  const endpoint = `http://127.0.0.1:${port}`;
  return {
    endpoint,
    env: {
      AWS_ENDPOINT_URL: endpoint,
      AWS_ACCESS_KEY_ID: 'S3RVER',
      AWS_SECRET_ACCESS_KEY: 'S3RVER',
      AWS_REGION: 'us-east-1',
    },
    async stop() {
      if (child.exitCode !== null) return;
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      await exited;
    },
  };
}
