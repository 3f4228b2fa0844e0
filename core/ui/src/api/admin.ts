import { keepPreviousData, useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { api, asList, enc } from "./client.ts";
import type { ApiToken, AuditEntryView, CreateApiTokenBody, CreatedApiToken, Role, User } from "./types.ts";

const keys = {
  users: ["users"] as const,
  tokens: ["tokens"] as const,
  audit: (filters: AuditFilters) => ["audit", filters] as const,
};

export function useUsers(enabled = true) {
  return useQuery({
    queryKey: keys.users,
    queryFn: ({ signal }) => api.get<unknown>("/api/users", signal).then((v) => asList<User>(v)),
    enabled,
  });
}

export function useCreateUser() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (body: { username: string; password: string; role: Role }) => api.post<User>("/api/users", body),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: keys.users }),
  });
}

export function useUpdateUser() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: ({ id, ...body }: { id: string; role?: Role; password?: string }) =>
      api.patch<User>(`/api/users/${enc(id)}`, body),
    onSuccess: () => {
      // An admin who changed their own role sees the new one at once (buttons and pages follow it).
      void queryClient.invalidateQueries({ queryKey: ["me"] });
      return queryClient.invalidateQueries({ queryKey: keys.users });
    },
  });
}

export function useDeleteUser() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (id: string) => api.delete(`/api/users/${enc(id)}`),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: keys.users }),
  });
}

/** The signed-in user's own API tokens (every role has them; a token carries its owner's role). */
export function useApiTokens() {
  return useQuery({
    queryKey: keys.tokens,
    queryFn: ({ signal }) => api.get<unknown>("/api/tokens", signal).then((v) => asList<ApiToken>(v)),
    refetchInterval: 60_000,
  });
}

export type { CreateApiTokenBody } from "./types.ts";

export function useCreateApiToken() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (body: CreateApiTokenBody) => api.post<CreatedApiToken>("/api/tokens", body),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: keys.tokens }),
  });
}

export function useRevokeApiToken() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (id: string) => api.delete(`/api/tokens/${enc(id)}`),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: keys.tokens }),
  });
}

export interface AuditFilters {
  action?: string;
  actor?: string;
  /** What the entry is about: a run, job or Node id, a secret's name. */
  target?: string;
  /** Leave out sign-in sessions' `token.use` entries (API tokens' uses stay). */
  hideSessionTokenUse?: boolean;
  /** ISO timestamp: entries at or after it. */
  since?: string;
  limit: number;
}

/** The audit log, newest first. The Core filters by exact action and actor and by time, and caps
 * a page at 1000 entries; paging through what it returned happens in the browser. */
export function useAudit(filters: AuditFilters, enabled = true) {
  return useQuery({
    queryKey: keys.audit(filters),
    queryFn: async ({ signal }): Promise<AuditEntryView[]> => {
      const params = new URLSearchParams();
      if (filters.action) params.set("action", filters.action);
      if (filters.actor) params.set("actor", filters.actor);
      if (filters.target) params.set("target", filters.target);
      if (filters.since) params.set("since", filters.since);
      if (filters.hideSessionTokenUse) params.set("hideSessionTokenUse", "true");
      params.set("limit", String(filters.limit));
      return asList<AuditEntryView>(await api.get<unknown>(`/api/audit?${params}`, signal));
    },
    placeholderData: keepPreviousData,
    enabled,
  });
}
