import { userInfo } from 'node:os';

/** The audit log's name for whoever runs the CLI: `cli:<login name>`. */
export function cliActor(): string {
  let login = process.env.USER || process.env.LOGNAME;
  try {
    login ||= userInfo().username; // the account, when the shell sets no USER
  } catch {
    // no passwd entry for this uid
  }
  return `cli:${login || 'unknown'}`;
}
