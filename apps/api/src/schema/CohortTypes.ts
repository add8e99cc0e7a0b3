import { Field, Int, ObjectType } from 'type-graphql';
import type { CompiledFilter } from '../cohort/compileFilter';

@ObjectType({ description: 'How many of each level a cohort holds.' })
export class Counts {
  @Field(() => Int) patients!: number;
  @Field(() => Int) studies!: number;
  @Field(() => Int) series!: number;
  @Field(() => Int) instances!: number;
}

@ObjectType({
  description: 'One value of a facet and how many studies have it.',
})
export class FacetValue {
  @Field({ description: 'The value; "(none)" when the attribute is empty' })
  value!: string;
  @Field(() => Int, { description: 'Studies with this value' })
  count!: number;
}

@ObjectType({
  description:
    'Value counts per attribute, each computed with every other filter applied.',
})
export class Facets {
  @Field(() => [FacetValue]) modality!: FacetValue[];
  @Field(() => [FacetValue]) bodyPart!: FacetValue[];
  @Field(() => [FacetValue]) sex!: FacetValue[];
  @Field(() => [FacetValue]) manufacturer!: FacetValue[];
  @Field(() => [FacetValue], {
    description:
      'Age at study by decade: "40-49", and "90+" (ages over 89 are stored as 90)',
  })
  ageDecade!: FacetValue[];
  @Field(() => [FacetValue], { description: 'Study year (shifted dates)' })
  studyYear!: FacetValue[];
}

@ObjectType({ description: 'A study in a cohort (de-identified).' })
export class Study {
  @Field() studyInstanceUID!: string;
  @Field({ description: 'Pseudonymous PatientID' }) patientID!: string;
  @Field(() => String, {
    nullable: true,
    description: 'Shifted StudyDate, YYYY-MM-DD',
  })
  studyDate!: string | null;
  @Field(() => String, { nullable: true }) studyDescription!: string | null;
  @Field(() => Int, { nullable: true }) ageYears!: number | null;
  @Field(() => String, { nullable: true }) patientSex!: string | null;
  @Field(() => [String]) modalities!: string[];
  @Field(() => [String]) bodyParts!: string[];
  @Field(() => Int, { description: 'Series in the cohort' })
  seriesCount!: number;
  @Field(() => Int, { description: 'Instances in the cohort' })
  instanceCount!: number;
}

@ObjectType()
export class PageInfo {
  @Field() hasNextPage!: boolean;
  @Field(() => String, { nullable: true }) endCursor!: string | null;
}

@ObjectType({ description: 'A page of studies, in the order asked for.' })
export class StudyPage {
  @Field(() => [Study]) nodes!: Study[];
  @Field(() => PageInfo) pageInfo!: PageInfo;
}

/** A cohort as resolved: the validated filter, evaluated lazily per field. */
@ObjectType({
  description: 'The instances matching a filter, seen at every level.',
})
export class Cohort {
  filter!: CompiledFilter;
}

@ObjectType({
  description: 'The SQL a filter runs, with its parameters as JSON.',
})
export class CohortSql {
  @Field() sql!: string;
  @Field(() => [String]) params!: string[];
}
