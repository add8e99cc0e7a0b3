import { readFile, stat } from 'node:fs/promises';
import { quarantineId } from '@lpacs/lake';
import type { Lake, Logger } from '@lpacs/lake';
import type { FileOutcome } from './processFile';
import type { InputFile } from './sources/InputFile';

/**
 * The quarantine entries one ingest run settles. An input whose bytes are
 * a quarantined original (the operator fixed the cause and ingested the
 * source again, or `lpacs quarantine retry` sent the original) leaves that
 * entry stale when the run ingests it, finds it already stored, records
 * it as a CONFLICT (a record of its own, pointing at the version kept),
 * or refuses it under another entry (a reason kept without the file, as
 * for an erased patient's): each file then has one entry, with its
 * current reason. A stale entry is removed once the run has committed
 * (and written its CONFLICT records), never before, so a crash leaves it
 * for the next run to settle. Only inputs whose size is some quarantined
 * original's are read and hashed; with nothing quarantined there is no
 * StaleQuarantine at all.
 */
export class StaleQuarantine {
  readonly #lake: Lake;
  readonly #logger: Logger;
  /** Original sizes by entry id. */
  readonly #sizes: ReadonlyMap<string, number>;
  readonly #anySize: ReadonlySet<number>;
  /** Entry ids by the place in the run of the inputs that matched one. */
  readonly #matched = new Map<number, string>();
  /** Settled entry ids. */
  readonly #settled = new Set<string>();
  #inputs = 0;
  #outcomes = 0;

  private constructor(
    lake: Lake,
    sizes: ReadonlyMap<string, number>,
    logger: Logger,
  ) {
    this.#lake = lake;
    this.#logger = logger;
    this.#sizes = sizes;
    this.#anySize = new Set(sizes.values());
  }

  /** Undefined when the lake holds no quarantined original. */
  static async load(
    lake: Lake,
    logger: Logger,
  ): Promise<StaleQuarantine | undefined> {
    const sizes = await lake.quarantinedSizes();
    return sizes.size ? new StaleQuarantine(lake, sizes, logger) : undefined;
  }

  /** The inputs as they come; those that are a quarantined original are noted. */
  async *watch(
    inputs: AsyncIterable<InputFile> | Iterable<InputFile>,
  ): AsyncGenerator<InputFile> {
    for await (const input of inputs) {
      const id = await this.#match(input);
      if (id) this.#matched.set(this.#inputs, id);
      this.#inputs++;
      yield input;
    }
  }

  async #match(input: InputFile): Promise<string | undefined> {
    if (input.error) return undefined;
    let bytes = input.bytes;
    try {
      if (!bytes) {
        if (!this.#anySize.has((await stat(input.path!)).size))
          return undefined;
        bytes = await readFile(input.path!);
      }
    } catch {
      return undefined; // the worker reports why the file cannot be read
    }
    if (!this.#anySize.has(bytes.length)) return undefined;
    const id = quarantineId(bytes);
    return this.#sizes.get(id) === bytes.length ? id : undefined;
  }

  /**
   * Takes the verdict on the next input, in the order `watch` gave them:
   * any verdict but a refusal recorded under the same entry (the same
   * bytes refused again, its reason rewritten) settles the entry it
   * matched. A verdict its commit revises (another writer committed the
   * instance first) is still one of these.
   */
  judged(outcome: FileOutcome): void {
    const id = this.#matched.get(this.#outcomes);
    this.#matched.delete(this.#outcomes++);
    if (!id) return;
    if (outcome.kind === 'quarantined' && outcome.entry === id) return;
    this.#settled.add(id);
  }

  /**
   * Removes the settled entries; call only once every batch of the run has
   * committed. Returns their ids. An entry that cannot be removed stays
   * listed (and is settled again by a later run): the run's data is
   * committed, so that does not fail it.
   */
  async removeSettled(): Promise<string[]> {
    const removed: string[] = [];
    for (const id of this.#settled) {
      try {
        if (await this.#lake.dropQuarantined(id)) removed.push(id);
      } catch (err) {
        this.#logger.warn(
          { entry: id, code: (err as NodeJS.ErrnoException).code },
          'could not remove a settled quarantine entry',
        );
      }
    }
    return removed;
  }
}
