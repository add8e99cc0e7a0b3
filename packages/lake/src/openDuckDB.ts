import type { DuckDBInstance } from '@duckdb/node-api';

/**
 * An in-memory DuckDB. The native library is loaded on first use, not on
 * import: ingest workers import this package but never query, and loading
 * it costs each thread about 0.1 s of CPU and tens of MB.
 */
export async function openDuckDB(threads: number): Promise<DuckDBInstance> {
  const { DuckDBInstance } = await import('@duckdb/node-api');
  return DuckDBInstance.create(':memory:', { threads: String(threads) });
}
