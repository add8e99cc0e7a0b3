import { readdir } from 'node:fs/promises';
import { relative } from 'node:path';
import { LakeLayout, readObject, writeLakeFile } from '@lpacs/lake';
import type { JobInput, JobState } from './jobTypes';
import { MlError, MlErrorCode } from './MlError';

const ID = /^[0-9A-Za-z-]{1,64}$/;

/**
 * Prediction jobs on disk: `state/jobs/<id>.json` (state and progress,
 * replaced atomically on every update) and `<id>.inputs.json` (the inputs,
 * written once, so a resumed job runs over the same list).
 */
export class JobStore {
  readonly #layout: LakeLayout;

  constructor(lakeRoot: string) {
    this.#layout = new LakeLayout(lakeRoot);
  }

  /** A job file's path relative to the lake (sealed when it is encrypted). */
  #key(path: string): string {
    return relative(this.#layout.root, path);
  }

  #check(id: string): void {
    if (!ID.test(id))
      throw new MlError(
        MlErrorCode.JobNotFound,
        `no job ${JSON.stringify(id.slice(0, 70))}`,
      );
  }

  /** Writes a new job: its inputs first, then its state. */
  async create(state: JobState, inputs: readonly JobInput[]): Promise<void> {
    this.#check(state.id);
    await writeLakeFile(
      this.#layout.root,
      this.#key(this.#layout.jobInputs(state.id)),
      JSON.stringify(inputs),
    );
    await this.save(state);
  }

  /** Replaces a job's state atomically. */
  async save(state: JobState): Promise<void> {
    await writeLakeFile(
      this.#layout.root,
      this.#key(this.#layout.job(state.id)),
      JSON.stringify(state, null, 1) + '\n',
    );
  }

  /** @throws MlError JOB_NOT_FOUND. */
  async get(id: string): Promise<JobState> {
    this.#check(id);
    try {
      return JSON.parse(
        (
          await readObject(this.#layout.root, this.#key(this.#layout.job(id)))
        ).toString('utf8'),
      ) as JobState;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT')
        throw new MlError(MlErrorCode.JobNotFound, `no job ${id}`);
      throw err;
    }
  }

  async inputs(id: string): Promise<JobInput[]> {
    this.#check(id);
    return JSON.parse(
      (
        await readObject(
          this.#layout.root,
          this.#key(this.#layout.jobInputs(id)),
        )
      ).toString('utf8'),
    ) as JobInput[];
  }

  /** Every job, newest first. */
  async list(): Promise<JobState[]> {
    let names: string[];
    try {
      names = await readdir(this.#layout.jobs);
    } catch {
      return [];
    }
    const out: JobState[] = [];
    for (const name of names) {
      if (!name.endsWith('.json') || name.endsWith('.inputs.json')) continue;
      try {
        out.push(await this.get(name.slice(0, -5)));
      } catch {
        // a job file being replaced right now: the rename is atomic, so
        // only a foreign file lands here
      }
    }
    return out.sort((a, b) => b.createdAt.localeCompare(a.createdAt));
  }
}
