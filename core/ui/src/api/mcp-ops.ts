import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { api, enc } from "./client.ts";
import { mcpKeys } from "./mcp.ts";
import type { McpPreset, McpPresetSetting, McpServer } from "./types.ts";

/* Retry/Restart and logs of one MCP server, and what a Node allows (issue 22.5). */

export interface McpLogLine {
  at?: string;
  /** `node`: the Node's own line about the server (a start, a failure and why). */
  stream: "stdout" | "stderr" | "node";
  text: string;
}

/** GET /api/nodes/:id/mcp/:name/logs */
export interface McpServerLogs {
  node: string;
  name: string;
  /** `container`: Docker's log of its container; `node`: what the Node kept of its attempts. */
  source: "container" | "node";
  containerId?: string;
  lines: McpLogLine[];
  truncated: boolean;
}

/** What a Node lets managed MCP servers do, from its flags (`capabilities.mcpPolicy` of the Node). */
export interface NodeMcpPolicy {
  mountRoots: string[];
  mountRwRoots: string[];
  allowImages: string[];
  allowOpenNetwork: boolean;
  allowEgress: string[];
  allowRoot: boolean;
}

/** A preset as GET /api/mcp/presets sends it, with what the install dialog checks before sending. */
export type McpPresetDetails = Omit<McpPreset, "settings"> & {
  settings?: Array<McpPresetSetting & { required?: boolean }>;
  mounts?: { min: number; max: number; description?: string };
  network?: "none" | "open" | { allow: string[] };
};

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
