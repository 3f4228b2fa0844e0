import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { api, asList, enc } from "./client.ts";
import type { McpApproval, McpCall } from "./types.ts";

export type { McpApproval, McpCall } from "./types.ts";

const keys = {
  pending: ["mcp-clients", "approvals", "pending"] as const,
  calls: ["mcp-clients", "calls"] as const,
};

/** Calls waiting for a decision; polled, since the MCP client is waiting on the other end. */
export function usePendingMcpApprovals(enabled = true) {
  return useQuery({
    queryKey: keys.pending,
    queryFn: ({ signal }) =>
      api.get<unknown>("/api/mcp/approvals?status=pending", signal).then((v) => asList<McpApproval>(v)),
    refetchInterval: 3_000,
    enabled,
  });
}

export function useMcpCalls(enabled = true) {
  return useQuery({
    queryKey: keys.calls,
    queryFn: ({ signal }) => api.get<unknown>("/api/mcp/calls?limit=100", signal).then((v) => asList<McpCall>(v)),
    refetchInterval: 5_000,
    enabled,
  });
}

export function useDecideMcpApproval() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: ({ id, approve, reason }: { id: string; approve: boolean; reason?: string }) =>
      api.post<McpApproval>(`/api/mcp/approvals/${enc(id)}/${approve ? "approve" : "deny"}`, reason ? { reason } : {}),
    onSuccess: () => {
      void queryClient.invalidateQueries({ queryKey: keys.calls });
      return queryClient.invalidateQueries({ queryKey: keys.pending });
    },
  });
}
