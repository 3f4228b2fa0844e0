import { randomUUID } from "node:crypto";
import { ProtocolError, type ToolResult } from "@fabricore/protocol";
import { type AgentTool, toolResultText } from "../agent/index.ts";
import type { RateLimiter } from "../api/rate-limit.ts";
import type { NodeAccess } from "../nodes/node-access.ts";
import type { SecretRedactor } from "../secrets/redactor.ts";
import type { Principal } from "../services/accounts.ts";
import { type Audit, sha256Hex } from "../services/audit.ts";

/** Why an MCP call was not sent to its Node; the client sees it as an error result with this text. */
export class McpCallRefused extends Error {
  readonly code: "forbidden" | "rate_limited" | "denied";
  constructor(code: McpCallRefused["code"], message: string) {
    super(message);
    this.name = "McpCallRefused";
    this.code = code;
  }
}

/** Holds a call until an operator decides (mcp-approvals.ts); resolves with the decision. */
export interface McpApprovalWaiter {
  needsApproval(principal: Principal, tool: AgentTool): boolean;
  wait(
    principal: Principal,
    tool: AgentTool,
    args: Record<string, unknown>,
    opts: { signal: AbortSignal; onPending: (approvalId: string) => void },
  ): Promise<{ approved: boolean; reason: string | null; by: string | null }>;
}

export interface FleetToolCallerDeps {
  hub: Pick<NodeAccess, "callTool">;
  audit: Audit;
  redactor?: SecretRedactor;
  toolDeadlineMs: number;
  /** Calls per token and minute. */
  limiter: RateLimiter;
  approvals?: McpApprovalWaiter;
}

/**
 * One MCP `tools/call` on a Node's tool, under the same rules as a job's call: the role (a viewer
 * lists, never calls), the token's approval policy, the Node's own policy (it has the last word:
 * `exec_command` is refused there unless that Node allows it), secret redaction of arguments and
 * results, and one audit entry naming the user and the token.
 */
export class FleetToolCaller {
  private readonly deps: FleetToolCallerDeps;

  constructor(deps: FleetToolCallerDeps) {
    this.deps = deps;
  }

  async call(
    principal: Principal,
    tool: AgentTool,
    args: Record<string, unknown>,
    opts: { signal: AbortSignal; onPending?: (approvalId: string) => void },
  ): Promise<ToolResult> {
    // Tool calls are counted and timed by the hub itself (nodes/instrumented-node-access.ts).
    const { hub, audit, redactor } = this.deps;
    const started = performance.now();
    const at = new Date().toISOString();
    const target = `${tool.nodeName}/${tool.source === "builtin" ? "" : `${tool.source}/`}${tool.name}`;
    const record = (outcome: "ok" | "failed" | "denied", detail: Record<string, unknown>, resultText?: string) =>
      audit.record({
        actor: principal.username,
        action: "mcp.tool.call",
        target,
        outcome,
        detail: {
          via: "mcp",
          token: principal.tokenName ?? null,
          tokenId: principal.tokenId,
          nodeId: tool.nodeId,
          node: tool.nodeName,
          tool: tool.name,
          source: tool.source,
          arguments: redactor ? redactor.redactDeep(args) : args,
          startedAt: at,
          durationMs: Math.round(performance.now() - started),
          ...detail,
        },
        resultHash: resultText === undefined ? null : sha256Hex(resultText),
      });

    if (principal.role === "viewer") {
      await record("denied", { reason: "viewer" });
      throw new McpCallRefused("forbidden", "this token has the viewer role: it may list tools, not call them");
    }
    if (!this.deps.limiter.hit(principal.tokenId)) {
      await record("denied", { reason: "rate_limited" });
      throw new McpCallRefused("rate_limited", "too many tool calls with this token; try again in a minute");
    }
    const approvals = this.deps.approvals;
    if (approvals?.needsApproval(principal, tool)) {
      const decision = await approvals.wait(principal, tool, args, {
        signal: opts.signal,
        onPending: (id) => opts.onPending?.(id),
      });
      if (!decision.approved) {
        await record("denied", { reason: "approval", decidedBy: decision.by, because: decision.reason });
        throw new McpCallRefused(
          "denied",
          `the call was not approved${decision.by ? ` by ${decision.by}` : ""}${decision.reason ? `: ${decision.reason}` : ""}`,
        );
      }
    }
    try {
      const raw = await hub.callTool(
        tool.nodeId,
        {
          name: tool.name,
          source: tool.source,
          arguments: args,
          deadlineMs: this.deps.toolDeadlineMs,
          callId: `mcp:${randomUUID()}`,
        },
        { signal: opts.signal },
      );
      const result = redactor ? redactor.redactDeep(raw) : raw;
      await record("ok", { isError: result.isError }, toolResultText(result));
      return result;
    } catch (error) {
      await record("failed", { error: error instanceof Error ? error.message : String(error) });
      throw error instanceof ProtocolError ? error : new ProtocolError("internal", String(error));
    }
  }
}
