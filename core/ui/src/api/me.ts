import { useQuery } from "@tanstack/react-query";
import { api } from "./client.ts";

export interface Me {
  id: string;
  username: string;
  role: "admin" | "operator" | "viewer" | string;
}

/** Who is signed in, for the header; also the cheapest way to learn early that the session ended. */
export function useMe() {
  return useQuery({
    queryKey: ["me"],
    queryFn: ({ signal }) => api.get<Me>("/api/auth/me", signal),
    staleTime: 5 * 60_000,
  });
}
