import { Field, Float, InputType, Int, ObjectType } from 'type-graphql';
import { CohortFilter } from './CohortFilter';

@ObjectType({ description: 'An ONNX model stored in the lake.' })
export class Model {
  @Field() name!: string;
  @Field() version!: string;
  @Field({ description: 'classification, regression or segmentation' })
  task!: string;
  @Field({ description: 'SHA-256 of model.onnx: the model identity' })
  sha256!: string;
  @Field(() => String, { nullable: true }) description!: string | null;
  @Field(() => [String], { description: 'Labels of the output, in order' })
  labels!: string[];
  @Field(() => [String], { description: 'Input shape, e.g. N, 1, 32, 32' })
  inputShape!: string[];
  @Field({ description: 'When it was added (ISO 8601, UTC)' })
  addedAt!: string;
}

@ObjectType({ description: 'A model addModel stored, or found stored.' })
export class AddedModel {
  @Field(() => Model) model!: Model;
  @Field({
    description:
      'True when this model.onnx with this manifest was stored before (nothing changed)',
  })
  alreadyStored!: boolean;
}

@ObjectType({ description: 'Counters of a prediction job.' })
export class JobProgress {
  @Field(() => Int, { description: 'Instances selected' }) total!: number;
  @Field(() => Int, { description: 'Instances handled so far' })
  done!: number;
  @Field(() => Int, { description: 'Instances predicted by this job' })
  predicted!: number;
  @Field(() => Int, { description: 'Already predicted by this model' })
  skipped!: number;
  @Field(() => Int, {
    description:
      'Instances that failed, a failed series counting each of its instances',
  })
  failed!: number;
  @Field(() => Float, { description: 'done / total, 1 when empty' })
  fraction!: number;
}

@ObjectType({ description: 'An instance or series a job could not use.' })
export class JobFailure {
  @Field(() => String, { nullable: true, description: 'The instance at fault' })
  sopInstanceUID!: string | null;
  @Field(() => String, {
    nullable: true,
    description: 'The series, for a model that stacks series',
  })
  seriesInstanceUID!: string | null;
  @Field(() => Int, {
    description:
      "Instances it stands for: 1, or the series' instances for a model that stacks series (the job's failed count is their sum)",
  })
  instances!: number;
  @Field({
    description:
      'BAD_INPUT, UNDECODABLE, INFERENCE_FAILED, NON_FINITE_OUTPUT (NaN or an infinity in the model output: no row or mask kept), OBJECT_MISSING (erased after the job selected it), OBJECT_UNREADABLE or INPUT_ERASED (erased after it was predicted: no row or mask kept; counted, not named)',
  })
  code!: string;
  @Field() message!: string;
}

@ObjectType({ description: 'A model run over a set of instances.' })
export class Job {
  @Field() id!: string;
  @Field(() => String, {
    nullable: true,
    description:
      'Who started it: a user name, or cli:<login> for lpacs predict; null for a job from before jobs had owners',
  })
  owner!: string | null;
  @Field({
    description:
      'queued, running, interrupted (its server or lpacs predict stopped; resumed by the next one, or by lpacs predict --resume), done, cancelled or failed',
  })
  phase!: string;
  @Field() modelName!: string;
  @Field() modelVersion!: string;
  @Field() modelSha256!: string;
  @Field() createdAt!: string;
  @Field() updatedAt!: string;
  @Field(() => String, { nullable: true }) finishedAt!: string | null;
  @Field(() => String, { nullable: true }) error!: string | null;
  @Field(() => JobProgress) progress!: JobProgress;
  @Field(() => [JobFailure], { description: 'The first failures' })
  failures!: JobFailure[];
}

@ObjectType({ description: 'One output of a model for one frame.' })
export class Prediction {
  @Field() modelName!: string;
  @Field() modelVersion!: string;
  @Field() modelSha256!: string;
  @Field({ description: 'The job that wrote it' }) runId!: string;
  @Field(() => String, {
    nullable: true,
    description: 'Null for a model that stacks a whole series',
  })
  sopInstanceUID!: string | null;
  @Field(() => Int, { nullable: true }) frameIndex!: number | null;
  @Field() seriesInstanceUID!: string;
  @Field() studyInstanceUID!: string;
  @Field() label!: string;
  @Field(() => Float, { nullable: true, description: 'Classification score' })
  score!: number | null;
  @Field(() => Float, {
    nullable: true,
    description: 'Regression value, or the mask fraction of a segmentation',
  })
  value!: number | null;
  @Field(() => String, {
    nullable: true,
    description: 'Mask object (NumPy .npy, uint8 [labels, rows, columns])',
  })
  maskKey!: string | null;
  @Field() createdAt!: string;
}

@InputType({
  description:
    'What to run a model on: listed series, a cohort filter, or both (AND).',
})
export class RunModelInput {
  @Field({ description: 'Model name or SHA-256' }) model!: string;
  @Field(() => [String], { nullable: true })
  seriesInstanceUIDs?: string[];
  @Field(() => CohortFilter, { nullable: true }) filter?: CohortFilter;
}
