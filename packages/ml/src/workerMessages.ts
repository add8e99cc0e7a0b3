import type { InferenceSession } from 'onnxruntime-node';
import type { TensorSignature } from './checkModelSignature';

/** What a session worker starts with. */
export interface WorkerStart {
  path: string;
  options: InferenceSession.SessionOptions;
  /** Nice increment for the session's threads (see SessionOptions). */
  niceness: number;
}

/** A request to a session worker. */
export type WorkerRequest =
  | {
      kind: 'run';
      id: number;
      input: string;
      output: string;
      data: Float32Array;
      dims: number[];
    }
  | { kind: 'close' };

/** A session worker's reply. */
export type WorkerReply =
  | {
      kind: 'ready';
      inputs: TensorSignature[];
      outputs: TensorSignature[];
    }
  | { kind: 'failed'; message: string }
  | {
      kind: 'result';
      id: number;
      data: Float32Array;
      dims: number[];
      /** When the session started and ended the run (epoch ms). */
      startedAt: number;
      endedAt: number;
    }
  | { kind: 'error'; id: number; message: string };
