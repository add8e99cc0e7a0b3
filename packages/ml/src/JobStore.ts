import { readdir, rm } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { LakeLayout, readObject, writeLakeFile } from '@lpacs/lake';
import { forgetErasedInJob } from './forgetErased';
import type { ErasedIdentifiers } from './forgetErased';
import type { JobInput, JobState, StoredInput } from './jobTypes';
import { MlError, MlErrorCode } from './MlError';

const ID = /^[0-9A-Za-z-]{1,64}$/;

/** A finished job's state for an inputs file no state was written for. */
function orphanState(id: string): JobState {
  const at = new Date(0).toISOString();
  return {
    id,
    phase: 'cancelled',
    model: { name: '', version: '', sha256: '' },
    selection: {},
    createdAt: at,
    updatedAt: at,
    finishedAt: at,
    progress: { total: 0, done: 0, predicted: 0, skipped: 0, failed: 0 },
    failures: [],
  };
}

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
    await this.#saveInputs(state.id, inputs);
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

  /**
   * A job's inputs, in the order it runs them; an erasure since its
   * creation left an ErasedInput in place of each erased one.
   */
  async inputs(id: string): Promise<StoredInput[]> {
    this.#check(id);
    return JSON.parse(
      (
        await readObject(
          this.#layout.root,
          this.#key(this.#layout.jobInputs(id)),
        )
      ).toString('utf8'),
    ) as StoredInput[];
  }

  /** Writes a job's inputs, or replaces them (atomically). */
  async #saveInputs(id: string, inputs: readonly StoredInput[]): Promise<void> {
    await writeLakeFile(
      this.#layout.root,
      this.#key(this.#layout.jobInputs(id)),
      JSON.stringify(inputs),
    );
  }

  /**
   * Takes the erased instances out of every job file (see
   * forgetErasedInJob): inputs first, then the state, so a process killed
   * in between leaves what a rerun finishes. An inputs file with no state
   * (a creation killed between the two) loses the erased inputs; partial
   * files a killed writer left (`.tmp-…`) are deleted. Run with the lake
   * held alone (an erasure), so no job is writing its files meanwhile.
   * @returns the jobs changed and the inputs removed or redacted.
   */
  async forgetErased(
    erased: ErasedIdentifiers,
  ): Promise<{ jobs: number; inputs: number }> {
    let names: string[];
    try {
      names = await readdir(this.#layout.jobs);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT')
        return { jobs: 0, inputs: 0 };
      throw err;
    }
    const out = { jobs: 0, inputs: 0 };
    const ids = new Set<string>();
    for (const name of names) {
      if (name.startsWith('.tmp-'))
        await rm(join(this.#layout.jobs, name), { force: true });
      else if (name.endsWith('.inputs.json')) ids.add(name.slice(0, -12));
      else if (name.endsWith('.json')) ids.add(name.slice(0, -5));
    }
    for (const id of [...ids].sort()) {
      if (!ID.test(id)) continue;
      const inputs = names.includes(`${id}.inputs.json`)
        ? await this.inputs(id)
        : [];
      if (!names.includes(`${id}.json`)) {
        // Never a job anyone could run or see: its erased inputs go.
        const left = forgetErasedInJob(orphanState(id), inputs, erased);
        if (left.inputsForgotten) {
          await this.#saveInputs(id, left.inputs);
          out.jobs++;
          out.inputs += left.inputsForgotten;
        }
        continue;
      }
      const left = forgetErasedInJob(await this.get(id), inputs, erased);
      if (!left.inputsForgotten && !left.otherForgotten) continue;
      if (left.inputsForgotten) await this.#saveInputs(id, left.inputs);
      await this.save(left.state);
      out.jobs++;
      out.inputs += left.inputsForgotten;
    }
    return out;
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
