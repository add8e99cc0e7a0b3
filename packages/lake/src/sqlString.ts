/** A text as an SQL string literal (single quotes doubled), for paths. */
export function sqlString(text: string): string {
  return `'${text.replace(/'/g, "''")}'`;
}
