import type { McpLogsResult, NodeMcpPolicy } from "@fabricore/protocol";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { api, enc } from "./client.ts";
import { mcpKeys } from "./mcp.ts";
import type { McpServer } from "./types.ts";

/* Retry/Restart and logs of one MCP server, and what a Node allows (issue 22.5). */

/** GET /api/nodes/:id/mcp/:name/logs: the Node's answer (protocol/src/mcp-ops.ts), redacted, with the Node's name. */
export type McpServerLogs = McpLogsResult & { node: string };
export type McpLogLine = McpServerLogs["lines"][number];
/** What a Node lets managed MCP servers do, from its flags (`capabilities.mcpPolicy` of the Node). */
export type { NodeMcpPolicy };

export function useRestartMcp() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: ({ nodeId, name }: { nodeId: string; name: string }) =>
      api.post<McpServer>(`/api/nodes/${enc(nodeId)}/mcp/${enc(name)}/restart`),
    onSuccess: (_data, { nodeId, name }) => {
      void queryClient.invalidateQueries({ queryKey: ["nodes"] });
      void queryClient.invalidateQueries({ queryKey: ["mcp", "logs", nodeId, name] });
      return queryClient.invalidateQueries({ queryKey: mcpKeys.node(nodeId) });
    },
  });
}

export function useMcpLogs(nodeId: string, name: string, tail: number, enabled: boolean) {
  return useQuery({
    queryKey: ["mcp", "logs", nodeId, name, tail],
    queryFn: ({ signal }) =>
      api.get<McpServerLogs>(`/api/nodes/${enc(nodeId)}/mcp/${enc(name)}/logs?tail=${tail}`, signal),
    enabled,
    // Logs are read when asked for (Refresh), not polled: each read is a round trip to the Node.
    staleTime: Number.POSITIVE_INFINITY,
    gcTime: 0,
  });
}
