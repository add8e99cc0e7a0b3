let changes = 0;

/**
 * Notes that this process changed a lake's tables (a commit, a
 * compaction, an erasure), so a Catalog in the same process looks at the
 * tables again at once rather than when its next check is due.
 */
export function noteTablesChanged(): void {
  changes++;
}

/** How many times this process changed a lake's tables. */
export function tablesChanged(): number {
  return changes;
}
