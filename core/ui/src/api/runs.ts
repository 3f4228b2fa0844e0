import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { api, asList, enc } from "./client.ts";
import type { Run, RunDay, RunStatus } from "./types.ts";

export const runKeys = {
  list: (filters: RunFilters) => ["runs", "list", filters] as const,
  detail: (id: string) => ["runs", id] as const,
};

export interface RunFilters {
  jobId?: string | null;
  status?: RunStatus | null;
  trigger?: string | null;
  nodeId?: string | null;
  /** Created on or after / before these ISO instants. */
  since?: string | null;
  until?: string | null;
  /** Text in the output or the error. */
  q?: string | null;
  /** Newest N runs; the Core caps it at 500. */
  limit?: number;
}

export function useRuns(
  filters: RunFilters = {},
  options: { refetchInterval?: number | false; enabled?: boolean } = {},
) {
  return useQuery({
    queryKey: runKeys.list(filters),
    queryFn: async ({ signal }) => {
      const params = new URLSearchParams();
      if (filters.jobId) params.set("jobId", filters.jobId);
      if (filters.status) params.set("status", filters.status);
      for (const key of ["trigger", "nodeId", "since", "until", "q"] as const) {
        const value = filters[key];
        if (value) params.set(key, value);
      }
      params.set("limit", String(filters.limit ?? 200));
      const query = params.toString();
      const runs = asList<Run>(await api.get<unknown>(`/api/runs${query ? `?${query}` : ""}`, signal));
      // Filter here too, so a Core that ignores a filter parameter still shows the right rows.
      return runs
        .filter(
          (r) => (!filters.jobId || r.jobId === filters.jobId) && (!filters.status || r.status === filters.status),
        )
        .sort((a, b) => runTime(b) - runTime(a));
    },
    refetchInterval: options.refetchInterval ?? false,
    enabled: options.enabled ?? true,
  });
}

export function runTime(run: { createdAt?: string; startedAt?: string | null; finishedAt?: string | null }): number {
  const iso = run.createdAt ?? run.startedAt ?? run.finishedAt;
  return iso ? Date.parse(iso) : 0;
}

export function useRun(id: string, options: { refetchInterval?: number | false } = {}) {
  return useQuery({
    queryKey: runKeys.detail(id),
    queryFn: ({ signal }) => api.get<Run>(`/api/runs/${enc(id)}`, signal),
    refetchInterval: options.refetchInterval ?? false,
  });
}

export function useCancelRun() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (id: string) => api.post<unknown>(`/api/runs/${enc(id)}/cancel`),
    onSuccess: (_data, id) => queryClient.invalidateQueries({ queryKey: runKeys.detail(id) }),
  });
}

/** Approve the call a run waits on; `approvalId` pins the decision to the call on screen, so a stale
 * page cannot approve a later one (the Core answers 409). */
export function useApproveRun() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: ({ id, approvalId }: { id: string; approvalId?: string }) =>
      api.post<Run>(`/api/runs/${enc(id)}/approve`, approvalId ? { approvalId } : {}),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: ["runs"] }),
  });
}

export function useDenyRun() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: ({ id, approvalId, reason }: { id: string; approvalId?: string; reason: string }) =>
      api.post<Run>(`/api/runs/${enc(id)}/deny`, { reason, ...(approvalId ? { approvalId } : {}) }),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: ["runs"] }),
  });
}

export type { RunDay } from "./types.ts";

/** Runs per UTC day over the last `days` days (the dashboard's chart), counted by the Core. */
export function useRunStats(days: number, options: { refetchInterval?: number | false } = {}) {
  return useQuery({
    queryKey: ["runs", "stats", days] as const,
    queryFn: async ({ signal }) => (await api.get<{ days: RunDay[] }>(`/api/runs/stats?days=${days}`, signal)).days,
    refetchInterval: options.refetchInterval ?? false,
  });
}
