/**
 * Runs `work` over `items` with at most `limit` calls in flight, and
 * rejects with the first failure once the calls already started settle.
 * Small files are dominated by per-file round trips to the thread pool
 * (stat, open, copy, rename), which overlap well.
 */
export async function inParallel<T>(
  items: readonly T[],
  limit: number,
  work: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  let failure: { err: unknown } | undefined;
  const lane = async () => {
    while (!failure && next < items.length) {
      const item = items[next++]!;
      try {
        await work(item);
      } catch (err) {
        failure ??= { err };
      }
    }
  };
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, lane),
  );
  if (failure) throw failure.err;
}
