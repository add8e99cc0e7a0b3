/** A count as the portal shows it: 12,345. */
export function formatCount(n: number): string {
  return n.toLocaleString('en');
}

/** Bytes in binary units: 1.5 MiB. */
export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return unit === 0
    ? `${bytes} B`
    : `${value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`;
}

/** An ISO timestamp as a short UTC date and time: 2026-12-04 18:10 UTC. */
export function formatDateTime(iso: string): string {
  return `${iso.slice(0, 10)} ${iso.slice(11, 16)} UTC`;
}

/** A signed difference: +3, -2 or 0. */
export function formatDiff(n: number): string {
  return n > 0 ? `+${formatCount(n)}` : formatCount(n);
}
