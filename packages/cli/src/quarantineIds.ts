/** Status and `quarantine list` show ids this long; fewer digits may do. */
const SHORTEST = 8;

/**
 * The entry ids `given` name: each a whole id, or a prefix of at least 8
 * hexadecimal digits that starts exactly one of `known`.
 * @throws Error naming the first id that names no entry, or several.
 */
export function resolveEntryIds(
  given: readonly string[],
  known: readonly string[],
): string[] {
  const ids = new Set<string>();
  for (const raw of given) {
    const prefix = raw.toLowerCase();
    const shown = JSON.stringify(raw.slice(0, 40));
    if (!new RegExp(`^[0-9a-f]{${SHORTEST},32}$`).test(prefix))
      throw new Error(
        `${shown} is not a quarantine entry id: give ${SHORTEST} to 32 of the hexadecimal digits lpacs quarantine list shows`,
      );
    const matches = known.filter((id) => id.startsWith(prefix));
    if (matches.length !== 1)
      throw new Error(
        matches.length
          ? `${shown} starts ${matches.length} quarantine entry ids: give more digits`
          : `no quarantine entry ${shown} (lpacs quarantine list shows them)`,
      );
    ids.add(matches[0]!);
  }
  return [...ids];
}
