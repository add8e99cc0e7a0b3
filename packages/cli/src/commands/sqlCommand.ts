import { Catalog } from '@lpacs/lake';
import type { Plain } from '@lpacs/lake';
import type { Options } from '../options';
import { requireLake } from '../requireLake';

/** What a cell prints as: NULL, numbers and text as they are, lists joined. */
function cell(v: Plain | undefined): string {
  if (v === null || v === undefined) return 'NULL';
  if (Array.isArray(v)) return `[${v.map(cell).join(', ')}]`;
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

/** Rows as aligned text columns under their names (numbers right-aligned). */
export function formatRows(rows: Array<Record<string, Plain>>): string {
  if (!rows.length) return '(no rows)\n';
  const names = Object.keys(rows[0]!);
  const text = rows.map((r) => names.map((n) => cell(r[n])));
  const numeric = names.map((n) =>
    rows.every((r) => typeof r[n] === 'number' || r[n] === null),
  );
  const width = names.map((n, i) =>
    Math.max(n.length, ...text.map((t) => t[i]!.length)),
  );
  const line = (values: string[]) =>
    values
      .map((v, i) => (numeric[i] ? v.padStart(width[i]!) : v.padEnd(width[i]!)))
      .join('  ')
      .trimEnd();
  return [
    line(names),
    line(width.map((w) => '-'.repeat(w))),
    ...text.map(line),
    `(${rows.length} ${rows.length === 1 ? 'row' : 'rows'})`,
    '',
  ].join('\n');
}

/**
 * `lpacs sql QUERY`: DuckDB SQL over the lake's views (instances, series,
 * studies, patients, attributes, predictions), the ones the API queries.
 * No server and no duckdb CLI needed; the lake holds no PHI to show.
 */
export async function sqlCommand(
  rest: string[],
  opts: Options,
): Promise<number> {
  if (rest.length !== 1 || !rest[0]!.trim()) {
    process.stderr.write(
      'lpacs: give one SQL query, quoted, e.g. lpacs sql "SELECT Modality, count(*) FROM instances GROUP BY 1"\n',
    );
    return 2;
  }
  await requireLake(opts.lake);
  const catalog = await Catalog.open(opts.lake, { threads: 2 });
  try {
    let rows;
    try {
      rows = await catalog.query(rest[0]!);
    } catch (err) {
      const message = (err as Error).message.split('\n')[0];
      throw Object.assign(new Error(message), { code: 'SQL_ERROR' });
    }
    process.stdout.write(
      opts.json ? `${JSON.stringify(rows, null, 2)}\n` : formatRows(rows),
    );
    return 0;
  } finally {
    await catalog.close();
  }
}
