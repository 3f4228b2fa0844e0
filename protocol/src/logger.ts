/**
 * The one logger shape of the Core's rooms and of the Node program: a subset of pino's, so the
 * Core's pino logger fits as it is, and so does the Node's own JSON-lines logger (node/src/logger.ts,
 * no pino in the single executable). A part that logs only errors takes `Pick<Logger, "error">`.
 */
export interface Logger {
  debug(fields: Record<string, unknown>, message?: string): void;
  info(fields: Record<string, unknown>, message?: string): void;
  warn(fields: Record<string, unknown>, message?: string): void;
  error(fields: Record<string, unknown>, message?: string): void;
}
