/** GraphQL documents of the cohort builder. */

const COUNTS = 'counts { patients studies series instances }';
const FACET = '{ value count }';

/** Counts and every facet of a filter. */
export const COHORT_SUMMARY = `query CohortSummary($filter: CohortFilter) {
  cohort(filter: $filter) {
    ${COUNTS}
    facets {
      modality ${FACET} bodyPart ${FACET} sex ${FACET}
      manufacturer ${FACET} ageDecade ${FACET} studyYear ${FACET}
    }
  }
}`;

/** Only the counts of a filter (saved cohorts compare with today's). */
export const COHORT_COUNTS = `query CohortCounts($filter: CohortFilter) {
  cohort(filter: $filter) { ${COUNTS} }
}`;

/** One page of studies, ordered by StudyInstanceUID. */
export const COHORT_STUDIES = `query CohortStudies(
  $filter: CohortFilter, $first: Int!, $after: String,
  $orderBy: StudyOrder, $descending: Boolean
) {
  cohort(filter: $filter) {
    studies(first: $first, after: $after, orderBy: $orderBy, descending: $descending) {
      nodes {
        studyInstanceUID patientID studyDate studyDescription ageYears
        patientSex modalities bodyParts seriesCount instanceCount
      }
      pageInfo { hasNextPage endCursor }
    }
  }
}`;
