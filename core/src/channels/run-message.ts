import type { DeliveryEvent, Job, PendingApproval, Run } from "../database/types.ts";

/**
 * The body every channel is built from (CONTRACT "Results that reach people"): what a `webhook`
 * channel POSTs as JSON, and what the chat and email kinds render as text. Built when the event
 * happens and stored with the delivery, so every retry sends the same thing.
 */
/** `channel.test`: what POST /api/channels/:id/test sends (a receiver must not act on it as a run). */
export type PayloadType = DeliveryEvent | "channel.test";

export interface RunEventPayload {
  type: PayloadType;
  timestamp: string;
  run: {
    id: string;
    jobId: string;
    jobName: string;
    status: string;
    trigger: string;
    output: string | null;
    result: unknown;
    error: string | null;
    startedAt: string | null;
    finishedAt: string | null;
    url: string;
    nodes: string[];
  };
  /** With `run.waiting_approval`: the call waiting for a person, and where to decide. */
  approval?: {
    id: string;
    tool: string;
    node: string;
    arguments: unknown;
    deadline: string;
    url: string;
  };
}

/** Output in a webhook body is capped: a receiver is not a log store, and the run keeps it whole. */
const MAX_OUTPUT_CHARS = 64 * 1024;

export function runUrl(publicUrl: string, runId: string): string {
  return `${publicUrl.replace(/\/+$/, "")}/runs/${encodeURIComponent(runId)}`;
}

export function buildPayload(input: {
  event: DeliveryEvent;
  run: Run;
  job: Pick<Job, "id" | "name">;
  nodes: string[];
  publicUrl: string;
  approval?: PendingApproval | undefined;
  at?: Date;
}): RunEventPayload {
  const { run, job } = input;
  const url = runUrl(input.publicUrl, run.id);
  const output =
    run.output !== null && run.output.length > MAX_OUTPUT_CHARS
      ? `${run.output.slice(0, MAX_OUTPUT_CHARS)}\n… (truncated; the whole answer is on the run)`
      : run.output;
  return {
    type: input.event,
    timestamp: (input.at ?? new Date()).toISOString(),
    run: {
      id: run.id,
      jobId: job.id,
      jobName: job.name,
      status: input.event === "run.waiting_approval" ? "waiting_approval" : run.status,
      trigger: run.trigger,
      output,
      // Structured output (issue 14, the run half) puts the validated JSON on the run as `result`.
      result: (run as Run & { result?: unknown }).result ?? null,
      error: run.error,
      startedAt: run.startedAt,
      finishedAt: run.finishedAt,
      url,
      nodes: input.nodes,
    },
    ...(input.approval
      ? {
          approval: {
            id: input.approval.id,
            tool: input.approval.tool,
            node: input.approval.node,
            arguments: input.approval.arguments,
            deadline: input.approval.deadline,
            url,
          },
        }
      : {}),
  };
}

const HEADLINE: Record<PayloadType, { verb: string; mark: string }> = {
  "channel.test": { verb: "test message: this channel works", mark: "🔔" },
  "run.succeeded": { verb: "succeeded", mark: "✅" },
  "run.failed": { verb: "failed", mark: "❌" },
  "run.waiting_approval": { verb: "is waiting for approval", mark: "⏸️" },
};

/** The first lines of a text, at most `maxChars`, marked when cut. */
export function firstLines(text: string, maxLines = 12, maxChars = 1200): string {
  const lines = text.trim().split("\n");
  let out = lines.slice(0, maxLines).join("\n");
  if (out.length > maxChars) out = `${out.slice(0, maxChars).trimEnd()}…`;
  else if (lines.length > maxLines) out += "\n…";
  return out;
}

export interface RenderedMessage {
  /** One line: "❌ disk-report failed". */
  title: string;
  /** Nodes, the answer's first lines (or the error), the pending call. */
  body: string;
  url: string;
}

/** The human message of a payload, the same facts for Slack, Discord, ntfy and email. */
export function renderMessage(payload: RunEventPayload): RenderedMessage {
  const head = HEADLINE[payload.type];
  const { run } = payload;
  const lines: string[] = [];
  if (run.nodes.length) lines.push(`Nodes: ${run.nodes.join(", ")}`);
  lines.push(`Trigger: ${run.trigger} · run ${run.id}`);
  if (payload.approval) {
    lines.push(`Waiting call: ${payload.approval.tool} on ${payload.approval.node}`);
    lines.push(`Arguments: ${firstLines(JSON.stringify(payload.approval.arguments), 5, 400)}`);
    lines.push(`Approve or deny before ${payload.approval.deadline}: ${payload.approval.url}`);
  } else if (run.status === "failed" && run.error) {
    lines.push(`Error: ${firstLines(run.error, 6, 600)}`);
  }
  if (!payload.approval && run.output) lines.push("", firstLines(run.output));
  return { title: `${head.mark} ${run.jobName} ${head.verb}`, body: lines.join("\n"), url: run.url };
}

/** The body of a channel test: shaped like a run event so a receiver sees what it will get. */
export function testPayload(publicUrl: string, channelName: string, at = new Date()): RunEventPayload {
  return {
    type: "channel.test",
    timestamp: at.toISOString(),
    run: {
      id: "test",
      jobId: "test",
      jobName: `FabriCore channel ${channelName}`,
      status: "succeeded",
      trigger: "manual",
      output: "If you can read this, FabriCore can reach you here.",
      result: null,
      error: null,
      startedAt: at.toISOString(),
      finishedAt: at.toISOString(),
      url: publicUrl.replace(/\/+$/, ""),
      nodes: [],
    },
  };
}
