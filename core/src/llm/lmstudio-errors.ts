import { LlmError } from "./errors.ts";

/** Where LM Studio's tokens are made, said in every auth error so the fix is one step away. */
const WHERE_TOKENS_ARE =
  "create one in LM Studio (Developer → Server Settings → Manage Tokens) and set it as this provider's API key";

/**
 * LM Studio 0.4's "Require Authentication" answers every route without a valid token with 401 and
 * `{"error": {"type": "invalid_request", "code": "invalid_api_key", "message": "An LM Studio API
 * token is required …"}}`. The raw text names an environment variable the Core does not read, so
 * the error says what a FabriCore user has to do: `auth_required` when no token was sent,
 * `auth_failed` when the one sent was refused.
 */
export function describeLmStudioAuth(err: LlmError, hasToken: boolean): LlmError {
  if (err.status !== 401 && err.status !== 403 && err.code !== "auth_failed") return err;
  const said = err.message.slice(0, 300);
  if (!hasToken) {
    return new LlmError(
      "auth_required",
      `LM Studio requires an API token: ${WHERE_TOKENS_ARE} (LM Studio said: ${said})`,
      {
        ...(err.status !== undefined ? { status: err.status } : {}),
        cause: err,
      },
    );
  }
  return new LlmError(
    "auth_failed",
    `LM Studio refused this provider's API token (deleted, or without the permission): ${WHERE_TOKENS_ARE} (LM Studio said: ${said})`,
    { ...(err.status !== undefined ? { status: err.status } : {}), cause: err },
  );
}
