/**
 * Query an lpacs cohort from TypeScript with fetch (Node 20+ or a browser).
 *
 *   LPACS_URL=http://127.0.0.1:4000/graphql LPACS_TOKEN=lpat_... \
 *     node cohortClient.js CT
 *
 * The types mirror the GraphQL schema's Cohort fields used here.
 */

export interface Counts {
  patients: number;
  studies: number;
  series: number;
  instances: number;
}

export interface Study {
  studyInstanceUID: string;
  modalities: string[];
  instanceCount: number;
}

export interface CohortAnswer {
  counts: Counts;
  studies: { nodes: Study[] };
}

const QUERY = `query ($filter: CohortFilter, $first: Int) {
  cohort(filter: $filter) {
    counts { patients studies series instances }
    studies(first: $first) { nodes { studyInstanceUID modalities instanceCount } }
  }
}`;

/** The counts and first studies of one modality's cohort. */
export async function cohort(
  url: string,
  token: string,
  modality: string,
  first = 5,
): Promise<CohortAnswer> {
  const res = await fetch(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      authorization: `Bearer ${token}`,
    },
    body: JSON.stringify({
      query: QUERY,
      variables: { filter: { modality: [modality] }, first },
    }),
  });
  const body = (await res.json()) as {
    data?: { cohort: CohortAnswer };
    errors?: Array<{ message: string }>;
  };
  if (body.errors?.length) throw new Error(body.errors[0]!.message);
  if (!body.data) throw new Error(`HTTP ${res.status}`);
  return body.data.cohort;
}

if (require.main === module) {
  const [, , modality = 'CT'] = process.argv;
  cohort(
    process.env.LPACS_URL ?? 'http://127.0.0.1:4000/graphql',
    process.env.LPACS_TOKEN ?? '',
    modality,
  ).then(
    (answer) => process.stdout.write(`${JSON.stringify(answer, null, 2)}\n`),
    (err: Error) => {
      process.stderr.write(`${err.message}\n`);
      process.exitCode = 1;
    },
  );
}
