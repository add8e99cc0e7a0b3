import { AccessError, AccessErrorCode, Action, Role } from '@lpacs/access';
import type { Principal } from '@lpacs/access';
import { isAbsolute } from 'node:path';
import { GraphQLError } from 'graphql';
import { maskKeysToRead, maskNaming } from '@lpacs/lake';
import { Arg, Authorized, Ctx, Mutation, Query, Resolver } from 'type-graphql';
import { MlError, MlErrorCode, jobAuditDetail } from '@lpacs/ml';
import type {
  JobSelection,
  JobState,
  PredictionJobs,
  RegisteredModel,
} from '@lpacs/ml';
import { ErrorCode, badInput } from '../ApiError';
import { checkFilter } from '../cohort/checkFilter';
import { whereOf } from '../cohort/compileFilter';
import type { ApiContext } from '../context';
import { JOB_ID } from '../sharing/idShapes';
import {
  AddedModel,
  Job,
  Model,
  Prediction,
  RunModelInput,
} from '../schema/ModelTypes';

/**
 * The context models need: the server's prediction jobs (one per lake,
 * holding the session pools). Absent, model operations say so.
 */
export type ModelContext = ApiContext & { predictions?: PredictionJobs };

const MAX_SERIES = 1000;

function jobsOf(ctx: ModelContext): PredictionJobs {
  if (!ctx.predictions)
    throw new GraphQLError('models are not enabled on this server', {
      extensions: { code: ErrorCode.Internal },
    });
  return ctx.predictions;
}

/** MlError codes as the API's client error codes. */
function apiError(err: unknown): unknown {
  if (!(err instanceof MlError)) return err;
  switch (err.code) {
    case MlErrorCode.ModelNotFound:
    case MlErrorCode.JobNotFound:
      return new GraphQLError(err.message, {
        extensions: { code: ErrorCode.NotFound },
      });
    case MlErrorCode.BadSelection:
      return badInput(err.message);
    // A model folder addModel cannot store: the client's mistake, named
    // with its ML code and, for a manifest, every problem found.
    case MlErrorCode.ManifestInvalid:
    case MlErrorCode.ModelInvalid:
    case MlErrorCode.ModelMismatch:
    case MlErrorCode.ModelConflict:
      return new GraphQLError(err.message, {
        extensions: {
          code: ErrorCode.BadUserInput,
          mlCode: err.code,
          ...(err.problems.length ? { problems: err.problems } : {}),
        },
      });
    default:
      return err;
  }
}

async function api<T>(work: Promise<T>): Promise<T> {
  try {
    return await work;
  } catch (err) {
    throw apiError(err);
  }
}

function toModel(m: RegisteredModel): Model {
  return Object.assign(new Model(), {
    name: m.manifest.name,
    version: m.manifest.version,
    task: m.manifest.task,
    sha256: m.sha256,
    description: m.manifest.description ?? null,
    labels: m.manifest.outputs[0]?.labels ?? [],
    inputShape: m.manifest.inputs[0].shape.map(String),
    addedAt: m.addedAt,
  });
}

/**
 * Why `who` may not cancel `job`, or undefined when they may: stewards
 * and admins cancel any job, a researcher only one they started.
 */
function cancelRefusal(who: Principal, job: JobState): string | undefined {
  if (who.role === Role.Admin || who.role === Role.Steward) return undefined;
  if (job.owner === undefined)
    return `job ${job.id} has no owner on record (it was started before jobs had owners): only a steward or an admin may cancel it`;
  if (job.owner !== who.name)
    return `job ${job.id} was started by ${job.owner}: only the user who started a job, a steward or an admin may cancel it`;
  return undefined;
}

function toJob(j: JobState): Job {
  const p = j.progress;
  return Object.assign(new Job(), {
    id: j.id,
    owner: j.owner ?? null,
    phase: j.phase,
    modelName: j.model.name,
    modelVersion: j.model.version,
    modelSha256: j.model.sha256,
    createdAt: j.createdAt,
    updatedAt: j.updatedAt,
    finishedAt: 'finishedAt' in j ? j.finishedAt : null,
    error: j.phase === 'failed' ? j.error : null,
    progress: { ...p, fraction: p.total ? p.done / p.total : 1 },
    failures: j.failures.map((f) => ({
      sopInstanceUID: f.SOPInstanceUID ?? null,
      seriesInstanceUID: f.SeriesInstanceUID ?? null,
      instances: f.instances ?? 1,
      code: f.code,
      message: f.message,
    })),
  });
}

/** Models, prediction jobs and predictions. */
@Resolver()
export class ModelResolver {
  @Authorized(Action.CohortQuery)
  @Query(() => [Model], { description: 'The models stored in the lake.' })
  async models(@Ctx() ctx: ModelContext): Promise<Model[]> {
    return (await jobsOf(ctx).registry.list()).map(toModel);
  }

  @Authorized(Action.CohortQuery)
  @Query(() => Model, {
    nullable: true,
    description: 'A model by name (newest, or the version) or SHA-256.',
  })
  async model(
    @Ctx() ctx: ModelContext,
    @Arg('name') name: string,
    @Arg('version', () => String, { nullable: true }) version?: string,
  ): Promise<Model | null> {
    try {
      return toModel(
        await jobsOf(ctx).registry.get(name, version ?? undefined),
      );
    } catch (err) {
      if (err instanceof MlError && err.code === MlErrorCode.ModelNotFound)
        return null;
      throw err;
    }
  }

  @Authorized(Action.CohortQuery)
  @Query(() => [Job], {
    description:
      "Prediction jobs, newest first: every job of the lake, whoever started it (jobs run over the lake's shared images, which any cohort query shows; only cancelling is kept to a job's owner, stewards and admins).",
  })
  async jobs(@Ctx() ctx: ModelContext): Promise<Job[]> {
    return (await jobsOf(ctx).list()).map(toJob);
  }

  @Authorized(Action.CohortQuery)
  @Query(() => Job, { nullable: true, description: 'A job and its progress.' })
  async job(
    @Ctx() ctx: ModelContext,
    @Arg('id') id: string,
  ): Promise<Job | null> {
    try {
      return toJob(await jobsOf(ctx).get(id));
    } catch (err) {
      if (err instanceof MlError && err.code === MlErrorCode.JobNotFound)
        return null;
      throw err;
    }
  }

  @Authorized(Action.CohortQuery)
  @Query(() => [Prediction], {
    description: 'The predictions on a series, optionally of one model.',
  })
  async predictions(
    @Ctx() ctx: ModelContext,
    @Arg('seriesInstanceUID') seriesInstanceUID: string,
    @Arg('model', () => String, {
      nullable: true,
      description: 'Model name or SHA-256',
    })
    model?: string,
  ): Promise<Prediction[]> {
    const params: string[] = [seriesInstanceUID];
    let byModel = '';
    if (model != null) {
      byModel = 'AND (model_name = ? OR model_sha256 = ?)';
      params.push(model, model);
    }
    const rows = await ctx.cohorts.catalog.query(
      `SELECT * FROM predictions WHERE "SeriesInstanceUID" = ? ${byModel}
       ORDER BY model_name, "SOPInstanceUID", frame_index, label
       LIMIT 100000`,
      params,
    );
    // Where the mask is now: a row written before an encrypted lake's
    // masks were renamed to keyed names still holds the old name.
    const maskNow = (r: (typeof rows)[number]) =>
      r.mask_key == null
        ? null
        : (maskKeysToRead(
            maskNaming(ctx.lakeRoot),
            String(r.model_sha256),
            String(r.SOPInstanceUID ?? r.SeriesInstanceUID),
            Number(r.frame_index ?? 0),
            'npy',
          ).at(-1) ?? r.mask_key);
    return rows.map((r) =>
      Object.assign(new Prediction(), {
        modelName: r.model_name,
        modelVersion: r.model_version,
        modelSha256: r.model_sha256,
        runId: r.run_id,
        sopInstanceUID: r.SOPInstanceUID,
        frameIndex: r.frame_index,
        seriesInstanceUID: r.SeriesInstanceUID,
        studyInstanceUID: r.StudyInstanceUID,
        label: r.label,
        score: r.score,
        value: r.value,
        maskKey: maskNow(r),
        createdAt: r.created_at,
      }),
    );
  }

  @Authorized(Action.ModelManage)
  @Mutation(() => AddedModel, {
    description:
      "Stores a model folder of the server's file system (model.onnx and manifest.json) in the lake, as lpacs models add DIR does: the manifest validated, then checked against the ONNX graph; the model's identity is the SHA-256 of model.onnx.",
  })
  async addModel(
    @Ctx() ctx: ModelContext,
    @Arg('dir', { description: 'Absolute path of the folder on the server' })
    dir: string,
  ): Promise<AddedModel> {
    if (!isAbsolute(dir))
      throw badInput(
        `dir must be an absolute path on the server, got ${JSON.stringify(dir)}`,
        'dir',
      );
    // showValues false: a refusal names fields and the types found, never
    // the text of the file at dir/manifest.json, which may be any file.
    const added = await api(
      jobsOf(ctx).registry.add(dir, { showValues: false }),
    );
    if (!added.alreadyStored)
      await ctx.gate.record('model.add', 'ok', added.sha256, {
        name: added.manifest.name,
        version: added.manifest.version,
      });
    return Object.assign(new AddedModel(), {
      model: toModel(added),
      alreadyStored: added.alreadyStored,
    });
  }

  @Authorized(Action.ModelRun)
  @Mutation(() => Job, {
    description:
      'Starts a model over listed series and/or a cohort filter; returns the queued job.',
  })
  async runModel(
    @Ctx() ctx: ModelContext,
    @Arg('input', () => RunModelInput) input: RunModelInput,
  ): Promise<Job> {
    const selection: JobSelection = {};
    const series = input.seriesInstanceUIDs;
    if (series != null) {
      if (!series.length || series.length > MAX_SERIES)
        throw badInput(
          `seriesInstanceUIDs must hold 1 to ${MAX_SERIES} UIDs, got ${series.length}`,
          'seriesInstanceUIDs',
        );
      selection.seriesInstanceUIDs = series;
    }
    if (input.filter != null) {
      const where = whereOf(
        await checkFilter(input.filter, ctx.cohorts.catalog),
      );
      if (where.sql)
        selection.where = {
          sql: where.sql.replace(/^WHERE /, ''),
          params: where.params,
        };
    }
    if (!selection.seriesInstanceUIDs && !selection.where)
      throw badInput(
        'give seriesInstanceUIDs or a non-empty filter (a model over the whole lake is a CLI job: lpacs predict)',
      );
    const jobs = jobsOf(ctx);
    const model = await api(jobs.registry.get(input.model));
    // The request's one model.run entry: the model and selection, a run
    // refused too (a selection of no image), then the job it started.
    await ctx.gate.record(Action.ModelRun, 'ok', undefined, {
      model: model.manifest.name,
      version: model.manifest.version,
      sha256: model.sha256,
      ...(series != null ? { series: series.length } : {}),
      ...(selection.where ? { filter: true } : {}),
    });
    const job = await api(
      jobs.start(model.sha256, selection, { owner: ctx.gate.principal!.name }),
    );
    await ctx.gate.record(Action.ModelRun, 'ok', job.id, jobAuditDetail(job));
    return toJob(job);
  }

  @Authorized(Action.ModelCancel)
  @Mutation(() => Job, {
    description:
      'Cancels a job; a running one stops after its current chunk. A researcher may cancel the jobs they started; stewards and admins any job.',
  })
  async cancelJob(
    @Ctx() ctx: ModelContext,
    @Arg('id') id: string,
  ): Promise<Job> {
    const jobs = jobsOf(ctx);
    // An id of a job's shape is named in the entry even when no job has
    // it; anything else the caller typed stays out of the log.
    if (JOB_ID.test(id)) await ctx.gate.record(Action.ModelCancel, 'ok', id);
    const job = await api(jobs.get(id));
    const detail = {
      ...jobAuditDetail(job),
      ...(job.owner === undefined ? {} : { owner: job.owner }),
    };
    const refusal = cancelRefusal(ctx.gate.principal!, job);
    if (refusal) {
      await ctx.gate.record(Action.ModelCancel, 'ok', id, {
        ...detail,
        why: 'not your job',
      });
      throw new AccessError(AccessErrorCode.Forbidden, refusal);
    }
    const cancelled = await api(jobs.cancel(id));
    // The phase the job is in now: cancelled, or the end it had reached.
    await ctx.gate.record(Action.ModelCancel, 'ok', id, {
      ...detail,
      phase: cancelled.phase,
      done: cancelled.progress.done,
    });
    return toJob(cancelled);
  }
}
