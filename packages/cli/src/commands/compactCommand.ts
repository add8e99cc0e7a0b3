import { AuditLog } from '@lpacs/access';
import { Lake } from '@lpacs/lake';
import { cliActor } from '../cliActor';
import type { Options } from '../options';

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
      for (const c of result) {
        process.stdout.write(
          `${c.table.padEnd(10)} ${c.batchesBefore} batches -> ${c.batchesAfter} (${c.rows} rows)\n`,
        );
      }
    }
    return 0;
  } finally {
    lake.close();
  }
}
