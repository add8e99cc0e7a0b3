export { SignInThrottle } from './access/SignInThrottle';
export type {
  SignInThrottleOptions,
  ThrottledAttempt,
  ThrottleRefusal,
} from './access/SignInThrottle';
export {
  addressGroup,
  DEFAULT_TRUSTED_PROXIES,
  plainAddress,
} from './access/clientAddress';
export { ErrorCode } from './ApiError';
export { lpacsSchema } from './buildSchema';
export { EXAMPLE_QUERY } from './http/landingPage';
export { LinkageReader } from './linkage/LinkageReader';
export { startServer } from './startServer';
export type { RunningServer, ServerOptions } from './startServer';
