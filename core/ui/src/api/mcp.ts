import { useMutation, useQueries, useQuery, useQueryClient } from "@tanstack/react-query";
import { api, asList, enc } from "./client.ts";
import type { FleetNode, InstallMcpBody, McpPreset, McpServer } from "./types.ts";

export const mcpKeys = {
  presets: ["mcp", "presets"] as const,
  node: (nodeId: string) => ["mcp", "node", nodeId] as const,
};

export function useMcpPresets() {
  return useQuery({
    queryKey: mcpKeys.presets,
    queryFn: ({ signal }) => api.get<unknown>("/api/mcp/presets", signal).then((v) => asList<McpPreset>(v)),
    staleTime: 5 * 60_000,
  });
}

const fetchNodeServers = (nodeId: string, signal?: AbortSignal) =>
  api.get<unknown>(`/api/nodes/${enc(nodeId)}/mcp`, signal).then((v) => asList<McpServer>(v));

export function useNodeMcpServers(nodeId: string, options: { refetchInterval?: number } = {}) {
  return useQuery({
    queryKey: mcpKeys.node(nodeId),
    queryFn: ({ signal }) => fetchNodeServers(nodeId, signal),
    refetchInterval: options.refetchInterval ?? 10_000,
  });
}

/** Every Node's MCP servers, one query per Node so one unreachable Node does not hide the rest. */
export function useFleetMcpServers(nodes: FleetNode[]) {
  return useQueries({
    queries: nodes.map((node) => ({
      queryKey: mcpKeys.node(node.id),
      queryFn: ({ signal }: { signal: AbortSignal }) => fetchNodeServers(node.id, signal),
      refetchInterval: 10_000,
    })),
  });
}

export function useInstallMcp() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: ({ nodeId, body }: { nodeId: string; body: InstallMcpBody }) =>
      api.post<McpServer>(`/api/nodes/${enc(nodeId)}/mcp`, body),
    onSuccess: (_data, { nodeId }) => {
      void queryClient.invalidateQueries({ queryKey: ["nodes"] });
      return queryClient.invalidateQueries({ queryKey: mcpKeys.node(nodeId) });
    },
  });
}

export function useRemoveMcp() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: ({ nodeId, name }: { nodeId: string; name: string }) =>
      api.delete(`/api/nodes/${enc(nodeId)}/mcp/${enc(name)}`),
    onSuccess: (_data, { nodeId }) => {
      void queryClient.invalidateQueries({ queryKey: ["nodes"] });
      return queryClient.invalidateQueries({ queryKey: mcpKeys.node(nodeId) });
    },
  });
}
