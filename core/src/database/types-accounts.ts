import type { Role } from "./schema.ts";
import type { ApprovalPolicy } from "./types-jobs.ts";

/* Users and their tokens (session and API, scoped or not).
 * Imported through types.ts, which re-exports every one. */

export interface User {
  id: string;
  username: string;
  /** scrypt string from `hashPassword`; needed for login, never sent to a client. */
  passwordHash: string;
  role: Role;
  failedLogins: number;
  lockedUntil: string | null;
  createdAt: string;
}

export interface NewUser {
  username: string;
  passwordHash: string;
  role: Role;
}

export type TokenKind = "session" | "api";

/** An API or session token's metadata; the token itself is never stored, only its hash. */
export interface ApiToken {
  id: string;
  userId: string;
  name: string;
  kind: TokenKind;
  createdAt: string;
  expiresAt: string | null;
  lastUsedAt: string | null;
  /** A role below the owner's; null: the owner's role. */
  role: Role | null;
  /** Limits beyond the role; null: none. */
  scopes: TokenScopes | null;
  /** Which of this token's MCP tool calls wait for an operator; null: none. */
  mcpApproval: ApprovalPolicy | null;
}

/**
 * What a scoped token may reach: the Nodes `selector` (label selector syntax) matches, and only
 * the `tools` listed (a tool's own name, `<source>/<name>` or `mcp:<server>`). Absent: no limit.
 */
export interface TokenScopes {
  selector?: string;
  tools?: string[];
}

export interface NewApiToken {
  userId: string;
  name: string;
  /** `hashToken(token)` (SHA-256 hex). */
  tokenHash: string;
  kind: TokenKind;
  expiresAt?: string | null;
  role?: Role | null;
  scopes?: TokenScopes | null;
  mcpApproval?: ApprovalPolicy | null;
}
