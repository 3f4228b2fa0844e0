import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { api, asList, enc } from "./client.ts";
import type { EnrolledNode, FleetNode, NodeStatsHistory } from "./types.ts";

export const nodeKeys = {
  all: ["nodes"] as const,
  detail: (id: string) => ["nodes", id] as const,
};

export function useNodes(options: { refetchInterval?: number } = {}) {
  return useQuery({
    queryKey: nodeKeys.all,
    queryFn: ({ signal }) => api.get<unknown>("/api/nodes", signal).then((v) => asList<FleetNode>(v)),
    refetchInterval: options.refetchInterval ?? 15_000,
  });
}

export function useNode(id: string, options: { refetchInterval?: number } = {}) {
  return useQuery({
    queryKey: nodeKeys.detail(id),
    queryFn: ({ signal }) => api.get<FleetNode>(`/api/nodes/${enc(id)}`, signal),
    refetchInterval: options.refetchInterval,
  });
}

export function useEnrollNode() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (body: { name: string; labels?: Record<string, string> }) => api.post<EnrolledNode>("/api/nodes", body),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: nodeKeys.all }),
  });
}

export function useRevokeNode() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (id: string) => api.delete(`/api/nodes/${enc(id)}`),
    onSuccess: (_data, id) => {
      queryClient.removeQueries({ queryKey: nodeKeys.detail(id) });
      return queryClient.invalidateQueries({ queryKey: nodeKeys.all });
    },
  });
}

/** A new enrollment token for an existing Node, shown once; the Node's current key keeps working
 * until the Node registers a new key with it. */
export function useRotateNodeToken() {
  return useMutation({
    mutationFn: (id: string) => api.post<EnrolledNode>(`/api/nodes/${enc(id)}/rotate`),
  });
}

/** The Nodes a label selector matches now (`GET /api/nodes?selector=`); a selector that does not
 * parse comes back as the Core's 400, whose message names the position. Not retried: a typo stays
 * a typo. Disabled for an empty selector. */
export function useNodesMatching(selector: string) {
  return useQuery({
    queryKey: [...nodeKeys.all, "matching", selector] as const,
    queryFn: ({ signal }) =>
      api.get<unknown>(`/api/nodes?selector=${encodeURIComponent(selector)}`, signal).then((v) => asList<FleetNode>(v)),
    enabled: selector.trim() !== "",
    retry: false,
    placeholderData: (previous) => previous,
  });
}

export type { NodeStatsPoint } from "./types.ts";

/** The Node's last 24 h, for its sparklines; refreshed as often as a bucket may change. */
export function useNodeStatsHistory(id: string) {
  return useQuery({
    queryKey: [...nodeKeys.detail(id), "stats-history"] as const,
    queryFn: ({ signal }) => api.get<NodeStatsHistory>(`/api/nodes/${enc(id)}/stats/history`, signal),
    refetchInterval: 60_000,
  });
}
