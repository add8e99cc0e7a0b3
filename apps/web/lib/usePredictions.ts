'use client';

import { useQuery } from '@tanstack/react-query';
import { graphqlRequest } from './graphql';

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

/** The predictions models made on a series. */
export function usePredictions(series: string) {
  return useQuery({
    queryKey: ['predictions', series],
    enabled: series !== '',
    queryFn: ({ signal }) =>
      graphqlRequest<{ predictions: Prediction[] }>(
        PREDICTIONS,
        { series },
        signal,
      ).then((d) => d.predictions),
  });
}
