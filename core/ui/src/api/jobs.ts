import { keepPreviousData, useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { api, asList, enc } from "./client.ts";
import type { CronPreview, Job, JobInput } from "./types.ts";

export const jobKeys = {
  all: ["jobs"] as const,
  detail: (id: string) => ["jobs", id] as const,
};

export function useJobs(options: { refetchInterval?: number } = {}) {
  return useQuery({
    queryKey: jobKeys.all,
    queryFn: ({ signal }) => api.get<unknown>("/api/jobs", signal).then((v) => asList<Job>(v)),
    refetchInterval: options.refetchInterval ?? 30_000,
  });
}

export function useJob(id: string | undefined) {
  return useQuery({
    queryKey: jobKeys.detail(id ?? ""),
    queryFn: ({ signal }) => api.get<Job>(`/api/jobs/${enc(id ?? "")}`, signal),
    enabled: Boolean(id),
  });
}

export function useSaveJob() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: ({ id, body }: { id?: string; body: JobInput }) =>
      id ? api.patch<Job>(`/api/jobs/${enc(id)}`, body) : api.post<Job>("/api/jobs", body),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: jobKeys.all }),
  });
}

export function useSetJobEnabled() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: ({ id, enabled }: { id: string; enabled: boolean }) =>
      api.patch<Job>(`/api/jobs/${enc(id)}`, { enabled }),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: jobKeys.all }),
  });
}

export function useDeleteJob() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (id: string) => api.delete(`/api/jobs/${enc(id)}`),
    onSuccess: (_data, id) => {
      queryClient.removeQueries({ queryKey: jobKeys.detail(id) });
      return queryClient.invalidateQueries({ queryKey: jobKeys.all });
    },
  });
}

export function useRunJob() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: ({ id, input }: { id: string; input?: unknown }) =>
      api.post<{ runId: string }>(`/api/jobs/${enc(id)}/run`, input === undefined ? {} : { input }),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: ["runs"] }),
  });
}

/** Plain-language description and next fire times of a cron expression, computed by the Core so
 * the UI shows exactly what the scheduler will do (same cron library, same time zone database). */
export function useCronPreview(cron: string, timezone: string) {
  const trimmed = cron.trim();
  return useQuery({
    queryKey: ["cron-preview", trimmed, timezone],
    queryFn: () => api.post<CronPreview>("/api/cron/preview", { cron: trimmed, timezone }),
    enabled: trimmed.length > 0,
    placeholderData: keepPreviousData,
    staleTime: 60_000,
  });
}
