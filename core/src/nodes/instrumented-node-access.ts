import type { Metrics } from "../metrics.ts";
import type { NodeAccess } from "./node-access.ts";

/**
 * The Nodes as the rest of the Core uses them, with every tool call counted and timed in one place
 * (`fabricore_tool_calls_total`, `fabricore_tool_call_duration_seconds`): a run's calls and the
 * `/mcp` endpoint's go through here alike. In cluster mode it wraps the cluster facade, so a call
 * is counted once, on the replica that made it, wherever the Node is connected.
 */
export function instrumentToolCalls(nodes: NodeAccess, metrics: Pick<Metrics, "toolCall">): NodeAccess {
  return {
    get: (nodeId) => nodes.get(nodeId),
    isOnline: (nodeId) => nodes.isOnline(nodeId),
    syncMcp: (nodeId, specs) => nodes.syncMcp(nodeId, specs),
    mcpServerOp: (nodeId, op) => nodes.mcpServerOp(nodeId, op),
    disconnect: (...args) => nodes.disconnect(...args),
    onlineCount: () => nodes.onlineCount(),
    onlineNodeIds: () => nodes.onlineNodeIds(),
    callTool: async (nodeId, call, options) => {
      const started = performance.now();
      const tool = { name: call.name, source: call.source ?? "builtin" };
      const seconds = () => (performance.now() - started) / 1000;
      try {
        const result = await nodes.callTool(nodeId, call, options);
        metrics.toolCall(tool, result.isError ? "tool_error" : "ok", seconds());
        return result;
      } catch (error) {
        metrics.toolCall(tool, "failed", seconds());
        throw error;
      }
    },
  };
}
