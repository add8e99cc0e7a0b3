import { AuditLog } from '@lpacs/access';
import { Lake } from '@lpacs/lake';
import type { Compaction } from '@lpacs/lake';
import { cliActor } from '../cliActor';
import { counted } from '../format';
import type { Options } from '../options';

/** One table's line: what was merged, or that nothing needed merging. */
function compactionText(c: Compaction): string {
  const rows = counted(c.rows, 'row');
  if (c.batchesBefore === 0) return `${c.table}: empty, nothing to do`;
  if (c.batchesBefore === 1)
    return `${c.table}: already one file (${rows}), nothing to do`;
  return `${c.table}: ${c.batchesBefore} batches -> ${c.batchesAfter} (${rows})`;
}

/** `lpacs compact`: merges each table's batches into one Parquet file. */
export async function compactCommand(opts: Options): Promise<number> {
  const lake = await Lake.open(opts.lake);
  try {
    const result = await lake.compact();
    await new AuditLog(opts.lake).append({
      actor: cliActor(),
      action: 'compact',
      outcome: 'ok',
      detail: Object.fromEntries(
        result.map((c) => [c.table, `${c.batchesBefore}->${c.batchesAfter}`]),
      ),
    });
    if (opts.json) process.stdout.write(JSON.stringify(result, null, 2) + '\n');
    else {
      for (const c of result) process.stdout.write(`${compactionText(c)}\n`);
    }
    return 0;
  } finally {
    lake.close();
  }
}
