import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { api, asList, enc } from "./client.ts";
import type { Channel, ChannelInput, ChannelTestResult } from "./types.ts";

const channelKeys = { all: ["channels"] as const };

export function useChannels() {
  return useQuery({
    queryKey: channelKeys.all,
    queryFn: ({ signal }) => api.get<unknown>("/api/channels", signal).then((v) => asList<Channel>(v)),
  });
}

export type { ChannelInput } from "./types.ts";

export function useCreateChannel() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (body: ChannelInput) => api.post<Channel>("/api/channels", body),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: channelKeys.all }),
  });
}

export function useDeleteChannel() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (id: string) => api.delete(`/api/channels/${enc(id)}`),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: channelKeys.all }),
  });
}

/** Sends a test message now; the answer is what the receiver said (ok or not). */
export function useTestChannel() {
  return useMutation({
    mutationFn: (id: string) => api.post<ChannelTestResult>(`/api/channels/${enc(id)}/test`, {}),
  });
}
