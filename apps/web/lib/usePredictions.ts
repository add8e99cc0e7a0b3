'use client';

import { useQuery } from '@tanstack/react-query';
import { graphqlRequest } from './graphql';
import { mayQueryCohorts } from './permissions';
import { useMe } from './useMe';

const PREDICTIONS = `query Predictions($series: String!) {
  predictions(seriesInstanceUID: $series) {
    modelName modelVersion modelSha256 sopInstanceUID frameIndex label
    score value maskKey
  }
}`;

/** One model output for a frame (or a whole series). */
export interface Prediction {
  modelName: string;
  modelVersion: string;
  modelSha256: string;
  sopInstanceUID: string | null;
  /** 0-based; null for a series-level output. */
  frameIndex: number | null;
  label: string;
  score: number | null;
  value: number | null;
  /** Set for a segmentation: it has a mask. */
  maskKey: string | null;
}

/**
 * The predictions models made on a series. Asked only of a role that may
 * query the lake (cohort.query): a collaborator viewing a study of their
 * release has none to see, and no refusal is shown to them.
 */
export function usePredictions(series: string) {
  const me = useMe();
  return useQuery({
    queryKey: ['predictions', series],
    enabled: series !== '' && mayQueryCohorts(me.data?.role),
    queryFn: ({ signal }) =>
      graphqlRequest<{ predictions: Prediction[] }>(
        PREDICTIONS,
        { series },
        signal,
      ).then((d) => d.predictions),
  });
}
