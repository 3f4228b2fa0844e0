import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { api, enc } from "./client.ts";
import { nodeKeys } from "./nodes.ts";
import type { Rollout, RolloutList, RolloutNode, RolloutSummary, StartRolloutBody } from "./types.ts";

/* Staged Node rollout (issue 18): POST /api/nodes/update and GET /api/nodes/rollouts[/:id]. The
 * types are the Core's own, named in api/types.ts. */

export type { Rollout, RolloutList, RolloutNode, RolloutSummary, StartRolloutBody };

const rolloutKeys = {
  all: ["node-rollouts"] as const,
  detail: (id: string) => ["node-rollouts", id] as const,
};

const active = (state: string | undefined) => state === "running" || state === "paused";

/** The latest rollouts; polled every 2 s while one is running or paused, else every 15 s. */
export function useRollouts() {
  return useQuery({
    queryKey: rolloutKeys.all,
    queryFn: ({ signal }) => api.get<RolloutList>("/api/nodes/rollouts?limit=5", signal),
    refetchInterval: (query) => (active(query.state.data?.rollouts[0]?.state) ? 2_000 : 15_000),
  });
}

export function useRollout(id: string | undefined) {
  return useQuery({
    queryKey: rolloutKeys.detail(id ?? ""),
    queryFn: ({ signal }) => api.get<Rollout>(`/api/nodes/rollouts/${enc(id ?? "")}`, signal),
    enabled: id !== undefined,
    refetchInterval: (query) => (active(query.state.data?.state) ? 2_000 : false),
  });
}

function useRolloutMutation<A>(fn: (arg: A) => Promise<Rollout>) {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: fn,
    onSuccess: async (rollout) => {
      queryClient.setQueryData(rolloutKeys.detail(rollout.id), rollout);
      await queryClient.invalidateQueries({ queryKey: rolloutKeys.all });
      await queryClient.invalidateQueries({ queryKey: nodeKeys.all });
    },
  });
}

export const useStartRollout = () =>
  useRolloutMutation((body: StartRolloutBody) => api.post<Rollout>("/api/nodes/update", body));
export const useCancelRollout = () =>
  useRolloutMutation((id: string) => api.post<Rollout>(`/api/nodes/rollouts/${enc(id)}/cancel`));
export const useResumeRollout = () =>
  useRolloutMutation((id: string) => api.post<Rollout>(`/api/nodes/rollouts/${enc(id)}/resume`));
