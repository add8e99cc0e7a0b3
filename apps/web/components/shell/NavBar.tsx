'use client';

import { useQueryClient } from '@tanstack/react-query';
import Link from 'next/link';
import { usePathname, useRouter } from 'next/navigation';
import { useState } from 'react';
import { navigationFor } from '../../lib/navigation';
import type { Me } from '../../lib/types';
import { ME_KEY } from '../../lib/useMe';

/** The pages the user's role may use, who they are, and sign-out. */
export function NavBar({ me }: { me: Me }) {
  const path = usePathname();
  const router = useRouter();
  const queryClient = useQueryClient();
  const [busy, setBusy] = useState(false);

  async function signOut() {
    setBusy(true);
    try {
      // JSON, like every POST the portal's proxies pass on (a bodiless
      // POST is what a cross-site form could send).
      await fetch('/api/auth/sign-out', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{}',
      });
    } finally {
      // Back to the sign-in form at once, then forget everything the
      // previous user saw before anyone else signs in.
      await queryClient.resetQueries({ queryKey: ME_KEY });
      queryClient.removeQueries({
        predicate: (q) => q.queryKey[0] !== ME_KEY[0],
      });
      router.push('/');
      setBusy(false);
    }
  }

  return (
    <nav aria-label="Portal" className="nav">
      <ul>
        {navigationFor(me.role).map((link) => (
          <li key={link.label}>
            <Link
              href={link.href}
              aria-current={path === link.href ? 'page' : undefined}
            >
              {link.label}
            </Link>
          </li>
        ))}
      </ul>
      <p className="whoami">
        Signed in as <strong data-testid="me-name">{me.name}</strong> (
        <span data-testid="me-role">{me.role}</span>){' '}
        <button type="button" onClick={signOut} disabled={busy}>
          {busy ? 'Signing out…' : 'Sign out'}
        </button>
      </p>
    </nav>
  );
}
