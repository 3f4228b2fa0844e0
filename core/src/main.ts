import pino from "pino";
import { createCore } from "./core.ts";
import { CORE_UMASK } from "./data-dir.ts";
import { loadCoreEnv, SettingsError } from "./env.ts";
import { redactingDestination, SecretRedactor } from "./secrets/redactor.ts";

/** `node core/src/main.ts` (make run-core): the Core, configured from the environment. */
async function main(): Promise<void> {
  // Whatever the Core creates (database, WAL, keys) is for its own user only (issue 21.4).
  process.umask(CORE_UMASK);
  let env: ReturnType<typeof loadCoreEnv>;
  try {
    env = loadCoreEnv();
  } catch (error) {
    if (error instanceof SettingsError) {
      console.error(error.message);
      process.exit(2);
    }
    throw error;
  }
  // Every log line passes the redactor: a secret's value (in an error message, a tool's output)
  // is written as [secret:NAME], whatever field it hides in.
  const redactor = new SecretRedactor();
  const logger = pino(
    {
      level: env.FABRICORE_LOG_LEVEL,
      // Never log a credential, wherever it appears in a logged object.
      redact: {
        paths: [
          "*.apiKey",
          "*.token",
          "*.password",
          "*.secret",
          "*.authorization",
          "req.headers.authorization",
          "req.headers.cookie",
        ],
        censor: "[redacted]",
      },
    },
    redactingDestination(redactor, process.stdout),
  );
  const core = await createCore(env, { logger, redactor });
  const address = await core.listen();
  logger.info({ address, version: core.ctx.version }, "FabriCore Core listening");
  if (core.adminPassword) {
    // Printed once, on the first start only; it is stored only as a scrypt hash.
    process.stdout.write(
      `\n  First start: user "admin", password: ${core.adminPassword}\n  (shown once; change it after logging in)\n\n`,
    );
  }
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, "shutting down");
    const force = setTimeout(() => process.exit(1), 10_000);
    force.unref();
    await core.close();
    process.exit(0);
  };
  process.on("SIGTERM", () => void stop("SIGTERM"));
  process.on("SIGINT", () => void stop("SIGINT"));
}

main().catch((error) => {
  console.error(error instanceof Error ? (error.stack ?? error.message) : error);
  process.exit(1);
});
