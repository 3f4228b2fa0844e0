import { useQuery } from "@tanstack/react-query";
import { api } from "./client.ts";
import type { Me, Role } from "./types.ts";

export type { Me } from "./types.ts";

/** Who is signed in, for the header; also the cheapest way to learn early that the session ended. */
export function useMe() {
  return useQuery({
    queryKey: ["me"],
    queryFn: ({ signal }) => api.get<Me>("/api/auth/me", signal),
    staleTime: 5 * 60_000,
  });
}

const RANK: Record<Role, number> = { viewer: 0, operator: 1, admin: 2 };

/**
 * What the signed-in user may do, from GET /api/auth/me's role (the Core checks every request
 * anyway; this only hides buttons that would answer 403). Until the role is known nothing is
 * offered, so a viewer never sees a mutating button flash.
 */
export function usePermissions() {
  const me = useMe();
  const rank = me.data ? (RANK[me.data.role as Role] ?? 0) : -1;
  return {
    known: Boolean(me.data),
    role: me.data?.role ?? null,
    /** Runs and edits jobs, cancels runs, approves or denies tool calls. */
    canOperate: rank >= RANK.operator,
    /** Nodes, MCP servers, providers, secrets, users, the audit log. */
    isAdmin: rank >= RANK.admin,
  };
}
