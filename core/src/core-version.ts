import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** The Core package's version (core/package.json), reported by /api/health and in the Node hello. */
export const CORE_VERSION: string = (
  JSON.parse(readFileSync(join(dirname(fileURLToPath(import.meta.url)), "..", "package.json"), "utf8")) as {
    version: string;
  }
).version;

/** The checkout's root: where the compiled Node builds (dist/) live unless FABRICORE_NODE_BINARY_DIR says. */
export const REPO_ROOT: string = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
