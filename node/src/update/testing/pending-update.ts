import { join } from "node:path";
import type { PendingUpdate } from "../update-marker.ts";

/** An update marker as the old Node writes it before the swap, for an executable in `dir`. */
export function pendingUpdate(dir: string, overrides: Partial<PendingUpdate> = {}): PendingUpdate {
  return {
    version: 1,
    state: "pending",
    id: "u1",
    from: "1.0.0",
    to: "2.0.0",
    sha256: "ab".repeat(32),
    executable: join(dir, "fabricore-node"),
    previous: join(dir, "fabricore-node.previous"),
    pid: 4242,
    argv: ["--core", "http://127.0.0.1:1"],
    deadline: Date.now() + 60_000,
    ...overrides,
  };
}
