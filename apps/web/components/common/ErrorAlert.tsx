import { GraphQLRequestError } from '../../lib/graphql';

const HINTS: Record<string, string> = {
  FORBIDDEN: 'Your role does not allow this.',
  UNAUTHENTICATED: 'Your session has ended; sign in again.',
  BAD_USER_INPUT: 'Please correct the value and try again.',
};

/** An error as the user should read it: what failed, why, what to do. */
export function ErrorAlert({ what, error }: { what: string; error: unknown }) {
  const message = error instanceof Error ? error.message : String(error);
  const hint =
    error instanceof GraphQLRequestError && error.code
      ? HINTS[error.code]
      : undefined;
  return (
    <p role="alert" className="error">
      {what}: {message}
      {hint ? `${/[.!?]$/.test(message) ? '' : '.'} ${hint}` : null}
    </p>
  );
}
