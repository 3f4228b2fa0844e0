import { createHash } from "node:crypto";
import { ProtocolError, toolRef } from "@fabricore/protocol";
import type { ToolRouter } from "../agent/index.ts";
import { toolResultText } from "../agent/index.ts";
import type { ApprovalPolicy, Job, Run } from "../database/types.ts";
import type { NodeHub } from "../nodes/node-hub.ts";
import type { SecretRedactor } from "../secrets/redactor.ts";
import { type Audit, sha256Hex } from "../services/audit.ts";
import type { ApprovalGate } from "./approval-gate.ts";
import type { RunEventBus } from "./run-events.ts";

export interface RunToolRouterDeps {
  hub: Pick<NodeHub, "callTool">;
  events: RunEventBus;
  /** Every tool call is written to it (who, what, where, when, sha256 of the result text). */
  audit?: Audit | undefined;
  /** Secret values in arguments, streamed output and results become `[secret:NAME]`. */
  redactor?: SecretRedactor | undefined;
  /** Holds the calls the run's approval policy names until an operator decides. */
  approvals?: ApprovalGate | undefined;
  /** How far MCP progress may push a call's deadline back, from its start (issue 23). */
  toolMaxDeadlineMs?: number | undefined;
}

/**
 * A run's one tool router, composed here and nowhere else: approval (a call the policy names
 * waits for a person; a refused call never reaches the next layer) → audit and redaction → Node
 * access. Calls are counted and timed by the hub itself (nodes/instrumented-node-access.ts).
 */
export function runToolRouter(
  deps: RunToolRouterDeps,
  run: Run,
  job: Job,
  policy: ApprovalPolicy | null | undefined,
): ToolRouter {
  const audited = auditedNodeRouter(deps, run, job);
  return deps.approvals ? deps.approvals.wrap(audited, run.id, policy) : audited;
}

function auditedNodeRouter(deps: RunToolRouterDeps, run: Run, job: Job): ToolRouter {
  const { hub, audit, redactor, events } = deps;
  return {
    call: async (tool, args, opts) => {
      const started = performance.now();
      const at = new Date().toISOString();
      const record = (outcome: "ok" | "failed", detail: Record<string, unknown>, resultText?: string) =>
        audit?.record({
          actor: `job:${job.name}`,
          action: "tool.call",
          target: `${tool.nodeName}/${toolRef(tool)}`,
          outcome,
          detail: {
            runId: run.id,
            jobId: job.id,
            trigger: run.trigger,
            nodeId: tool.nodeId,
            tool: tool.name,
            source: tool.source,
            arguments: redactor ? redactor.redactDeep(args) : args,
            callId: opts.callId,
            startedAt: at,
            durationMs: Math.round(performance.now() - started),
            ...detail,
          },
          resultHash: resultText === undefined ? null : sha256Hex(resultText),
        });
      try {
        const raw = await hub.callTool(
          tool.nodeId,
          {
            name: tool.name,
            source: tool.source,
            arguments: args,
            deadlineMs: opts.deadlineMs,
            ...(deps.toolMaxDeadlineMs !== undefined && {
              maxDeadlineMs: Math.max(opts.deadlineMs, deps.toolMaxDeadlineMs),
            }),
            callId: boundedCallId(opts.callId),
          },
          {
            signal: opts.signal,
            // Shown live on the run's page (issue 22.2), through the same redaction as the result.
            // A piece is redacted alone: a secret split across two pieces is caught only in the
            // stored result (what a reload shows), as with streamed model text.
            onOutput: (stream, text) =>
              events.publish(run.id, {
                type: "output",
                callId: opts.callId,
                stream,
                text: redactor ? redactor.redact(text) : text,
              }),
            // MCP progress, on the in-flight call's row; its message is a server's text, redacted too.
            onProgress: (progress) =>
              events.publish(run.id, {
                type: "progress",
                callId: opts.callId,
                progress: progress.progress,
                ...(progress.total !== undefined && { total: progress.total }),
                ...(progress.message !== undefined && {
                  message: redactor ? redactor.redact(progress.message) : progress.message,
                }),
              }),
          },
        );
        // Redacted here, before the loop sees it: the model, the stored step and the audit hash
        // all get the same text, with no secret value in it.
        const result = redactor ? redactor.redactDeep(raw) : raw;
        await record("ok", { isError: result.isError }, toolResultText(result));
        return result;
      } catch (error) {
        await record("failed", { error: error instanceof Error ? error.message : String(error) });
        throw error instanceof ProtocolError ? error : new ProtocolError("internal", String(error));
      }
    },
  };
}

/** The protocol caps call ids at 128 characters; a provider's long tool-call id is hashed to fit
 * (still stable, so a retried call keeps its id). */
function boundedCallId(callId: string): string {
  return callId.length <= 128 ? callId : `h:${createHash("sha256").update(callId).digest("hex")}`;
}
