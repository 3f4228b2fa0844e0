import { runCli } from "./cli.ts";

/** `dist/fabricore`: the command line compiled into one executable (make build-cli). */
const code = await runCli(process.argv.slice(2), {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  env: process.env,
  stdoutIsTTY: process.stdout.isTTY === true,
  stderrIsTTY: process.stderr.isTTY === true,
  onInterrupt: (handler) => {
    const onSignal = () => {
      handler();
      process.exit(130);
    };
    process.once("SIGINT", onSignal);
    return () => process.off("SIGINT", onSignal);
  },
}).catch((error: unknown) => {
  process.stderr.write(
    `fabricore: unexpected failure: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  return 1;
});
// Output written to a pipe may still be in flight; exit once it is flushed.
process.stdout.write("", () => process.exit(code));
