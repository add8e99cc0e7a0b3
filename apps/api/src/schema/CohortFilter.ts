import { Field, Float, InputType, Int } from 'type-graphql';

@InputType({
  description:
    'Instances a model labelled so: a label of a model (name or SHA-256) within bounds.',
})
export class PredictionFilter {
  @Field({ description: 'Model name (any version) or SHA-256 of model.onnx' })
  model!: string;

  @Field({ description: 'Output label, as in the model manifest' })
  label!: string;

  @Field(() => Float, {
    nullable: true,
    description: 'Lowest score (inclusive)',
  })
  minScore?: number;

  @Field(() => Float, {
    nullable: true,
    description: 'Highest score (inclusive)',
  })
  maxScore?: number;

  @Field(() => Float, {
    nullable: true,
    description: 'Lowest value (inclusive)',
  })
  minValue?: number;

  @Field(() => Float, {
    nullable: true,
    description: 'Highest value (inclusive)',
  })
  maxValue?: number;
}

@InputType({
  description:
    'Instances with a data element (tag or keyword) whose value meets op; nested elements match at any depth unless path is given.',
})
export class AttributeFilter {
  @Field({
    nullable: true,
    description: 'Tag as 8 hex digits (00180050) or (0018,0050)',
  })
  tag?: string;

  @Field({
    nullable: true,
    description: 'PS3.6 keyword, e.g. SliceThickness (instead of tag)',
  })
  keyword?: string;

  @Field({
    description:
      'EQ, NE, LT, LE, GT, GE (numbers; dates for DA, times for TM), CONTAINS or EXISTS',
  })
  op!: string;

  @Field({
    nullable: true,
    description: 'What op compares with; none for EXISTS',
  })
  value?: string;

  @Field({
    nullable: true,
    description:
      'Only the element at this path, e.g. 00400275[0].00321060; "" for top level',
  })
  path?: string;
}

/**
 * Which instances a cohort holds. Every field is optional; lists match any
 * of their values; fields combine with AND. No filter is the whole lake.
 */
@InputType({
  description:
    'Criteria a cohort is built from; all optional, combined with AND.',
})
export class CohortFilter {
  @Field(() => [String], {
    nullable: true,
    description: 'Modality (0008,0060), any of',
  })
  modality?: string[];

  @Field(() => [String], {
    nullable: true,
    description: 'BodyPartExamined (0018,0015), any of',
  })
  bodyPart?: string[];

  @Field(() => [String], {
    nullable: true,
    description: 'PatientSex (0010,0040): M, F or O, any of',
  })
  sex?: string[];

  @Field(() => Int, {
    nullable: true,
    description: 'Youngest age at study, years (inclusive)',
  })
  ageMin?: number;

  @Field(() => Int, {
    nullable: true,
    description: 'Oldest age at study, years (inclusive)',
  })
  ageMax?: number;

  @Field({
    nullable: true,
    description: 'First (shifted) study date, YYYY-MM-DD (inclusive)',
  })
  studyDateFrom?: string;

  @Field({
    nullable: true,
    description: 'Last (shifted) study date, YYYY-MM-DD (inclusive)',
  })
  studyDateTo?: string;

  @Field(() => [String], {
    nullable: true,
    description: 'Manufacturer (0008,0070), any of',
  })
  manufacturer?: string[];

  @Field({
    nullable: true,
    description: 'Words in the study or series description (case-insensitive)',
  })
  text?: string;

  @Field(() => [PredictionFilter], {
    nullable: true,
    description: 'Model predictions the instances must have, all of them',
  })
  prediction?: PredictionFilter[];

  @Field(() => [AttributeFilter], {
    nullable: true,
    description: 'Data elements the instances must have, all of them',
  })
  attribute?: AttributeFilter[];

  @Field(() => [CohortFilter], {
    nullable: true,
    description: 'Instances matching every one of these filters (AND)',
  })
  allOf?: CohortFilter[];

  @Field(() => [CohortFilter], {
    nullable: true,
    description: 'Instances matching at least one of these filters (OR)',
  })
  anyOf?: CohortFilter[];

  @Field(() => CohortFilter, {
    nullable: true,
    description: 'Instances not matching this filter (NOT)',
  })
  not?: CohortFilter;
}
