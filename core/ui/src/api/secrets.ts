import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { api, asList, enc } from "./client.ts";
import type { Secret, UnreadableSecret } from "./types.ts";

const secretKeys = { all: ["secrets"] as const };

export function useSecrets() {
  return useQuery({
    queryKey: secretKeys.all,
    queryFn: ({ signal }) => api.get<unknown>("/api/secrets", signal).then((v) => asList<Secret>(v)),
  });
}

/** Stored values of every kind that do not decrypt: shown on the secrets page (issue 21.3). */
export function useUnreadableSecrets() {
  return useQuery({
    queryKey: [...secretKeys.all, "unreadable"],
    queryFn: ({ signal }) =>
      api.get<unknown>("/api/secrets/unreadable", signal).then((v) => asList<UnreadableSecret>(v)),
  });
}

export function useCreateSecret() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (body: { name: string; value: string }) => api.post<Secret>("/api/secrets", body),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: secretKeys.all }),
  });
}

export function useDeleteSecret() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (name: string) => api.delete(`/api/secrets/${enc(name)}`),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: secretKeys.all }),
  });
}
