'use client';

import { usePortalConfig } from '../../lib/usePortalConfig';

/**
 * "Open in OHIF" for a study, when the API names an OHIF Viewer reading
 * its DICOMweb (`lpacs serve --ohif-url`); nothing otherwise.
 */
export function OhifLink({ study }: { study: string }) {
  const config = usePortalConfig();
  const base = config.data?.ohifUrl;
  if (!base) return null;
  const href = `${base}/viewer?StudyInstanceUIDs=${encodeURIComponent(study)}`;
  return (
    <p>
      <a href={href} target="_blank" rel="noopener noreferrer">
        Open in OHIF
      </a>
    </p>
  );
}
