import { parentPort, workerData } from 'node:worker_threads';
import { Deidentifier, SiteKeys } from '@lpacs/deid';
import { Lake } from '@lpacs/lake';
import { processFile } from './processFile';
import type { FileContext } from './processFile';
import type { WorkerRequest, WorkerResponse, WorkerSetup } from './WorkerPool';

const setup = workerData as WorkerSetup;
const keys = new SiteKeys(Buffer.from(setup.secretHex, 'hex'));
const ctx: FileContext = {
  lake: Lake.attach(setup.lakeRoot, setup.objectStaging),
  deidentifier: new Deidentifier(keys, setup.options),
  storedShaBySop: new Map(),
};

/**
 * Answers wait here until the port's queued requests are all handled, then
 * go in one message: a message per file wakes the main thread per file,
 * a context switch that costs as much as hashing the file on 2 cores.
 */
let outbox: WorkerResponse[] = [];
function answer(response: WorkerResponse): void {
  if (outbox.push(response) === 1) setImmediate(flush);
}
function flush(): void {
  const batch = outbox;
  outbox = [];
  parentPort!.postMessage(batch);
}

parentPort!.on('message', (request: WorkerRequest) => {
  if ('stored' in request) {
    ctx.storedShaBySop = new Map(request.stored);
    return;
  }
  if ('erased' in request) {
    ctx.erased = new Map(request.erased);
    return;
  }
  const input = request.input;
  if (input.bytes)
    input.bytes = Buffer.from(
      input.bytes.buffer,
      input.bytes.byteOffset,
      input.bytes.byteLength,
    );
  processFile(input, ctx).then(
    (outcome) => answer({ id: request.id, outcome }),
    (err: unknown) => {
      const message = err instanceof Error ? err.message : String(err);
      const code = (err as { code?: string }).code;
      answer({ id: request.id, fatal: code ? `${code}: ${message}` : message });
    },
  );
});
