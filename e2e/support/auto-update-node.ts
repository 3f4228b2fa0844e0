import { spawn } from "node:child_process";
import { copyFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { type ApiClient, Proc, tempDir } from "./harness.ts";

/** Temporary directories of one suite: each holds ~100 MB executables, so all go at the end. */
export function suiteDirs(): { make: (prefix: string) => string; removeAll: () => void } {
  const dirs: string[] = [];
  return {
    make(prefix) {
      const dir = tempDir(prefix);
      dirs.push(dir);
      return dir;
    },
    removeAll() {
      for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface AutoUpdateNode {
  id: string;
  dir: string;
  /** The Node's own copy of the build: the file its self-update replaces. */
  executable: string;
  dataDir: string;
  proc: Proc;
}

/** Enrolls `name` and starts the compiled `build` with --auto-update from its own copy in `dir`,
 * as an installed Node runs; the caller stops `proc`. */
export async function startAutoUpdateNode(options: {
  api: ApiClient;
  coreUrl: string;
  name: string;
  build: string;
  dir: string;
  labels?: Record<string, string>;
  deadlineSeconds: number;
}): Promise<AutoUpdateNode> {
  const { api, coreUrl, name, build, dir, labels, deadlineSeconds } = options;
  const created = await api.ok("POST", "/api/nodes", labels ? { name, labels } : { name });
  const executable = join(dir, "fabricore-node");
  copyFileSync(build, executable);
  const dataDir = join(dir, "data");
  const args = [
    "--core",
    coreUrl,
    "--data-dir",
    dataDir,
    "--auto-update",
    "--update-deadline",
    String(deadlineSeconds),
  ];
  const proc = new Proc(
    spawn(executable, args, {
      env: { ...process.env, FABRICORE_NODE_TOKEN: created.token, FABRICORE_LOG_LEVEL: "info" },
      stdio: ["ignore", "pipe", "pipe"],
    }),
  );
  return { id: created.id as string, dir, executable, dataDir, proc };
}
