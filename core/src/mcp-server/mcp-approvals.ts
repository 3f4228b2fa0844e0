import type { AgentTool } from "../agent/index.ts";
import type { McpApproval, McpApprovalsRepo } from "../database/repos/mcp-approvals-repo.ts";
import { CoreError } from "../errors.ts";
import { DEFAULT_APPROVAL_TIMEOUT_SECONDS, needsApproval } from "../runs/approval-gate.ts";
import type { SecretRedactor } from "../secrets/redactor.ts";
import type { Principal } from "../services/accounts.ts";
import type { Audit, AuditActor } from "../services/audit.ts";
import type { McpApprovalWaiter } from "./fleet-tool-caller.ts";

export interface McpApprovalsDeps {
  repo: McpApprovalsRepo;
  audit: Audit;
  redactor?: SecretRedactor;
  /** How often a waiting call re-reads its row (a decision made on another replica). */
  pollMs?: number;
}

/**
 * Approval for MCP calls, by the token's policy (`mcpApproval`, the same shape as a job's): the
 * call is stored as pending (tool, Node, redacted arguments), the MCP client is told it waits, and
 * the call goes to its Node only once an operator approves it in the UI or the API. Deny, the
 * deadline, or the client giving up, and it never runs.
 */
export class McpApprovals implements McpApprovalWaiter {
  private readonly deps: McpApprovalsDeps;
  private readonly wakers = new Map<string, () => void>();

  constructor(deps: McpApprovalsDeps) {
    this.deps = deps;
  }

  needsApproval(principal: Principal, tool: AgentTool): boolean {
    return needsApproval(principal.mcpApproval, tool);
  }

  async wait(
    principal: Principal,
    tool: AgentTool,
    args: Record<string, unknown>,
    opts: { signal: AbortSignal; onPending: (approvalId: string) => void },
  ): Promise<{ approved: boolean; reason: string | null; by: string | null }> {
    const timeoutSeconds = principal.mcpApproval?.timeoutSeconds ?? DEFAULT_APPROVAL_TIMEOUT_SECONDS;
    const deadline = Date.now() + timeoutSeconds * 1000;
    const pending = await this.deps.repo.create({
      tokenId: principal.tokenId,
      tokenName: principal.tokenName ?? null,
      username: principal.username,
      nodeId: tool.nodeId,
      node: tool.nodeName,
      tool: tool.name,
      source: tool.source,
      arguments: this.deps.redactor ? this.deps.redactor.redactDeep(args) : args,
      deadline: new Date(deadline).toISOString(),
    });
    opts.onPending(pending.id);
    const pollMs = this.deps.pollMs ?? 1_000;
    let wake: (() => void) | undefined;
    const onAbort = () => wake?.();
    opts.signal.addEventListener("abort", onAbort, { once: true });
    this.wakers.set(pending.id, onAbort);
    try {
      for (;;) {
        const row = await this.deps.repo.get(pending.id);
        if (row && row.status !== "pending") {
          return { approved: row.status === "approved", reason: row.reason, by: row.decidedBy };
        }
        if (opts.signal.aborted || Date.now() >= deadline) {
          const why = opts.signal.aborted
            ? "the MCP client cancelled the call"
            : `no decision within ${timeoutSeconds} s`;
          if (await this.deps.repo.decide(pending.id, { status: "expired", by: null, reason: why })) {
            return { approved: false, reason: why, by: null };
          }
          continue; // decided in the same instant: that decision stands
        }
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, Math.min(pollMs, Math.max(0, deadline - Date.now())));
          wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        wake = undefined;
      }
    } finally {
      this.wakers.delete(pending.id);
      opts.signal.removeEventListener("abort", onAbort);
    }
  }

  async list(status?: McpApproval["status"]): Promise<McpApproval[]> {
    return this.deps.repo.list({ status });
  }

  async decide(id: string, decision: { approved: boolean; reason?: string | undefined }, by: AuditActor) {
    const row = await this.deps.repo.get(id);
    if (!row) throw new CoreError("not_found", `MCP approval ${id} not found`);
    const ok = await this.deps.repo.decide(id, {
      status: decision.approved ? "approved" : "denied",
      by: by.actor,
      reason: decision.reason ?? null,
    });
    if (!ok) throw new CoreError("conflict", `that call is ${row.status}, no longer pending`);
    await this.deps.audit.record({
      actor: by.actor,
      ip: by.ip ?? null,
      action: decision.approved ? "mcp.approve" : "mcp.deny",
      target: id,
      detail: { token: row.tokenName, node: row.node, tool: row.tool, reason: decision.reason ?? null },
    });
    this.wakers.get(id)?.();
    return (await this.deps.repo.get(id))!;
  }
}
