import { createHash } from "node:crypto";

/** Labels on every container the Node starts: how a restarted Node finds, adopts or removes them.
 * On their own so that the idle Node's check for left-behind containers (mcp/lazy-mcp.ts) does not
 * load the container-spec code with them. */
export const LABELS = {
  managed: "fabricore.managed",
  node: "fabricore.node",
  server: "fabricore.server",
  specHash: "fabricore.spec-hash",
} as const;

/** The `fabricore.node` label of one Node installation, derived from its data directory (one per
 * installation), so that a Node adopts and removes only the containers it started. */
export function containerNodeId(dataDir: string): string {
  return `data-${createHash("sha256").update(dataDir).digest("hex").slice(0, 16)}`;
}
