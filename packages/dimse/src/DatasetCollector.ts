import { Writable } from 'node:stream';

/**
 * Collects the data set of one C-STORE as the P-DATA fragments arrive,
 * byte for byte in the negotiated transfer syntax.
 */
export class DatasetCollector extends Writable {
  readonly #chunks: Buffer[] = [];
  #size = 0;

  constructor() {
    // dcmjs-dimse awaits 'drain' whenever write() returns false, while
    // later PDUs are already being handled; a threshold no fragment
    // reaches keeps every write synchronous and in order. The memory is
    // the same either way: the whole data set is held until it is stored.
    super({ highWaterMark: 2 ** 31 });
  }

  override _write(
    chunk: Buffer,
    _encoding: BufferEncoding,
    done: (error?: Error | null) => void,
  ): void {
    this.#chunks.push(chunk);
    this.#size += chunk.length;
    done();
  }

  /** The data set received so far, as one buffer. */
  bytes(): Buffer {
    return Buffer.concat(this.#chunks, this.#size);
  }
}
