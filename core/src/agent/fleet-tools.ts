import { toolRef } from "@fabricore/protocol/tool-ref.ts";
import type { ToolSpec } from "../llm/types.ts";
import type { AgentTool } from "./types.ts";

/**
 * Many Nodes in ONE run without flattening (issue 13): past a few Nodes or a few dozen tools, a
 * flat `<node>__<tool>` list is more than a local 7–8B model can use, and it grows with the fleet.
 * Such a run offers three constant tools instead — `list_nodes`, `describe_tool`, `call_tool` —
 * over exactly the tools the flat list would have had (the job's allowlist already applied), so
 * the count the model sees stays 3 at 10 or 1,000 Nodes. A `call_tool` becomes a call of the real
 * tool: its arguments are checked against the real schema and it goes through the same router
 * (approvals, audit, redaction, the Node's own policy) as a flat call would.
 */

/** Past either, the run gets the fleet tools. */
export const FLEET_TOOLS_AT = { nodes: 8, tools: 40 } as const;

export const FLEET_TOOL_NAMES = ["list_nodes", "describe_tool", "call_tool"] as const;
type FleetToolName = (typeof FLEET_TOOL_NAMES)[number];

/** What the executor knows of a Node beyond its tools (labels; offline ones have no tools). */
export interface FleetNodeInfo {
  name: string;
  labels: Record<string, string>;
  online: boolean;
}

export interface FleetToolsOptions {
  nodes?: FleetNodeInfo[];
  /** Whether `labels` match a label selector; throws an Error naming the problem when it does not parse. */
  matchSelector?: (selector: string, labels: Record<string, string>) => boolean;
}

export type FleetOutcome =
  | { kind: "answer"; text: string }
  | { kind: "refused"; message: string }
  | { kind: "call"; tool: AgentTool; arguments: string };

const SPECS: ToolSpec[] = [
  {
    name: "list_nodes",
    description:
      "List the servers (Nodes) this run may use, with their labels, status and the names of their tools. Optional selector filters by labels (Kubernetes syntax, e.g. env=prod,role in (web,db)).",
    inputSchema: { type: "object", properties: { selector: { type: "string" } } },
  },
  {
    name: "describe_tool",
    description: "Show one tool of one Node: what it does and the JSON Schema of its arguments.",
    inputSchema: {
      type: "object",
      properties: { node: { type: "string" }, tool: { type: "string" } },
      required: ["node", "tool"],
    },
  },
  {
    name: "call_tool",
    description: "Run one tool on one Node. `arguments` must match the tool's input schema (see describe_tool).",
    inputSchema: {
      type: "object",
      properties: { node: { type: "string" }, tool: { type: "string" }, arguments: { type: "object" } },
      required: ["node", "tool"],
    },
  },
];

export class FleetTools {
  readonly specs = SPECS;
  private readonly byNode = new Map<string, AgentTool[]>();
  private readonly options: FleetToolsOptions;

  constructor(tools: readonly AgentTool[], options: FleetToolsOptions = {}) {
    this.options = options;
    for (const tool of tools) {
      const list = this.byNode.get(tool.nodeName) ?? [];
      list.push(tool);
      this.byNode.set(tool.nodeName, list);
    }
  }

  /** Null when the flat list is small enough to offer as it is. */
  static when(tools: readonly AgentTool[], options: FleetToolsOptions = {}): FleetTools | null {
    const nodes = new Set(tools.map((t) => t.nodeId)).size;
    if (nodes <= 1 || (nodes <= FLEET_TOOLS_AT.nodes && tools.length <= FLEET_TOOLS_AT.tools)) return null;
    return new FleetTools(tools, options);
  }

  has(name: string): name is FleetToolName {
    return (FLEET_TOOL_NAMES as readonly string[]).includes(name);
  }

  schemaOf(name: FleetToolName): object {
    return SPECS.find((s) => s.name === name)!.inputSchema;
  }

  handle(name: FleetToolName, args: Record<string, unknown>): FleetOutcome {
    if (name === "list_nodes") return this.list(typeof args.selector === "string" ? args.selector : undefined);
    const found = this.find(String(args.node ?? ""), String(args.tool ?? ""));
    if ("message" in found) return { kind: "refused", message: found.message };
    if (name === "describe_tool") {
      const { tool } = found;
      return {
        kind: "answer",
        text: JSON.stringify({
          node: tool.nodeName,
          tool: toolRef(tool),
          description: tool.description,
          inputSchema: tool.inputSchema,
        }),
      };
    }
    const given = args.arguments ?? {};
    return { kind: "call", tool: found.tool, arguments: typeof given === "string" ? given : JSON.stringify(given) };
  }

  private list(selector: string | undefined): FleetOutcome {
    const known = this.options.nodes ?? [...this.byNode.keys()].map((name) => ({ name, labels: {}, online: true }));
    let nodes = known;
    if (selector?.trim()) {
      if (!this.options.matchSelector) return { kind: "refused", message: "this run cannot filter Nodes by label" };
      try {
        nodes = known.filter((n) => this.options.matchSelector!(selector, n.labels));
      } catch (error) {
        return { kind: "refused", message: `bad selector: ${error instanceof Error ? error.message : String(error)}` };
      }
    }
    const rows = nodes.map((n) => ({
      node: n.name,
      labels: n.labels,
      status: n.online ? "online" : "offline",
      tools: (this.byNode.get(n.name) ?? []).map((t) => toolRef(t)),
    }));
    return { kind: "answer", text: JSON.stringify(rows) };
  }

  /** A tool by its Node's name and its own name or `<source>/<name>` (MCP tools of two servers may share a name). */
  private find(node: string, tool: string): { tool: AgentTool } | { message: string } {
    const tools = this.byNode.get(node);
    if (!tools) {
      const names = [...this.byNode.keys()].slice(0, 20).join(", ");
      return { message: `no Node named "${node}" in this run (list_nodes shows them; some: ${names})` };
    }
    const exact = tools.filter((t) => toolRef(t) === tool);
    const byName = exact.length ? exact : tools.filter((t) => t.name === tool);
    if (byName.length === 1) return { tool: byName[0]! };
    if (byName.length > 1)
      return { message: `"${tool}" is ambiguous on ${node}: say ${byName.map((t) => toolRef(t)).join(" or ")}` };
    return { message: `Node "${node}" has no tool "${tool}"; it has: ${tools.map((t) => toolRef(t)).join(", ")}` };
  }
}
