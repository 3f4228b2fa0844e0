import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { api, asList, enc } from "./client.ts";
import type { Secret } from "./types.ts";

const secretKeys = { all: ["secrets"] as const };

export function useSecrets() {
  return useQuery({
    queryKey: secretKeys.all,
    queryFn: ({ signal }) => api.get<unknown>("/api/secrets", signal).then((v) => asList<Secret>(v)),
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
