'use client';

import { use } from 'react';
import { RoleGate } from '../../../components/shell/RoleGate';
import { OhifLink } from '../../../components/viewer/OhifLink';
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
      {(me) => (
        <>
          <h1>Study {uid}</h1>
          <OhifLink study={uid} />
          <StudyViewer study={uid} shared={me.role === 'collaborator'} />
        </>
      )}
    </RoleGate>
  );
}
