import { createHash } from "node:crypto";
import type { ToolDescriptor } from "@fabricore/protocol";
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
 * a name never changes while Nodes come and go (the Node always in front). Built per request from
 * storage and the hub, so revocations, new Nodes and label changes count at once; only the naming
 * of an unchanged set of Nodes and tool lists is reused.
 */
export class FleetCatalog {
  private readonly deps: FleetCatalogDeps;
  /** A number per distinct tool list the hub holds (it keeps identical lists once and replaces,
   * never mutates, a Node's list), so a fleet's state fits in a short key. */
  private readonly listIds = new WeakMap<object, number>();
  private nextListId = 1;
  /** The named tools and digests of the last few distinct fleet states (one per set of Nodes a
   * token's selector reaches): naming a large fleet's tools is the expensive part of a build,
   * and every call, list and list-changed check builds. Keyed by every input of the naming. */
  private readonly named = new Map<string, { tools: AgentTool[]; digests: Map<string, string> }>();

  constructor(deps: FleetCatalogDeps) {
    this.deps = deps;
  }

  private listId(list: object): number {
    let id = this.listIds.get(list);
    if (id === undefined) {
      id = this.nextListId++;
      this.listIds.set(list, id);
    }
    return id;
  }

  async build(scopes: TokenScopes | undefined, options: { selector?: string | undefined } = {}): Promise<Catalog> {
    const reached: Array<{ node: FleetNode; online: boolean; tools: readonly ToolDescriptor[] }> = [];
    const keyParts: string[] = [];
    for (const node of await this.deps.listNodes()) {
      if (scopes?.selector && !this.deps.selectorMatches(scopes.selector, node.labels)) continue;
      if (options.selector && !this.deps.selectorMatches(options.selector, node.labels)) continue;
      const live = this.deps.hub.get(node.id);
      const tools = live?.tools ?? [];
      reached.push({ node, online: live !== undefined, tools });
      if (tools.length > 0) keyParts.push(`${node.id}\u0001${node.name}\u0001${this.listId(tools)}`);
    }
    const key = keyParts.join("\u0000");
    let entry = this.named.get(key);
    if (entry) {
      // Most recently used last, so the oldest is the first to go.
      this.named.delete(key);
      this.named.set(key, entry);
    } else {
      const toName: ToolToName[] = [];
      for (const { node, tools } of reached) {
        for (const t of tools) {
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
      entry = { tools: nameToolsForModel(toName, { nodePrefix: "always" }).tools, digests: new Map() };
      this.named.set(key, entry);
      if (this.named.size > NAMED_CACHE_SIZE) this.named.delete(this.named.keys().next().value as string);
    }
    const tools = scopes?.tools ? entry.tools.filter((t) => scopeAllowsTool(scopes, t)) : entry.tools;
    const byName = new Map(tools.map((t) => [t.modelName, t]));
    // Grouped in one pass: filtering every Node's tools out of the whole list was quadratic, 5 s
    // per build at 10,000 Nodes, and a build runs on every call.
    const namesByNode = new Map<string, string[]>();
    for (const t of tools) {
      const list = namesByNode.get(t.nodeId);
      if (list) list.push(t.modelName);
      else namesByNode.set(t.nodeId, [t.modelName]);
    }
    const nodes: CatalogNode[] = reached.map(({ node, online }) => ({
      id: node.id,
      name: node.name,
      labels: node.labels,
      status: online ? "online" : "offline",
      tools: namesByNode.get(node.id) ?? [],
    }));
    const toolsKey = JSON.stringify(scopes?.tools ?? null);
    let digest = entry.digests.get(toolsKey);
    if (digest === undefined) {
      digest = createHash("sha256")
        .update(JSON.stringify(tools.map((t) => [t.modelName, t.description, t.inputSchema])))
        .digest("hex");
      entry.digests.set(toolsKey, digest);
    }
    return { nodes, tools, byName, digest };
  }
}

const NAMED_CACHE_SIZE = 16;
