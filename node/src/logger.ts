import type { Logger } from "@fabricore/protocol";

/** The Node program logs through protocol's `Logger`, the same shape the Core's rooms take. */
export type { Logger };

export const LOG_LEVELS = ["debug", "info", "warn", "error", "silent"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/**
 * One JSON object per line on stderr. The Node is a single executable with no dependency budget
 * for pino; journald and `docker logs` both take JSON lines as they are.
 */
export function createLogger(
  level: LogLevel = "info",
  write: (line: string) => void = (line) => process.stderr.write(line),
): Logger {
  const threshold = LOG_LEVELS.indexOf(level);
  const at =
    (name: Exclude<LogLevel, "silent">) =>
    (fields: Record<string, unknown>, message?: string): void => {
      if (LOG_LEVELS.indexOf(name) < threshold) return;
      const entry: Record<string, unknown> = { time: new Date().toISOString(), level: name, msg: message ?? "" };
      for (const [key, value] of Object.entries(fields)) {
        entry[key] = value instanceof Error ? { message: value.message, name: value.name } : value;
      }
      write(`${JSON.stringify(entry)}\n`);
    };
  return { debug: at("debug"), info: at("info"), warn: at("warn"), error: at("error") };
}

/** For tests and embedding: drops everything. */
export const silentLogger: Logger = createLogger("silent");
