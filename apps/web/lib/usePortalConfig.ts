'use client';

import { useQuery } from '@tanstack/react-query';
import { graphqlRequest } from './graphql';

const PORTAL_CONFIG = `query PortalConfig { portalConfig { ohifUrl } }`;

/** Server settings the portal adapts to (an OHIF Viewer to link to). */
export interface PortalConfig {
  ohifUrl: string | null;
}

/** The API's portal settings; they change only when the API restarts. */
export function usePortalConfig() {
  return useQuery({
    queryKey: ['portalConfig'],
    queryFn: ({ signal }) =>
      graphqlRequest<{ portalConfig: PortalConfig }>(
        PORTAL_CONFIG,
        undefined,
        signal,
      ).then((d) => d.portalConfig),
    staleTime: 5 * 60_000,
  });
}
