import { openLakeCipher } from '@lpacs/lake';
import { PredictionJobs, sessionOptionsFromEnv } from '@lpacs/ml';
import type { JobSelection, JobState } from '@lpacs/ml';
import { createLogger } from '../logger';
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

function reportText(job: JobState, seconds: number): string {
  const p = job.progress;
  const lines = [
    `job         ${job.id}`,
    `model       ${job.model.name} ${job.model.version} (${job.model.sha256.slice(0, 12)})`,
    `phase       ${job.phase}${job.phase === 'failed' ? `: ${job.error}` : ''}`,
    `inputs      ${p.total}`,
    `predicted   ${p.predicted}`,
    `skipped     ${p.skipped} (already predicted by this model)`,
    `failed      ${p.failed}`,
    ...job.failures
      .slice(0, 10)
      .map((f) => `  ${f.SOPInstanceUID}  ${f.code}  ${f.message}`),
    `time        ${seconds.toFixed(2)} s`,
  ];
  if (job.phase === 'cancelled' && p.done < p.total)
    lines.push(`            stopped at ${p.done}/${p.total}`);
  return lines.join('\n');
}

/**
 * `lpacs predict --model NAME [--modality M]... [--series UID]...`: runs a
 * model over the lake's matching instances as a job; `--resume ID` goes on
 * with a job a stopped process left, `--cancel ID` cancels one. Ctrl-C
 * cancels after the running chunk. `$LPACS_ORT_PROVIDERS` (e.g.
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
  try {
    if (flags.cancel) {
      const job = await jobs.cancel(flags.cancel);
      process.stdout.write(`job ${job.id} ${job.phase}\n`);
      return 0;
    }
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
      id = (await jobs.create(flags.model, selection)).id;
    }
    const jobId = id;
    const onSigint = () => {
      process.stderr.write('\nlpacs predict: cancelling after this chunk\n');
      void jobs.cancel(jobId);
    };
    process.once('SIGINT', onSigint);
    const job = await jobs.run(jobId);
    process.off('SIGINT', onSigint);
    if (tty) process.stderr.write('\r\x1b[K');
    const seconds = (Date.now() - started) / 1000;
    process.stdout.write(
      opts.json
        ? JSON.stringify(job, null, 2) + '\n'
        : reportText(job, seconds) + '\n',
    );
    return job.phase === 'failed' ? 1 : 0;
  } finally {
    await jobs.close();
  }
}
