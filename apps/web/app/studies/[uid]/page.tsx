'use client';

import { use } from 'react';
import { RoleGate } from '../../../components/shell/RoleGate';
import { StudyViewer } from '../../../components/viewer/StudyViewer';

/** One study in the viewer. */
export default function StudyPage({
  params,
}: {
  params: Promise<{ uid: string }>;
}) {
  const { uid } = use(params);
  return (
    <RoleGate roles={['admin', 'steward', 'researcher', 'collaborator']}>
      {() => (
        <>
          <h1>Study {uid}</h1>
          <StudyViewer study={uid} />
        </>
      )}
    </RoleGate>
  );
}
