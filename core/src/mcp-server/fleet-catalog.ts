import { createHash } from "node:crypto";
import { type AgentTool, nameToolsForModel, type ToolToName } from "../agent/index.ts";
import type { FleetNode, TokenScopes } from "../database/types.ts";
import type { NodeAccess } from "../nodes/node-access.ts";

export interface FleetCatalogDeps {
  /** Every enrolled Node (names and labels come from storage, tools from the live hub). */
  listNodes(): Promise<FleetNode[]>;
  hub: Pick<NodeAccess, "get">;
  /** Whether a label selector matches a Node's labels (throws on a selector that does not parse). */
  selectorMatches(selector: string, labels: Record<string, string>): boolean;
}

/** One Node as `fabricore_list_nodes` shows it. */
export interface CatalogNode {
  id: string;
  name: string;
  labels: Record<string, string>;
  status: "online" | "offline";
  tools: string[];
}

export interface Catalog {
  nodes: CatalogNode[];
  /** Every tool a token may see, named `<node>__<tool>` (`<node>__<server>__<tool>` for MCP). */
  tools: AgentTool[];
  byName: Map<string, AgentTool>;
  /** Changes when the tool list a client holds would change (for notifications/tools/list_changed). */
  digest: string;
}

/** Whether a scoped token may use this tool: its own name, `<source>/<name>`, `mcp:<server>` (every
 * tool of a server) or the `<node>__…` name listed in `scopes.tools`. */
export function scopeAllowsTool(scopes: TokenScopes | undefined, tool: AgentTool): boolean {
  const allowed = scopes?.tools;
  if (!allowed) return true;
  return allowed.some(
    (t) => t === tool.name || t === `${tool.source}/${tool.name}` || t === tool.source || t === tool.modelName,
  );
}

/**
 * The fleet as an MCP client sees it: the Nodes a token's scope reaches and their tools, named so
 * a name never changes while Nodes come and go (the Node always in front). Built fresh per request
 * from storage and the hub, so revocations, new Nodes and label changes count at once.
 */
export class FleetCatalog {
  private readonly deps: FleetCatalogDeps;

  constructor(deps: FleetCatalogDeps) {
    this.deps = deps;
  }

  async build(scopes: TokenScopes | undefined, options: { selector?: string | undefined } = {}): Promise<Catalog> {
    const reached: Array<{ node: FleetNode; online: boolean }> = [];
    const toName: ToolToName[] = [];
    for (const node of await this.deps.listNodes()) {
      if (scopes?.selector && !this.deps.selectorMatches(scopes.selector, node.labels)) continue;
      if (options.selector && !this.deps.selectorMatches(options.selector, node.labels)) continue;
      const live = this.deps.hub.get(node.id);
      reached.push({ node, online: live !== undefined });
      for (const t of live?.tools ?? []) {
        toName.push({
          name: t.name,
          source: t.source,
          nodeId: node.id,
          nodeName: node.name,
          description: t.description,
          inputSchema: t.inputSchema,
        });
      }
    }
    // Named before the scope's tool filter: a scope may list `<node>__<tool>` names, and a name
    // must not depend on which tools a token happens to see.
    const tools = nameToolsForModel(toName, { nodePrefix: "always" }).tools.filter((t) => scopeAllowsTool(scopes, t));
    const byName = new Map(tools.map((t) => [t.modelName, t]));
    const nodes: CatalogNode[] = reached.map(({ node, online }) => ({
      id: node.id,
      name: node.name,
      labels: node.labels,
      status: online ? "online" : "offline",
      tools: tools.filter((t) => t.nodeId === node.id).map((t) => t.modelName),
    }));
    const digest = createHash("sha256")
      .update(JSON.stringify(tools.map((t) => [t.modelName, t.description, t.inputSchema])))
      .digest("hex");
    return { nodes, tools, byName, digest };
  }
}
