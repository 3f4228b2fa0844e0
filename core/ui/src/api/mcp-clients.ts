import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { api, asList, enc } from "./client.ts";

/** A tool call an MCP client made through /mcp that its token's approval policy holds. */
export interface McpApproval {
  id: string;
  tokenId: string;
  tokenName: string | null;
  username: string;
  nodeId: string;
  node: string;
  tool: string;
  source: string;
  arguments: unknown;
  status: "pending" | "approved" | "denied" | "expired";
  requestedAt: string;
  deadline: string;
  decidedBy: string | null;
  decidedAt: string | null;
  reason: string | null;
}

/** One MCP tool call from the audit log (`mcp.tool.call`). */
export interface McpCall {
  /** The audit entry's id. */
  id: number;
  at: string;
  user: string;
  token: string | null;
  target: string | null;
  outcome: string;
  detail: { durationMs?: number; reason?: string; error?: string; isError?: boolean; arguments?: unknown };
}

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
