import { AuditLog } from '@lpacs/access';
import { Lake } from '@lpacs/lake';
import type { Compaction, Sweep } from '@lpacs/lake';
import { cliActor } from '../cliActor';
import { counted, megabytes } from '../format';
import type { Options } from '../options';
import { progressWriter } from '../progress';
import { requireLake } from '../requireLake';

/** One table's line: what was merged, or that nothing needed merging. */
function compactionText(c: Compaction): string {
  const rows = counted(c.rows, 'row');
  if (c.batchesBefore === 0) return `${c.table}: empty, nothing to do`;
  if (c.batchesBefore === 1)
    return `${c.table}: already one file (${rows}), nothing to do`;
  return `${c.table}: ${c.batchesBefore} batches -> ${c.batchesAfter} (${rows})`;
}

/** The objects' line: what the sweep kept and what it removed. */
function sweepText(s: Sweep): string {
  if (!s.removed) return `objects: ${s.kept} kept, none unreferenced`;
  return `objects: ${s.kept} kept; ${s.removed} that no instance names removed, ${megabytes(s.bytesFreed)} freed`;
}

/**
 * `lpacs compact`: merges each table's batches into one Parquet file,
 * then deletes the objects no instance names (a killed ingest's).
 */
export async function compactCommand(opts: Options): Promise<number> {
  await requireLake(opts.lake);
  const lake = await Lake.open(opts.lake);
  try {
    // Each step in turn, with its time so far, once a second.
    const progress = progressWriter(opts.json);
    const started = Date.now();
    let step = "merging each table's batches";
    const line = () =>
      `  compact: ${step}  ${Math.round((Date.now() - started) / 1000)} s`;
    progress.show(line);
    const timer = setInterval(() => progress.show(line), 1000);
    let result: Compaction[];
    let sweep: Sweep;
    try {
      result = await lake.compact();
      step = 'removing objects no instance names';
      progress.show(line);
      sweep = await lake.sweepObjects();
    } finally {
      clearInterval(timer);
      progress.clear();
    }
    await new AuditLog(opts.lake).append({
      actor: cliActor(),
      action: 'compact',
      outcome: 'ok',
      detail: {
        ...Object.fromEntries(
          result.map((c) => [c.table, `${c.batchesBefore}->${c.batchesAfter}`]),
        ),
        objectsRemoved: sweep.removed,
        bytesFreed: sweep.bytesFreed,
      },
    });
    if (opts.json)
      process.stdout.write(
        JSON.stringify({ tables: result, objects: sweep }, null, 2) + '\n',
      );
    else {
      for (const c of result) process.stdout.write(`${compactionText(c)}\n`);
      process.stdout.write(`${sweepText(sweep)}\n`);
    }
    return 0;
  } finally {
    lake.close();
  }
}
