import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { AuditLog } from '@lpacs/access';
import type { FileOutcome, RunHooks, Verdict } from '@lpacs/ingest';
import { cliActor } from './cliActor';

/**
 * What became of one CLI ingest run (`lpacs ingest`, `lpacs pull`,
 * `lpacs quarantine retry`), for
 * its `ingest` audit entry: counts and the lake's batch ids, never a file
 * name, UID or value. Filled through the run's hooks as it goes, so a run
 * that fails midway still says how far it got.
 */
export class IngestTally {
  /** Files judged (every input the run read, whatever became of it). */
  files = 0;
  /** Instances committed to the lake, in `batches`. */
  ingested = 0;
  readonly #verdicts: Record<Verdict, number> = {
    ingested: 0,
    skipped: 0,
    quarantined: 0,
    conflict: 0,
  };
  readonly #of = new WeakMap<FileOutcome, Verdict>();
  readonly batches: string[] = [];
  /** False until the run has the lake open: no entry before. */
  opened = false;

  /** The hooks to give the run (or to chain with the caller's own). */
  readonly hooks: Required<
    Pick<RunHooks, 'onOutcome' | 'onRevised' | 'onCommitted'>
  > & { onOpened: () => void } = {
    onOpened: () => {
      this.opened = true;
    },
    onOutcome: (o, verdict) => {
      this.files++;
      this.#of.set(o, verdict);
      this.#verdicts[verdict]++;
    },
    onRevised: (o, verdict) => {
      const was = this.#of.get(o);
      if (was) this.#verdicts[was]--;
      this.#of.set(o, verdict);
      this.#verdicts[verdict]++;
    },
    onCommitted: (batchId, instances) => {
      this.batches.push(batchId);
      this.ingested += instances;
    },
  };

  get skipped(): number {
    return this.#verdicts.skipped;
  }

  get quarantined(): number {
    return this.#verdicts.quarantined;
  }

  get conflicts(): number {
    return this.#verdicts.conflict;
  }
}

/** A thrown value's code when it is a plain code (ENOSPC, LAKE_BUSY), else INGEST_FAILED. */
function codeOf(err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^[A-Z][A-Z0-9_]{1,40}$/.test(code)
    ? code
    : 'INGEST_FAILED';
}

/**
 * Appends the run's `ingest` entry to the lake's audit log, under the OS
 * user running the CLI: `ok` when every file read was stored (or held
 * already), else `failed` with FILES_REFUSED (files quarantined or in
 * conflict) or why the run did not reach its end (the failure's code).
 * Nothing is written for a run that never had the lake open (an input
 * missing, the lake busy: it changed nothing), nor where no lake is left
 * (a failed pull that took its new lake away again). Returns false, with
 * a warning, when the entry could not be written.
 */
export async function auditIngest(
  lake: string,
  via: 'cli' | 'pull' | 'retry',
  tally: IngestTally,
  failure: { error: unknown } | undefined,
  extra: Record<string, string> = {},
): Promise<boolean> {
  if (!tally.opened) return true;
  if (!existsSync(join(lake, 'tables')) && !existsSync(join(lake, 'lake.json')))
    return true;
  const refused = tally.quarantined + tally.conflicts;
  const error = failure
    ? codeOf(failure.error)
    : refused
      ? 'FILES_REFUSED'
      : undefined;
  try {
    await new AuditLog(lake).append({
      actor: cliActor(),
      action: 'ingest',
      outcome: error ? 'failed' : 'ok',
      detail: {
        via,
        ...extra,
        files: tally.files,
        ingested: tally.ingested,
        skipped: tally.skipped,
        quarantined: tally.quarantined,
        conflicts: tally.conflicts,
        batches: tally.batches.join(','),
        ...(error ? { error } : {}),
      },
    });
    return true;
  } catch (err) {
    process.stderr.write(
      `warning: the ingest was not audited: could not write the audit log of ${lake}: ${(err as Error).message}\n`,
    );
    return false;
  }
}
