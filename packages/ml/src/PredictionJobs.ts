import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { join } from 'node:path';
import {
  Catalog,
  newBatchId,
  prepareMaskNaming,
  silentLogger,
} from '@lpacs/lake';
import type { Logger } from '@lpacs/lake';
import { decodeFrame } from '@lpacs/pixels';
import { alreadyPredicted } from './alreadyPredicted';
import { checkSelected } from './checkSelected';
import { chunkEnd, groupBySeries, nextChunkSize } from './chunkInputs';
import { JobStore } from './JobStore';
import { isErasedInput } from './jobTypes';
import type { JobInput, JobSelection, JobState } from './jobTypes';
import { LakePredictionSink } from './LakePredictionSink';
import type { PredictionSink } from './LakePredictionSink';
import { MlError, MlErrorCode } from './MlError';
import { ModelRegistry } from './ModelRegistry';
import { OnnxModel } from './OnnxModel';
import { FramePrep } from './FramePrep';
import { InFlightLimit } from './InFlightLimit';
import { frameWorkHere } from './FrameWork';
import { predictChunk } from './predictChunk';
import type { ChunkResult } from './predictChunk';
import { predictVolumes } from './predictVolumes';
import { readInputObject } from './readInputObject';
import { selectInputs } from './selectInputs';
import type { FrameDecoder, RegisteredModel, SessionOptions } from './types';

/**
 * Checks that a stored model.onnx still has the SHA-256 it is stored
 * under: predictions carry that hash as the model's identity, so a file
 * replaced or damaged in the lake must not predict under it.
 * @throws MlError MODEL_INVALID naming both digests.
 */
async function verifyStored(model: RegisteredModel): Promise<void> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(join(model.dir, 'model.onnx')))
    hash.update(chunk as Buffer);
  const found = hash.digest('hex');
  if (found !== model.sha256)
    throw new MlError(
      MlErrorCode.ModelInvalid,
      `the lake's model.onnx of ${model.manifest.name} ${model.manifest.version} has SHA-256 ${found}, not ${model.sha256} it was stored under: it was changed after lpacs models add (add the model again)`,
    );
}

/** Failures kept in a job's state; the count goes on past it. */
const MAX_FAILURES = 1000;

/** How chunks are sized without PredictionJobsOptions.commitEvery. */
const CHUNKS = {
  min: 64,
  seconds: 5,
  maxInputs: 4096,
  maxMaskBytes: 64 << 20,
};

/** How prediction jobs run. */
export interface PredictionJobsOptions {
  /** The lake directory. */
  lakeRoot: string;
  /**
   * Decodes a frame on the main thread (tests inject failures this way).
   * Without it, frames are decoded (`@lpacs/pixels`) and preprocessed in a
   * worker thread niced like the sessions, so a job beside an API leaves
   * its event loop to the requests.
   */
  decodeFrame?: FrameDecoder;
  logger?: Logger;
  /** onnxruntime settings for every model's session pool. */
  session?: SessionOptions;
  /** Where rows go; default a LakePredictionSink on lakeRoot. */
  sink?: PredictionSink;
  /**
   * Inputs per lake commit (and per progress save): a killed job resumes
   * after its last commit. Given, every chunk has that many; by default
   * at least 64 and as many as the model predicts in about 5 s (see
   * nextChunkSize). Either way a job's last batch is committed on its own
   * (see chunkEnd).
   */
  commitEvery?: number;
  /**
   * Also write segmentation masks as DICOM SEG objects beside their .npy
   * (default true): one per single-frame image, one per multi-frame image
   * over its predicted frames, one per series for a stacking model over
   * the slices it stacked.
   */
  dicomSeg?: boolean;
  /** Called after every commit with the job's new state. */
  onProgress?: (job: JobState) => void;
}

/** A chunk being predicted. */
interface StartedChunk {
  /** Its inputs left in the lake. */
  chunk: JobInput[];
  /** Inputs an erasure redacted in the job's list (see ErasedInput). */
  erased: number;
  /** Inputs not skipped. */
  todo: number;
  /** Settles once the chunk's last batch is sent. */
  sent: Promise<void>;
  result: Promise<ChunkResult>;
  /** performance.now() at its start. */
  startedAt: number;
}

function terminal(job: JobState): boolean {
  return (
    job.phase === 'done' || job.phase === 'cancelled' || job.phase === 'failed'
  );
}

/** Why a running job's controller was aborted. */
const CANCEL = 'cancel';
/** Its process stops (close, interrupt): the job is resumable. */
const SHUTDOWN = 'shutdown';

/** Whether a run stops here: the job ended, or was interrupted. */
function stopped(job: JobState): boolean {
  return terminal(job) || job.phase === 'interrupted';
}

/**
 * Runs models over lake instances as persisted jobs: create one from a
 * selection, run or resume it (it goes on after the last committed chunk),
 * watch its progress, cancel it from this or another process. Inputs the
 * same model (by SHA-256) has already predicted are skipped. Keeps one
 * session pool per model while jobs use it.
 */
export class PredictionJobs {
  readonly #options: PredictionJobsOptions;
  readonly #logger: Logger;
  readonly #store: JobStore;
  readonly #registry: ModelRegistry;
  readonly #sink: PredictionSink;
  readonly #models = new Map<string, Promise<OnnxModel>>();
  #prep: FramePrep | undefined;
  #lakeCatalog: Promise<Catalog> | undefined;
  readonly #running = new Map<
    string,
    { controller: AbortController; done: Promise<JobState> }
  >();

  constructor(options: PredictionJobsOptions) {
    this.#options = options;
    this.#logger = options.logger ?? silentLogger;
    this.#store = new JobStore(options.lakeRoot);
    this.#registry = new ModelRegistry(options.lakeRoot, this.#logger);
    this.#sink =
      options.sink ?? new LakePredictionSink(options.lakeRoot, this.#logger);
  }

  /** The lake's model registry. */
  get registry(): ModelRegistry {
    return this.#registry;
  }

  /**
   * Creates a queued job: resolves the model (name or SHA-256) and the
   * selection's images now, so the job's inputs never change.
   * @param options - `owner`: who starts it (a user name, or
   * `cli:<login>`), kept in the job's state.
   * @throws MlError MODEL_NOT_FOUND, or BAD_SELECTION when the selection
   * is malformed, selects nothing, or lists a series with no image.
   */
  async create(
    model: string,
    selection: JobSelection,
    options: { owner?: string } = {},
  ): Promise<JobState> {
    const registered = await this.#registry.get(model);
    const inputs = await selectInputs(await this.#catalog(), selection);
    checkSelected(selection, inputs);
    const now = new Date().toISOString();
    const job: JobState = {
      id: newBatchId(),
      ...(options.owner === undefined ? {} : { owner: options.owner }),
      phase: 'queued',
      model: {
        name: registered.manifest.name,
        version: registered.manifest.version,
        sha256: registered.sha256,
      },
      selection,
      createdAt: now,
      updatedAt: now,
      progress: {
        total: inputs.length,
        done: 0,
        predicted: 0,
        skipped: 0,
        failed: 0,
      },
      failures: [],
    };
    await this.#store.create(job, inputs);
    this.#logger.info(
      { job: job.id, model: registered.manifest.name, inputs: inputs.length },
      'ml.jobs created',
    );
    return job;
  }

  /** Creates a job (see create) and runs it in the background. */
  async start(
    model: string,
    selection: JobSelection,
    options: { owner?: string } = {},
  ): Promise<JobState> {
    const job = await this.create(model, selection, options);
    this.#background(job.id);
    return job;
  }

  /**
   * Opens a model's sessions (its SHA-256 checked first), the frame worker
   * and the catalog ahead of a job, as a job would on its start; a job
   * then reuses them. Benchmarks call it to keep session creation out of
   * a job's time.
   * @param model - name or SHA-256.
   * @throws MlError MODEL_NOT_FOUND, MODEL_INVALID.
   */
  async warm(model: string): Promise<void> {
    const registered = await this.#registry.get(model);
    if (!this.#options.decodeFrame) this.#framePrep();
    await Promise.all([this.#model(registered), this.#catalog()]);
  }

  /** A job's state. @throws MlError JOB_NOT_FOUND. */
  get(id: string): Promise<JobState> {
    return this.#store.get(id);
  }

  /** Every job, newest first. */
  list(): Promise<JobState[]> {
    return this.#store.list();
  }

  /** Resumes, in the background, jobs a stopped process left unfinished. */
  async resumeUnfinished(): Promise<string[]> {
    const ids = (await this.#store.list())
      .filter((j) => !terminal(j) && !this.#running.has(j.id))
      .map((j) => j.id);
    for (const id of ids) this.#background(id);
    return ids;
  }

  /** Runs a job without waiting; a failure is in its state and the log. */
  #background(id: string): void {
    this.run(id).catch((err: unknown) =>
      this.#logger.error(
        { job: id, error: (err as Error).message },
        'ml.jobs could not run',
      ),
    );
  }

  /**
   * Cancels a job, for good: a running one stops after the batches under
   * way (the chunk being committed is kept, the one being predicted is
   * not); one not running here (queued, interrupted, or running in
   * another process) is marked cancelled on disk, which a runner in
   * another process sees before its next chunk.
   */
  async cancel(id: string): Promise<JobState> {
    const here = this.#running.get(id);
    if (here) {
      here.controller.abort(CANCEL);
      return here.done;
    }
    const job = await this.#store.get(id);
    if (terminal(job)) return job;
    const now = new Date().toISOString();
    const cancelled: JobState = {
      ...job,
      phase: 'cancelled',
      updatedAt: now,
      finishedAt: now,
    };
    await this.#store.save(cancelled);
    return cancelled;
  }

  /**
   * Interrupts a job running here, as close does: it stops like a cancel
   * but is left `interrupted`, to be resumed (resumeUnfinished, run).
   * @returns its state once stopped; a job not running here as it is.
   */
  async interrupt(id: string): Promise<JobState> {
    const here = this.#running.get(id);
    if (!here) return this.#store.get(id);
    here.controller.abort(SHUTDOWN);
    return here.done;
  }

  /**
   * Runs (or resumes) a job to its end in this process and returns its
   * final state; a job failure is in the state, not thrown.
   * @throws MlError JOB_NOT_FOUND.
   */
  run(id: string): Promise<JobState> {
    const here = this.#running.get(id);
    if (here) return here.done;
    const controller = new AbortController();
    const done = this.#run(id, controller.signal).finally(() =>
      this.#running.delete(id),
    );
    this.#running.set(id, { controller, done });
    return done;
  }

  async #run(id: string, signal: AbortSignal): Promise<JobState> {
    let job = await this.#store.get(id);
    if (terminal(job)) return job;
    const root = this.#options.lakeRoot;
    const fixed = this.#options.commitEvery;
    let every = Math.max(1, fixed ?? CHUNKS.min);
    try {
      const registered = await this.#registry.get(job.model.sha256);
      // A stacking model's unit is a series: chunks end on a series
      // boundary and skips go by series.
      const stacked = registered.manifest.preprocessing.stack !== undefined;
      const unit = (i: JobInput) =>
        stacked ? i.SeriesInstanceUID : i.SOPInstanceUID;
      // The frame worker (reading objects, decoding, preprocessing, turning
      // outputs into rows and masks) starts while the sessions open and
      // the lake is read, rather than at the first frame.
      const prep =
        stacked || this.#options.decodeFrame ? undefined : this.#framePrep();
      const [model, inputs, seen, names] = await Promise.all([
        this.#model(registered),
        this.#store.inputs(id),
        this.#catalog().then((c) =>
          alreadyPredicted(c, registered.sha256, stacked),
        ),
        // Keyed mask names in an encrypted lake, its old names renamed.
        prepareMaskNaming(root),
      ]);
      const inference0 = model.inferenceSeconds;
      job = await this.#save({ ...job, phase: 'running' });
      const read = (key: string) => readInputObject(root, key);
      const decode = this.#options.decodeFrame ?? decodeFrame;
      const pre = model.manifest.preprocessing;
      const frames = prep
        ? prep.frameWork(root, pre, model.channels)
        : frameWorkHere(read, decode, pre, model.channels);
      // Shared by the chunks, so the next chunk's first batch is sent
      // while this one's last batches run.
      const slots = new InFlightLimit(model.capacity);
      let cursor = job.progress.done;
      const begin = (): StartedChunk => {
        const startedAt = performance.now();
        const end = chunkEnd(inputs, cursor, every, stacked, model.maxBatch);
        const all = inputs.slice(cursor, end);
        cursor = end;
        // An erasure since the job was created took their identifiers.
        const chunk = all.filter((i): i is JobInput => !isErasedInput(i));
        const erased = all.length - chunk.length;
        const todo = chunk.filter((i) => !seen.has(unit(i)));
        let onSent = () => {};
        const sent = new Promise<void>((r) => (onSent = r));
        const result = stacked
          ? predictVolumes(
              registered,
              model,
              id,
              groupBySeries(todo),
              read,
              decode,
              names,
              this.#options.dicomSeg ?? true,
              signal,
            )
          : predictChunk(
              registered,
              model,
              id,
              todo,
              frames,
              names,
              this.#options.dicomSeg ?? true,
              { slots, onSent, signal },
            );
        result.then(onSent, onSent);
        // Awaited in turn; until then its failure must not count as
        // unhandled.
        result.catch(() => undefined);
        return { chunk, erased, todo: todo.length, sent, result, startedAt };
      };
      const stopping = async () =>
        signal.aborted || (await this.#cancelledElsewhere(id));
      // Chunk k's masks, commit and state save run while chunk k+1 is
      // predicted, and chunk k+1 starts once chunk k's last batch is sent,
      // so onnxruntime is not left idle at a chunk's end. Chunk k+1 is
      // persisted only after chunk k, so what is committed is never ahead
      // of the saved progress by more than one chunk; its rows are dropped
      // if the job was cancelled or interrupted meanwhile. An abort stops
      // the chunk being predicted between batches (its rows dropped, so
      // the job's progress stays a cursor over its inputs), and the chunk
      // being committed is committed with its progress.
      let persisting: Promise<JobState> | undefined;
      let next: StartedChunk | undefined;
      try {
        if (cursor < inputs.length && !(await stopping())) next = begin();
        while (next) {
          const current = next;
          next = undefined;
          await current.sent;
          if (cursor < inputs.length && !(await stopping())) next = begin();
          const r = await current.result;
          if (fixed === undefined)
            every = nextChunkSize(
              {
                inputs: current.chunk.length + current.erased,
                seconds: (performance.now() - current.startedAt) / 1000,
                maskBytes: r.masks.reduce((n, m) => n + m.bytes.length, 0),
              },
              { ...CHUNKS, batch: model.maxBatch },
            );
          if (persisting) job = await persisting;
          persisting = undefined;
          if (stopped(job)) return job;
          if (await stopping()) return await this.#stop(job, signal);
          persisting = this.#persist(id, job, current, r, signal);
          persisting.catch(() => undefined);
        }
        if (persisting) job = await persisting;
        persisting = undefined;
        if (stopped(job)) return job;
        if (job.progress.done < inputs.length)
          return await this.#stop(job, signal);
        return await this.#finish(
          job,
          'done',
          model.inferenceSeconds - inference0,
        );
      } finally {
        // A chunk started before the job stopped runs out, its rows
        // dropped, before the model serves another job.
        await next?.result.catch(() => undefined);
        // A chunk that failed while the one before was persisting: that
        // one settles first, so the failed state below has its progress.
        if (persisting) job = await persisting.catch(() => job);
      }
    } catch (err) {
      this.#logger.error(
        { job: id, error: (err as Error).message },
        'ml.jobs failed',
      );
      const now = new Date().toISOString();
      const failed: JobState = {
        ...job,
        phase: 'failed',
        updatedAt: now,
        finishedAt: now,
        error: (err as Error).message,
      };
      await this.#store.save(failed);
      return failed;
    }
  }

  /**
   * Writes a predicted chunk's masks, commits its rows and saves the job's
   * progress; a cancel that came meanwhile ends the job, keeping the rows.
   * Inputs erased from the lake since the job selected them get neither
   * (see keepPresent): they count as failed, as do those an erasure
   * redacted in the job's list before the chunk began.
   */
  async #persist(
    id: string,
    job: JobState,
    { chunk, erased: redacted, todo }: StartedChunk,
    r: ChunkResult,
    signal: AbortSignal,
  ): Promise<JobState> {
    const erased = new Set((await this.#sink.commit(r.rows, r.masks)) ?? []);
    // An input is gone with its instance, or (a stacking model's) series.
    const byUid = new Map(chunk.map((i) => [i.SOPInstanceUID, i]));
    const predicted = r.predicted.filter((uid) => {
      const input = byUid.get(uid);
      return !(
        erased.has(uid) ||
        (input !== undefined && erased.has(input.SeriesInstanceUID))
      );
    });
    const lost = r.predicted.length - predicted.length + redacted;
    const p = job.progress;
    const next: JobState = {
      ...job,
      progress: {
        total: p.total,
        done: p.done + chunk.length + redacted,
        predicted: p.predicted + predicted.length,
        skipped: p.skipped + chunk.length - todo,
        failed: p.failed + todo - predicted.length + redacted,
      },
      failures: [
        ...job.failures,
        ...r.failures,
        // Counted, not named: the instances are erased.
        ...(lost
          ? [
              {
                code: MlErrorCode.InputErased,
                ...(lost === 1 ? {} : { instances: lost }),
                message: `${lost} input${lost === 1 ? ' was' : 's were'} erased from the lake since the job selected them; no prediction or mask of ${lost === 1 ? 'it' : 'them'} was kept`,
              },
            ]
          : []),
      ].slice(0, MAX_FAILURES),
    };
    // Checked again after the commit, so a cancel written meanwhile by
    // another process is not overwritten with "running".
    if (signal.aborted || (await this.#cancelledElsewhere(id)))
      return this.#stop(next, signal);
    return this.#save(next);
  }

  async #save(job: JobState): Promise<JobState> {
    const next = { ...job, updatedAt: new Date().toISOString() } as JobState;
    await this.#store.save(next);
    this.#options.onProgress?.(next);
    return next;
  }

  /**
   * Ends a job; `inferenceSeconds` (the model's sessions' busy time during
   * the run, logged; other jobs on the same model meanwhile count too)
   * tells how much of a job's time onnxruntime had work.
   */
  async #finish(
    job: JobState,
    phase: 'done' | 'cancelled',
    inferenceSeconds?: number,
  ): Promise<JobState> {
    const now = new Date().toISOString();
    const out: JobState = { ...job, phase, updatedAt: now, finishedAt: now };
    await this.#store.save(out);
    this.#options.onProgress?.(out);
    this.#logger.info(
      { job: job.id, phase, ...job.progress, inferenceSeconds },
      'ml.jobs ended',
    );
    return out;
  }

  /**
   * Ends a run that was told to stop: `interrupted` (resumable) when its
   * process is stopping and no cancel was written meanwhile, else
   * `cancelled`.
   */
  async #stop(job: JobState, signal: AbortSignal): Promise<JobState> {
    if (
      !(signal.aborted && signal.reason === SHUTDOWN) ||
      (await this.#cancelledElsewhere(job.id))
    )
      return this.#finish(job, 'cancelled');
    const out: JobState = {
      ...job,
      phase: 'interrupted',
      updatedAt: new Date().toISOString(),
    };
    await this.#store.save(out);
    this.#options.onProgress?.(out);
    this.#logger.info(
      { job: job.id, phase: out.phase, ...job.progress },
      'ml.jobs interrupted: its process is stopping; it resumes after its last commit',
    );
    return out;
  }

  async #cancelledElsewhere(id: string): Promise<boolean> {
    return (await this.#store.get(id)).phase === 'cancelled';
  }

  #model(registered: RegisteredModel): Promise<OnnxModel> {
    let model = this.#models.get(registered.sha256);
    if (!model) {
      model = verifyStored(registered).then(() =>
        OnnxModel.open(
          registered.dir,
          registered.manifest,
          this.#options.session,
          this.#logger,
        ),
      );
      model.catch(() => this.#models.delete(registered.sha256));
      this.#models.set(registered.sha256, model);
    }
    return model;
  }

  /**
   * The lake's catalog for selections and skips, opened on first use and
   * kept: opening one took longer than a job's first batch of frames. It
   * looks at the tables at every query (recheckMs 0), so it sees what other
   * processes committed just before.
   */
  #catalog(): Promise<Catalog> {
    if (!this.#lakeCatalog) {
      const opening = Catalog.open(this.#options.lakeRoot, {
        threads: 1,
        connections: 1,
        recheckMs: 0,
      });
      opening.catch(() => {
        if (this.#lakeCatalog === opening) this.#lakeCatalog = undefined;
      });
      this.#lakeCatalog = opening;
    }
    return this.#lakeCatalog;
  }

  /** The frame worker, started on first use. */
  #framePrep(): FramePrep {
    this.#prep ??= new FramePrep(1, this.#options.session?.niceness ?? 10);
    return this.#prep;
  }

  /**
   * Interrupts running jobs (see interrupt: they stop after the batches
   * under way, resumable) and releases sessions.
   */
  async close(): Promise<void> {
    for (const { controller } of this.#running.values())
      controller.abort(SHUTDOWN);
    await Promise.allSettled([...this.#running.values()].map((r) => r.done));
    await this.#prep?.close();
    this.#prep = undefined;
    const catalog = this.#lakeCatalog;
    this.#lakeCatalog = undefined;
    await catalog?.then((c) => c.close()).catch(() => undefined);
    const models = [...this.#models.values()];
    this.#models.clear();
    for (const m of await Promise.allSettled(models))
      if (m.status === 'fulfilled') await m.value.close();
  }
}
