import { Lake, openLakeCipher } from '@lpacs/lake';
import type { LakeHold } from '@lpacs/lake';
import { PredictionJobs, sessionOptionsFromEnv } from '@lpacs/ml';
import type { InputFailure, JobSelection, JobState } from '@lpacs/ml';
import { cliActor } from '../cliActor';
import { createLogger } from '../logger';
import { auditJob } from '../modelAudit';
import type { Options } from '../options';
import { requireLake } from '../requireLake';

/** Flags of `lpacs predict`. */
export interface PredictFlags {
  model?: string;
  modality?: string[];
  series?: string[];
  resume?: string;
  cancel?: string;
  threads?: number;
}

function progressText(job: JobState, seconds: number): string {
  const p = job.progress;
  const pct = p.total ? Math.floor((100 * p.done) / p.total) : 100;
  const rate = seconds > 0 ? p.predicted / seconds : 0;
  return `  ${p.done}/${p.total} ${pct}%  ${rate.toFixed(1)} instances/s  predicted ${p.predicted}  skipped ${p.skipped}  failed ${p.failed}`;
}

/**
 * What failed: the instance, or for a model that stacks series the series
 * with its instance count (and the instance at fault, when one is).
 */
function failureText(f: InputFailure): string {
  const what =
    f.SeriesInstanceUID !== undefined && f.instances !== undefined
      ? `series ${f.SeriesInstanceUID} (${f.instances} instance${f.instances === 1 ? '' : 's'}${f.SOPInstanceUID ? `; at ${f.SOPInstanceUID}` : ''})`
      : (f.SOPInstanceUID ?? f.SeriesInstanceUID ?? '-');
  return `${what}  ${f.code}  ${f.message}`;
}

function reportText(job: JobState, seconds: number): string {
  const p = job.progress;
  const lines = [
    `job         ${job.id}`,
    ...(job.owner ? [`owner       ${job.owner}`] : []),
    `model       ${job.model.name} ${job.model.version} (${job.model.sha256.slice(0, 12)})`,
    `phase       ${job.phase}${job.phase === 'failed' ? `: ${job.error}` : ''}`,
    `inputs      ${p.total}`,
    `predicted   ${p.predicted}`,
    `skipped     ${p.skipped} (already predicted by this model)`,
    `failed      ${p.failed}`,
    ...job.failures.slice(0, 10).map((f) => `  ${failureText(f)}`),
    `time        ${seconds.toFixed(2)} s`,
  ];
  if (job.phase === 'cancelled' && p.done < p.total)
    lines.push(`            stopped at ${p.done}/${p.total}`);
  if (job.phase === 'interrupted')
    lines.push(
      `            stopped at ${p.done}/${p.total}; go on with lpacs predict --resume ${job.id}`,
    );
  return lines.join('\n');
}

/**
 * Audits a job this command just created (`model.run`); one that cannot
 * be audited does not run: it is marked cancelled and the error thrown.
 */
async function auditOrCancel(
  jobs: PredictionJobs,
  lake: string,
  job: JobState,
): Promise<void> {
  try {
    await auditJob(lake, 'model.run', job);
  } catch (err) {
    await jobs.cancel(job.id).catch(() => undefined);
    throw err;
  }
}

/**
 * `lpacs predict --model NAME [--modality M]... [--series UID]...`: runs a
 * model over the lake's matching instances as a job; `--resume ID` goes on
 * with a job a stopped process left, `--cancel ID` cancels one. Ctrl-C
 * (SIGINT) or SIGTERM interrupts the job after the batches under way,
 * committing what was predicted before: it is left `interrupted`, for
 * `--resume`; a second one exits at once. `$LPACS_ORT_PROVIDERS` (e.g.
 * `cuda,cpu`) picks onnxruntime's execution providers.
 */
export async function predictCommand(
  flags: PredictFlags,
  opts: Options,
): Promise<number> {
  if (
    flags.threads !== undefined &&
    !(Number.isInteger(flags.threads) && flags.threads > 0)
  ) {
    process.stderr.write('lpacs predict: --threads must be a whole number\n');
    return 2;
  }
  // An encrypted lake's KEK first: a job started without it would fail on
  // every object after writing its state.
  openLakeCipher(opts.lake);
  await requireLake(opts.lake);
  const tty = process.stderr.isTTY && !opts.json;
  const started = Date.now();
  let last = 0;
  const jobs = new PredictionJobs({
    lakeRoot: opts.lake,
    logger: createLogger('ml.jobs', process.env.LPACS_LOG_LEVEL ?? 'error'),
    // onnxruntime settings from $LPACS_ORT_* (providers in order, e.g.
    // "cuda,cpu"; CPU only unless asked), --threads over LPACS_ORT_THREADS.
    session: {
      ...sessionOptionsFromEnv(),
      ...(flags.threads === undefined
        ? {}
        : { intraOpNumThreads: flags.threads }),
    },
    onProgress: (job) => {
      const now = Date.now();
      if (!tty || now - last < 100) return;
      last = now;
      process.stderr.write(
        `\r${progressText(job, (now - started) / 1000)}\x1b[K`,
      );
    },
  });
  let hold: LakeHold | undefined;
  try {
    if (flags.cancel) {
      const job = await jobs.cancel(flags.cancel);
      // The operator's command may cancel any job; the entry says whose.
      await auditJob(opts.lake, 'model.cancel', job, {
        ...(job.owner === undefined ? {} : { owner: job.owner }),
        phase: job.phase,
        done: job.progress.done,
      });
      process.stdout.write(`job ${job.id} ${job.phase}\n`);
      return 0;
    }
    // The run commits chunk by chunk: an erasure or compaction in between
    // would find no writer open, and is kept out until it ends.
    hold = await Lake.hold(opts.lake, 'lpacs predict');
    let id = flags.resume;
    if (!id) {
      if (!flags.model) {
        process.stderr.write(
          'lpacs predict: give --model NAME (see lpacs models list)\n',
        );
        return 2;
      }
      const selection: JobSelection = {};
      if (flags.modality?.length) selection.modalities = flags.modality;
      if (flags.series?.length) selection.seriesInstanceUIDs = flags.series;
      const created = await jobs.create(flags.model, selection, {
        owner: cliActor(),
      });
      id = created.id;
      await auditOrCancel(jobs, opts.lake, created);
    } else {
      // A resume that will run is audited first (and does not run when it
      // cannot be); a job already ended runs nothing.
      const resumed = await jobs.get(id);
      if (!['done', 'cancelled', 'failed'].includes(resumed.phase))
        await auditJob(opts.lake, 'model.run', resumed, {
          resume: true,
          done: resumed.progress.done,
        });
    }
    const jobId = id;
    let signalled: NodeJS.Signals | undefined;
    const again = (s: NodeJS.Signals) =>
      process.exit(s === 'SIGINT' ? 130 : 143);
    const onSignal = (s: NodeJS.Signals) => {
      signalled = s;
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      process.once('SIGINT', again);
      process.once('SIGTERM', again);
      process.stderr.write(
        `\nlpacs predict: ${s}: interrupting job ${jobId} after the batches under way (resume it with lpacs predict --resume ${jobId}; lpacs predict --cancel ${jobId} ends it)\n`,
      );
      void jobs.interrupt(jobId);
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    let job: JobState;
    try {
      job = await jobs.run(jobId);
    } finally {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      process.off('SIGINT', again);
      process.off('SIGTERM', again);
    }
    if (tty) process.stderr.write('\r\x1b[K');
    const seconds = (Date.now() - started) / 1000;
    process.stdout.write(
      opts.json
        ? JSON.stringify(job, null, 2) + '\n'
        : reportText(job, seconds) + '\n',
    );
    if (job.phase === 'interrupted' && signalled)
      return signalled === 'SIGINT' ? 130 : 143;
    return job.phase === 'failed' ? 1 : 0;
  } finally {
    await jobs.close();
    hold?.release();
  }
}
