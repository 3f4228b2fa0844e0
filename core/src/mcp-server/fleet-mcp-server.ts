import { ProtocolError, type ToolResult } from "@fabricore/protocol";
import { Server } from "@modelcontextprotocol/sdk/server/index.js";
import {
  CallToolRequestSchema,
  type CallToolResult,
  ListToolsRequestSchema,
  type Tool,
} from "@modelcontextprotocol/sdk/types.js";
import { z } from "zod";
import type { AgentTool } from "../agent/index.ts";
import { CoreError } from "../errors.ts";
import { SelectorError } from "../nodes/label-selector.ts";
import type { Principal } from "../services/accounts.ts";
import type { FleetCatalog } from "./fleet-catalog.ts";
import type { FleetJobRunner } from "./fleet-job-runner.ts";
import { type FleetToolCaller, McpCallRefused } from "./fleet-tool-caller.ts";

export interface FleetMcpServerDeps {
  catalog: FleetCatalog;
  caller: FleetToolCaller;
  jobs: FleetJobRunner;
  version: string;
  /** Above this many Node tools the list offers only the constant fleet tools (a large fleet's
   * hundreds of tools do not fit a model's prompt; `fabricore_call_tool` reaches every one). */
  maxListedTools: number;
}

const ListNodesArgs = z.strictObject({ selector: z.string().min(1).max(1000).optional() });
const RunJobArgs = z.strictObject({ job: z.string().min(1).max(200), input: z.unknown().optional() });
const CallToolArgs = z.strictObject({
  node: z.string().min(1).max(200),
  tool: z.string().min(1).max(300),
  arguments: z.record(z.string(), z.unknown()).optional(),
});

const FLEET_TOOLS: Tool[] = [
  {
    name: "fabricore_list_nodes",
    title: "List the fleet's Nodes",
    description:
      "Lists the servers (Nodes) this token reaches: name, labels, online or offline, and the names of their tools. " +
      "`selector` filters by label (Kubernetes syntax: env=prod,role in (web,db),!canary).",
    inputSchema: { type: "object", properties: { selector: { type: "string" } }, additionalProperties: false },
    annotations: { readOnlyHint: true, openWorldHint: false },
  },
  {
    name: "fabricore_call_tool",
    title: "Call a tool on one Node",
    description:
      "Calls one tool on one Node by the Node's name and the tool's own name (`read_file`, or `<server>/<tool>` for an MCP server's tool).",
    inputSchema: {
      type: "object",
      properties: { node: { type: "string" }, tool: { type: "string" }, arguments: { type: "object" } },
      required: ["node", "tool"],
      additionalProperties: false,
    },
  },
  {
    name: "fabricore_run_job",
    title: "Run a FabriCore job",
    description:
      "Runs a FabriCore job by name or id (with optional `input`), reports its steps as progress and returns its output.",
    inputSchema: {
      type: "object",
      properties: { job: { type: "string" }, input: {} },
      required: ["job"],
      additionalProperties: false,
    },
  },
];

/** What a built-in tool does, for the client's UI (MCP tool annotations). MCP servers' tools carry
 * no annotations across the Node protocol yet, so they get none rather than a guess. */
function annotationsFor(tool: AgentTool): Tool["annotations"] | undefined {
  if (tool.source !== "builtin") return undefined;
  if (tool.name === "read_file" || tool.name === "system_stats") return { readOnlyHint: true, openWorldHint: false };
  if (tool.name === "exec_command") return { readOnlyHint: false, destructiveHint: true, openWorldHint: false };
  return undefined;
}

function describe(tool: AgentTool): Tool {
  const annotations = annotationsFor(tool);
  return {
    name: tool.modelName,
    title: `${tool.name} on ${tool.nodeName}`,
    description: `[Node ${tool.nodeName}${tool.source === "builtin" ? "" : `, ${tool.source}`}] ${tool.description}`,
    inputSchema: { type: "object", ...(tool.inputSchema as Record<string, unknown>) } as Tool["inputSchema"],
    ...(annotations ? { annotations } : {}),
  };
}

function errorResult(text: string): CallToolResult {
  return { content: [{ type: "text", text }], isError: true };
}

function asCallToolResult(result: ToolResult): CallToolResult {
  return {
    content: result.content as CallToolResult["content"],
    ...(result.structuredContent ? { structuredContent: result.structuredContent } : {}),
    isError: result.isError,
  };
}

/**
 * One MCP session's server: the fleet's tools for the session's token. `principal()` is the one
 * the latest HTTP request authenticated, so a revoked or demoted token counts at once.
 */
export function createFleetMcpServer(
  deps: FleetMcpServerDeps,
  principal: () => Principal,
  onListed: (digest: string) => void = () => {},
): Server {
  const server = new Server(
    { name: "fabricore", title: "FabriCore fleet", version: deps.version },
    {
      capabilities: { tools: { listChanged: true } },
      instructions:
        "Tools of the user's servers, named <node>__<tool>. Calls run on that server under FabriCore's policies " +
        "(roles, approvals, the server's own limits) and are audited.",
    },
  );

  server.setRequestHandler(ListToolsRequestSchema, async () => {
    const catalog = await deps.catalog.build(principal().scopes);
    onListed(catalog.digest);
    const nodeTools = catalog.tools.length > deps.maxListedTools ? [] : catalog.tools.map(describe);
    return { tools: [...FLEET_TOOLS, ...nodeTools] };
  });

  server.setRequestHandler(CallToolRequestSchema, async (request, extra): Promise<CallToolResult> => {
    const who = principal();
    const { name } = request.params;
    const args = request.params.arguments ?? {};
    const progressToken = request.params._meta?.progressToken;
    const progress = (done: number, message: string) => {
      if (progressToken === undefined) return;
      void extra
        .sendNotification({ method: "notifications/progress", params: { progressToken, progress: done, message } })
        .catch(() => {});
    };
    try {
      if (name === "fabricore_list_nodes") {
        const parsed = ListNodesArgs.safeParse(args);
        if (!parsed.success) return errorResult(`invalid arguments: ${z.prettifyError(parsed.error)}`);
        const catalog = await deps.catalog.build(who.scopes, { selector: parsed.data.selector });
        return {
          content: [{ type: "text", text: JSON.stringify({ nodes: catalog.nodes }, null, 2) }],
          structuredContent: { nodes: catalog.nodes },
        };
      }
      if (name === "fabricore_run_job") {
        const parsed = RunJobArgs.safeParse(args);
        if (!parsed.success) return errorResult(`invalid arguments: ${z.prettifyError(parsed.error)}`);
        const outcome = await deps.jobs.run(who, parsed.data, { signal: extra.signal, progress });
        const text =
          outcome.status === "succeeded" ? (outcome.output ?? "") : `run ${outcome.status}: ${outcome.error ?? ""}`;
        return {
          content: [{ type: "text", text }],
          structuredContent: { ...outcome },
          isError: outcome.status !== "succeeded",
        };
      }
      const catalog = await deps.catalog.build(who.scopes);
      let tool: AgentTool | undefined;
      let toolArgs: Record<string, unknown> = args;
      if (name === "fabricore_call_tool") {
        const parsed = CallToolArgs.safeParse(args);
        if (!parsed.success) return errorResult(`invalid arguments: ${z.prettifyError(parsed.error)}`);
        const { node, tool: wanted } = parsed.data;
        tool = catalog.tools.find(
          (t) =>
            (t.nodeName === node || t.nodeId === node) && (t.name === wanted || `${t.source}/${t.name}` === wanted),
        );
        if (!tool)
          return errorResult(`no tool ${wanted} on node ${node} that this token may use (see fabricore_list_nodes)`);
        toolArgs = parsed.data.arguments ?? {};
      } else {
        tool = catalog.byName.get(name);
        if (!tool) return errorResult(`unknown tool ${name}, or its Node is offline or outside this token's scope`);
      }
      const result = await deps.caller.call(who, tool, toolArgs, {
        signal: extra.signal,
        onPending: (approvalId) => progress(0, `waiting for an operator's approval (${approvalId})`),
      });
      return asCallToolResult(result);
    } catch (error) {
      if (error instanceof McpCallRefused) return errorResult(error.message);
      if (error instanceof ProtocolError) return errorResult(`${error.code}: ${error.message}`);
      if (error instanceof CoreError || error instanceof SelectorError) return errorResult(error.message);
      throw error;
    }
  });
  return server;
}
