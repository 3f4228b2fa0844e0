import { useMutation, useQueryClient } from "@tanstack/react-query";
import { apiRequest } from "./client.ts";

export function useLogin() {
  return useMutation({
    mutationFn: (body: { username: string; password: string }) =>
      apiRequest<{ token: string }>("POST", "/api/auth/login", { body, skipUnauthorizedRedirect: true }),
  });
}

export function useLogout() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: () => apiRequest<unknown>("POST", "/api/auth/logout", { body: {}, skipUnauthorizedRedirect: true }),
    // Whatever the Core answered, nothing cached for this session may be shown to the next user.
    onSettled: () => queryClient.clear(),
  });
}

/** The caller's own password (any role). The Core ends every other session and token and sets a
 * new session cookie, so this tab stays signed in. */
export function useChangeOwnPassword() {
  return useMutation({
    mutationFn: (body: { currentPassword: string; newPassword: string }) =>
      apiRequest<{ token: string }>("POST", "/api/auth/password", { body }),
  });
}
