import type * as DuckDB from '@duckdb/node-api';
import type { DuckDBInstance } from '@duckdb/node-api';

/**
 * An in-memory DuckDB. The native library is loaded on first use, not on
 * import: ingest workers import this package but never query, and loading
 * it costs each thread about 0.1 s of CPU and tens of MB. Required, not
 * import()ed: Node's ESM loader would first lex every file the package
 * re-exports for its export names, 0.1 s of CPU plus 0.2 s compiling the
 * lexer, on every command that opens the lake.
 */
export async function openDuckDB(threads: number): Promise<DuckDBInstance> {
  const { DuckDBInstance } = require('@duckdb/node-api') as typeof DuckDB;
  return DuckDBInstance.create(':memory:', { threads: String(threads) });
}
