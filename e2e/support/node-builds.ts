/**
 * Compiled Nodes of chosen versions for the self-update tests: the same sources as make build-node,
 * with the version baked in by `--define FABRICORE_NODE_BUILD_VERSION` and the build mark (node/src/main.ts). Without
 * --minify and --bytecode, which only shape start time, so each build takes a few seconds.
 */
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { ROOT } from "./harness.ts";

export function buildNodeVersion(version: string, outfile: string): string {
  execFileSync(
    "npx",
    [
      "bun",
      "build",
      "--compile",
      "--no-compile-autoload-dotenv",
      "--no-compile-autoload-bunfig",
      "--external",
      "cpu-features",
      "--define",
      `FABRICORE_NODE_BUILD_VERSION=${JSON.stringify(version)}`,
      // The mark the Core reads the served version from (core/src/nodes/build-mark.ts).
      "--define",
      `FABRICORE_NODE_BUILD_MARK=${JSON.stringify(`fabricore-node-version=${version}`)}`,
      join(ROOT, "node/src/main.ts"),
      "--outfile",
      outfile,
    ],
    { cwd: ROOT, stdio: ["ignore", "ignore", "inherit"] },
  );
  return outfile;
}

export const sha256Of = (path: string) => createHash("sha256").update(readFileSync(path)).digest("hex");
