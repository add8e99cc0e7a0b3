'use client';

import { useRouter } from 'next/navigation';
import { useEffect } from 'react';
import { CohortBuilder } from '../components/cohort/CohortBuilder';
import { homeFor } from '../lib/navigation';
import { useMe } from '../lib/useMe';

/** The cohort builder; a collaborator, who may not query, goes to releases. */
export default function CohortPage() {
  const me = useMe();
  const router = useRouter();
  const role = me.data?.role;
  useEffect(() => {
    if (role === 'collaborator') router.replace(homeFor(role));
  }, [role, router]);
  if (!role || role === 'collaborator') return null;
  return <CohortBuilder canSave={role === 'admin' || role === 'researcher'} />;
}
