import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { api, asList, enc } from "./client.ts";
import type {
  Provider,
  ProviderInput,
  ProviderKind,
  ProviderModel,
  ProviderPatch,
  ProviderTestAnswer,
} from "./types.ts";

export const providerKeys = {
  all: ["providers"] as const,
  models: (id: string) => ["providers", id, "models"] as const,
};

export function useProviders() {
  return useQuery({
    queryKey: providerKeys.all,
    queryFn: ({ signal }) => api.get<unknown>("/api/providers", signal).then((v) => asList<Provider>(v)),
  });
}

const fetchModels = (id: string, signal?: AbortSignal) =>
  api.get<unknown>(`/api/providers/${enc(id)}/models`, signal).then((v) => asList<ProviderModel>(v));

export function useProviderModels(id: string | null | undefined) {
  return useQuery({
    queryKey: providerKeys.models(id ?? ""),
    queryFn: ({ signal }) => fetchModels(id ?? "", signal),
    enabled: Boolean(id),
    staleTime: 60_000,
  });
}

/** "Test connection": listing models exercises the base URL and the key end to end. */
export function useTestProvider() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (id: string) => fetchModels(id),
    onSuccess: (models, id) => queryClient.setQueryData(providerKeys.models(id), models),
  });
}

export type { ProviderInput, ProviderPatch } from "./types.ts";

export function useUpdateProvider() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: ({ id, patch }: { id: string; patch: ProviderPatch }) =>
      api.patch<Provider>(`/api/providers/${enc(id)}`, patch),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: providerKeys.all }),
  });
}

/** Test before save: the settings as typed; with `providerId`, the stored key is used unless one is typed. */
export function useTestProviderSettings() {
  return useMutation({
    mutationFn: (body: Partial<ProviderInput> & { kind: ProviderKind; providerId?: string }) =>
      api.post<ProviderTestAnswer>("/api/providers/test", body),
  });
}

export function useCreateProvider() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (body: ProviderInput) => api.post<Provider>("/api/providers", body),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: providerKeys.all }),
  });
}

export function useDeleteProvider() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (id: string) => api.delete(`/api/providers/${enc(id)}`),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: providerKeys.all }),
  });
}
