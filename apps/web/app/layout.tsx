import type { Metadata } from 'next';
import type { ReactNode } from 'react';
import { PortalShell } from '../components/shell/PortalShell';
import './globals.css';
import { Providers } from './providers';

export const metadata: Metadata = {
  title: 'lpacs',
  description: 'Portal for the lpacs research imaging data lake',
};

export default function RootLayout({ children }: { children: ReactNode }) {
  return (
    <html lang="en">
      <body>
        <a className="skip" href="#main">
          Skip to content
        </a>
        <header className="brand">lpacs</header>
        <Providers>
          <PortalShell>{children}</PortalShell>
        </Providers>
      </body>
    </html>
  );
}
