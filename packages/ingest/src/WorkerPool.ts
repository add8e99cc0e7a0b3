import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import type { DeidOptions } from '@lpacs/deid';
import type { FileOutcome } from './processFile';
import type { InputFile } from './sources/InputFile';

/** What every worker is started with. */
export interface WorkerSetup {
  lakeRoot: string;
  /** The writer's folder for objects being written (Lake.objectStaging). */
  objectStaging: string;
  secretHex: string;
  options: DeidOptions;
}

export type WorkerRequest =
  | { id: number; input: InputFile }
  /** [SOP Instance UID, SHA-256] of every stored object, sent once first. */
  | { stored: Array<[string, string]> }
  /** [pseudonym, refusal message] of every patient erased on request. */
  | { erased: Array<[string, string]> };

export type WorkerResponse =
  { id: number; outcome: FileOutcome } | { id: number; fatal: string };

interface Pending {
  resolve: (o: FileOutcome) => void;
  reject: (e: Error) => void;
}

/** Worker threads that each process whole files; requests go to the least busy. */
export class WorkerPool {
  readonly #workers: Array<{ worker: Worker; busy: number }> = [];
  readonly #pending = new Map<number, Pending>();
  #nextId = 0;

  constructor(size: number, setup: WorkerSetup) {
    for (let i = 0; i < size; i++) {
      const worker = new Worker(join(__dirname, 'worker.js'), {
        workerData: setup,
      });
      const slot = { worker, busy: 0 };
      // A worker answers in batches (see worker.ts).
      worker.on('message', (batch: WorkerResponse[]) => {
        for (const res of batch) {
          slot.busy--;
          const p = this.#pending.get(res.id);
          this.#pending.delete(res.id);
          if (!p) continue;
          if ('fatal' in res) p.reject(new Error(res.fatal));
          else p.resolve(res.outcome);
        }
      });
      worker.on('error', (err) => {
        for (const p of this.#pending.values()) p.reject(err);
        this.#pending.clear();
      });
      this.#workers.push(slot);
    }
  }

  /** Tells every worker what the lake holds; call before the first run. */
  share(stored: Array<[string, string]>): void {
    for (const slot of this.#workers)
      slot.worker.postMessage({ stored } satisfies WorkerRequest);
  }

  /** Tells every worker whose files to refuse (see processFile). */
  shareErased(erased: Array<[string, string]>): void {
    for (const slot of this.#workers)
      slot.worker.postMessage({ erased } satisfies WorkerRequest);
  }

  get size(): number {
    return this.#workers.length;
  }

  /** Requests not yet answered. */
  get inFlight(): number {
    return this.#pending.size;
  }

  /**
   * Processes one file in the least busy worker. A Buffer that owns its
   * whole ArrayBuffer is moved, not copied, so it is empty for the caller
   * afterwards: pass a copy to keep the bytes.
   */
  run(input: InputFile): Promise<FileOutcome> {
    const slot = this.#workers.reduce((a, b) => (b.busy < a.busy ? b : a));
    const id = this.#nextId++;
    slot.busy++;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      // Small Buffers share a pooled ArrayBuffer: only whole ones are moved.
      const bytes = input.bytes;
      const own = bytes && bytes.byteLength === bytes.buffer.byteLength;
      slot.worker.postMessage(
        { id, input } satisfies WorkerRequest,
        own ? [bytes.buffer as ArrayBuffer] : [],
      );
    });
  }

  async close(): Promise<void> {
    await Promise.all(this.#workers.map((w) => w.worker.terminate()));
  }
}
