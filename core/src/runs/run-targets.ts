import type { FleetToolsOptions } from "../agent/fleet-tools.ts";
import type { FleetNode, Job } from "../database/types.ts";
import { matchesSelector, parseSelector } from "../nodes/label-selector.ts";

export interface RunTarget {
  id: string;
  name: string;
}

/**
 * The Nodes a run of `job` works on, resolved when the run starts (so a Node enrolled after the
 * job was written, with matching labels, is in): the job's named Nodes in their order, then every
 * Node its selector matches, by name; each Node once. A named Node revoked since is left out.
 */
export async function resolveRunTargets(job: Job, nodes: { list(): Promise<FleetNode[]> }): Promise<RunTarget[]> {
  const all = await nodes.list();
  const byId = new Map(all.map((n) => [n.id, n]));
  const out: RunTarget[] = [];
  const seen = new Set<string>();
  const add = (n: FleetNode) => {
    if (seen.has(n.id)) return;
    seen.add(n.id);
    out.push({ id: n.id, name: n.name });
  };
  for (const id of job.nodes) {
    const node = byId.get(id);
    if (node) add(node);
  }
  if (job.selector !== null) {
    const selector = parseSelector(job.selector);
    for (const node of [...all].sort((a, b) => a.name.localeCompare(b.name))) {
      if (matchesSelector(selector, node.labels)) add(node);
    }
  }
  return out;
}

/** The failure of a run whose job resolves to no Node, said plainly. */
export function noTargetsError(job: Job): string {
  const parts = [];
  if (job.selector !== null) parts.push(`no Node matches the selector "${job.selector}"`);
  if (job.nodes.length) parts.push("none of the job's named Nodes exists any more");
  return `${parts.join(" and ") || "the job names no Nodes"}${NO_TARGETS_SUFFIX}`;
}

/** Stable codes for the run failures a client may act on (`errorCode` on GET /api/runs…). The run
 * row stores only the message; each code's message starts with a fixed text, so the code is
 * recovered from it without a column (a run stored before a code existed simply has none). */
const OFFLINE_PREFIX = "every target Node is offline";
const NO_TARGETS_SUFFIX = ": nothing to run on";
export type RunErrorCode = "nodes_offline" | "no_targets";

/** Issue 22.1: a run whose Nodes are all offline would offer the model zero tools, and a model
 * with no tools invents its report. The run fails instead, naming the Nodes. */
export function allOfflineError(names: string[], waited?: { since: string; until: string }): string {
  const list = `${OFFLINE_PREFIX} (${names.join(", ")})`;
  if (waited) {
    const seconds = Math.round((Date.parse(waited.until) - Date.parse(waited.since)) / 1000);
    return `${list}: none came online in the ${seconds} s the job waits for them (waitForNodesSeconds), so the agent was not started`;
  }
  return `${list}: the agent was not started, because without a Node it would have no tools`;
}

export function runErrorCode(error: string | null): RunErrorCode | null {
  if (error === null) return null;
  if (error.startsWith(OFFLINE_PREFIX)) return "nodes_offline";
  if (error.endsWith(NO_TARGETS_SUFFIX)) return "no_targets";
  return null;
}

/**
 * What the fleet tools of a many-Node run (agent/fleet-tools.ts) say of its Nodes: their labels,
 * and whether they are online; `list_nodes {selector}` filters them with the job selectors' rules.
 * Read only when the run is big enough to get those tools.
 */
export async function fleetToolsOptions(
  nodes: { list(): Promise<FleetNode[]> },
  nodeIds: readonly string[],
  offline: readonly string[],
): Promise<FleetToolsOptions> {
  const wanted = new Set(nodeIds);
  return {
    nodes: (await nodes.list())
      .filter((n) => wanted.has(n.id))
      .map((n) => ({ name: n.name, labels: n.labels, online: !offline.includes(n.name) })),
    matchSelector: (selector, labels) => matchesSelector(parseSelector(selector), labels),
  };
}
