/** The audit log's name for whoever runs the CLI: `cli:<login name>`. */
export function cliActor(): string {
  return `cli:${process.env.USER ?? 'unknown'}`;
}
