import { ToolResult } from "@fabricore/protocol";
import { z } from "zod";
import type { SseEvent } from "./sse.ts";
import type { Style } from "./style.ts";

/** The run events of GET /api/runs/:id/events (core/src/api/routes/runs.ts), as far as they are
 * shown; an event that does not match is skipped rather than stopping the transcript. */
const ToolStep = z.looseObject({
  type: z.literal("tool"),
  seq: z.number().optional(),
  tool: z.string(),
  node: z.string().default(""),
  callId: z.string().optional(),
  arguments: z.unknown(),
  result: z.unknown(),
  isError: z.boolean().default(false),
  durationMs: z.number().default(0),
});
const LlmStep = z.looseObject({
  type: z.literal("llm"),
  provider: z.string().default(""),
  model: z.string().default(""),
  text: z.string().optional(),
  error: z.string().optional(),
  fallback: z.object({ provider: z.string(), model: z.string() }).optional(),
});
const Events = {
  step: z.union([ToolStep, LlmStep, z.looseObject({ type: z.string() })]),
  delta: z.object({ text: z.string() }),
  model: z.object({ provider: z.string(), model: z.string(), attempt: z.number() }),
  tool: z.object({ tool: z.string(), node: z.string(), callId: z.string(), arguments: z.unknown() }),
  status: z.object({
    status: z.string(),
    output: z.string().nullable().optional(),
    error: z.string().nullable().optional(),
    pendingApproval: z
      .looseObject({ id: z.string(), tool: z.string(), node: z.string(), arguments: z.unknown() })
      .optional(),
  }),
  done: z.object({ status: z.string() }),
};

const RESULT_CHARS = 300;
/** A child run's statuses after which it changes no more. */
const CHILD_ENDED = new Set(["succeeded", "failed", "cancelled", "skipped"]);

/** Turns run events into the live transcript a person reads: tool calls, their results, the
 * model's text as it streams, approvals waited on, and the end. */
export class Transcript {
  private readonly style: Style;
  private readonly write: (text: string) => void;
  private readonly runId: string;
  private atLineStart = true;
  private readonly announced = new Set<string>();
  /** The model's text of the turn in progress and of the last finished turn, to know at the
   * end whether the run's output was already shown. */
  private turnText = "";
  private lastTurnText = "";
  private deltasSinceStep = false;
  private lastError: string | null = null;
  private lastOutput: string | null = null;
  /** Set when the run ended: its final status. */
  finalStatus: string | undefined;

  constructor(runId: string, style: Style, write: (text: string) => void) {
    this.runId = runId;
    this.style = style;
    this.write = write;
  }

  handle(raw: SseEvent): void {
    let json: unknown;
    try {
      json = JSON.parse(raw.data);
    } catch {
      return;
    }
    const s = this.style;
    switch (raw.event) {
      case "delta": {
        const e = Events.delta.safeParse(json);
        if (!e.success) return;
        this.text(e.data.text);
        this.deltasSinceStep = true;
        return;
      }
      case "model": {
        const e = Events.model.safeParse(json);
        if (!e.success || e.data.attempt <= 1) return;
        this.line(s.yellow(`↻ falling back to ${e.data.provider} / ${e.data.model}`));
        return;
      }
      case "tool": {
        const e = Events.tool.safeParse(json);
        if (!e.success) return;
        this.announced.add(e.data.callId);
        this.call(e.data.node, e.data.tool, e.data.arguments);
        return;
      }
      case "step": {
        const e = Events.step.safeParse(json);
        if (e.success) this.step(e.data);
        return;
      }
      case "status": {
        const e = Events.status.safeParse(json);
        if (!e.success) return;
        this.lastError = e.data.error ?? null;
        this.lastOutput = e.data.output ?? null;
        const pending = e.data.pendingApproval;
        if (e.data.status === "waiting_approval" && pending && !this.announced.has(`approval:${pending.id}`)) {
          this.announced.add(`approval:${pending.id}`);
          this.line(
            `${s.yellow("⏸ waiting for approval:")} ${pending.node ? `${pending.node} · ` : ""}${s.bold(pending.tool)} ${args(pending.arguments)}`,
          );
          this.line(s.dim(`  fabricore approve ${this.runId}   or   fabricore deny ${this.runId} --reason …`));
        }
        return;
      }
      case "done": {
        const e = Events.done.safeParse(json);
        if (!e.success) return;
        this.end(e.data.status);
      }
    }
  }

  private step(step: z.infer<(typeof Events)["step"]>): void {
    const s = this.style;
    if (step.type === "tool") {
      const t = ToolStep.parse(step);
      if (!t.callId || !this.announced.has(t.callId)) this.call(t.node, t.tool, t.arguments);
      const mark = t.isError ? s.red("✗") : s.green("✓");
      this.line(`  ${mark} ${s.dim(`${t.tool} ${t.durationMs} ms`)} ${clip(resultText(t.result))}`);
      this.lastTurnText = "";
    } else if (step.type === "llm") {
      const l = LlmStep.parse(step);
      if (l.error) {
        const next = l.fallback ? `; next: ${l.fallback.provider} / ${l.fallback.model}` : "";
        this.line(s.red(`! ${l.provider} / ${l.model}: ${l.error}${next}`));
      } else if (l.text && !this.deltasSinceStep) this.text(l.text);
      // Each model turn ends its line: the next turn's text or tool call starts on a new one.
      this.newline();
      this.lastTurnText = this.turnText;
      this.turnText = "";
    }
    this.deltasSinceStep = false;
  }

  /** Children already printed: each one's line appears once, when it ended (or at the end). */
  private readonly shownChildren = new Set<string>();

  /** A fan-out run's children, one line each: with `endedOnly` (a live `children` event) those that
   * have ended since the last call, else every one not shown yet (before the run's last line). */
  children(
    children: { id: string; nodeName?: string | null; status: string; error?: string | null }[],
    endedOnly = false,
  ): void {
    const s = this.style;
    for (const child of children) {
      if (this.shownChildren.has(child.id)) continue;
      if (endedOnly && !CHILD_ENDED.has(child.status)) continue;
      this.shownChildren.add(child.id);
      const mark =
        child.status === "succeeded" ? s.green("✓") : child.status === "skipped" ? s.yellow("–") : s.red("✗");
      const error = child.error && child.status !== "succeeded" ? `: ${child.error}` : "";
      this.line(`  ${mark} ${child.nodeName ?? child.id} ${child.status}${error} ${s.dim(`(run ${child.id})`)}`);
    }
  }

  private end(status: string): void {
    const s = this.style;
    this.finalStatus = status;
    const output = this.lastOutput?.trim();
    if (output && output !== this.lastTurnText.trim() && output !== this.turnText.trim()) {
      this.newline();
      this.text(output);
    }
    this.newline();
    if (status === "succeeded") this.line(s.green(`✓ run ${this.runId} succeeded`));
    else this.line(s.red(`✗ run ${this.runId} ${status}${this.lastError ? `: ${this.lastError}` : ""}`));
  }

  private call(node: string, tool: string, argumentsValue: unknown): void {
    this.newline();
    this.line(
      `${this.style.cyan("→")} ${node ? `${this.style.dim(node)} · ` : ""}${this.style.bold(tool)} ${args(argumentsValue)}`,
    );
  }

  private text(text: string): void {
    if (!text) return;
    this.write(text);
    this.turnText += text;
    this.atLineStart = text.endsWith("\n");
  }

  private newline(): void {
    if (!this.atLineStart) this.write("\n");
    this.atLineStart = true;
  }

  private line(text: string): void {
    this.newline();
    this.write(`${text}\n`);
  }
}

function args(value: unknown): string {
  return clip(typeof value === "string" ? value : JSON.stringify(value ?? {}));
}

/** A tool result's text blocks, or its JSON when it is not the protocol's shape. */
export function resultText(result: unknown): string {
  const parsed = ToolResult.safeParse(result);
  if (!parsed.success) return typeof result === "string" ? result : JSON.stringify(result);
  const text = parsed.data.content
    .map((block) => ("text" in block && typeof block.text === "string" ? block.text : `[${block.type}]`))
    .join(" ");
  return (
    commandOutput(text) ??
    (text || (parsed.data.structuredContent ? JSON.stringify(parsed.data.structuredContent) : ""))
  );
}

/** exec_command answers `{exitCode, stdout, stderr, …}` as JSON text: shown as what a terminal
 * would have printed, `exit 0: <stdout>`. */
function commandOutput(text: string): string | undefined {
  if (!text.trimStart().startsWith("{")) return undefined;
  try {
    const value = JSON.parse(text) as Record<string, unknown>;
    if (typeof value.exitCode !== "number" || typeof value.stdout !== "string") return undefined;
    const stderr = typeof value.stderr === "string" && value.stderr.trim() ? ` stderr: ${value.stderr}` : "";
    return `exit ${value.exitCode}: ${value.stdout}${stderr}`;
  } catch {
    return undefined;
  }
}

function clip(text: string): string {
  const flat = text.replace(/\s+/g, " ").trim();
  return flat.length > RESULT_CHARS ? `${flat.slice(0, RESULT_CHARS)}…` : flat;
}
