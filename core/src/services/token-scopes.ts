import type { FleetNode, Job, TokenScopes } from "../database/types.ts";
import { matchesSelector, parseSelector } from "../nodes/label-selector.ts";

/** Whether a label selector matches a Node's labels (throws SelectorError when it does not parse;
 * stored scopes were parsed when the token was made). */
export function selectorMatches(selector: string, labels: Record<string, string>): boolean {
  return matchesSelector(parseSelector(selector), labels);
}

/** Whether a scoped token reaches this Node (no selector: every Node). */
export function nodeInScope(scopes: TokenScopes | undefined, node: Pick<FleetNode, "labels">): boolean {
  return !scopes?.selector || selectorMatches(scopes.selector, node.labels);
}

/**
 * Why a scoped token may not run this job, or undefined when it may. A job uses its own tools, so
 * a token limited to some tools would escape its limit through any job; a token limited to some
 * Nodes may run a job whose every Node it reaches (a job selecting Nodes by label may reach others
 * tomorrow, so it is refused too).
 */
export function jobScopeRefusal(
  scopes: TokenScopes | undefined,
  job: Job,
  nodes: readonly FleetNode[],
): string | undefined {
  if (!scopes) return undefined;
  if (scopes.tools) return "a token limited to some tools cannot run jobs (a job uses its own tools)";
  if (!scopes.selector) return undefined;
  if ((job as Job & { selector?: string | null }).selector) {
    return "a token limited to some Nodes cannot run a job that selects its Nodes by label";
  }
  const byId = new Map(nodes.map((n) => [n.id, n]));
  for (const id of job.nodes) {
    const node = byId.get(id);
    if (!node || !nodeInScope(scopes, node))
      return `job ${job.name} uses node ${node?.name ?? id}, outside this token's scope`;
  }
  return undefined;
}
