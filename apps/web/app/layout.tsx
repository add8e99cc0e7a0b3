import type { Metadata } from 'next';
import type { ReactNode } from 'react';
import { Providers } from './providers';

export const metadata: Metadata = {
  title: 'lpacs',
  description: 'Portal for the lpacs research imaging data lake',
};

export default function RootLayout({ children }: { children: ReactNode }) {
  return (
    <html lang="en">
      <body>
        <header>lpacs</header>
        <Providers>
          <main>{children}</main>
        </Providers>
      </body>
    </html>
  );
}
