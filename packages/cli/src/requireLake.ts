import { Lake } from '@lpacs/lake';

/** Fails with NOT_A_LAKE for a typo'd --lake instead of creating state there. */
export async function requireLake(lake: string): Promise<void> {
  (await Lake.open(lake, undefined, 'read')).close();
}
