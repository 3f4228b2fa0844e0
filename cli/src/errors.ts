/** Why the command line stops; each code has its exit status (`exitCodeOf`). */
export type CliErrorCode =
  /** Wrong arguments or flags: exit 2, like most Unix tools. */
  | "usage"
  /** No URL or token configured. */
  | "config"
  /** A job file that does not read or validate. */
  | "file"
  /** The API answered with an error (its `error.message` is the message). */
  | "api"
  /** The Core could not be reached. */
  | "network";

export class CliError extends Error {
  readonly code: CliErrorCode;
  /** For `api`: the HTTP status and the API's own error code. */
  readonly status?: number;
  readonly apiCode?: string;

  constructor(code: CliErrorCode, message: string, details: { status?: number; apiCode?: string } = {}) {
    super(message);
    this.name = "CliError";
    this.code = code;
    this.status = details.status;
    this.apiCode = details.apiCode;
  }
}

export function exitCodeOf(error: CliError): number {
  return error.code === "usage" ? 2 : 1;
}
