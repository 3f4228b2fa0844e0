import { createHash } from "node:crypto";
import { ProtocolError } from "@fabricore/protocol";
import type { AgentModel, AgentTool, RunStep, ToolRouter, ToolToName } from "../agent/index.ts";
import { nameToolsForModel, runAgent } from "../agent/index.ts";
import type { JobsRepo, ProvidersRepo, RunsRepo, StepsRepo } from "../database/index.ts";
import type { Job, Run } from "../database/types.ts";
import type { LlmClient, ProviderConfig } from "../llm/index.ts";
import type { Metrics } from "../metrics.ts";
import type { NodeHub } from "../nodes/node-hub.ts";
import type { RunEventBus } from "./run-events.ts";
import type { Logger } from "./run-queue.ts";

export interface RunExecutorDeps {
  runs: RunsRepo;
  steps: StepsRepo;
  jobs: JobsRepo;
  providers: ProvidersRepo;
  hub: Pick<NodeHub, "get" | "callTool">;
  nodeName: (nodeId: string) => Promise<string | undefined>;
  llm: (provider: ProviderConfig) => LlmClient;
  events: RunEventBus;
  metrics: Metrics;
  logger: Logger;
  toolDeadlineMs: number;
  now?: () => number;
}

const SYSTEM_PROMPT = [
  "You are FabriCore, an automation agent working on the user's servers through tools.",
  "Use the tools to find facts; do not guess what a tool would return.",
  "When the task is done, answer with a concise final report and call no more tools.",
].join(" ");

/** Executes one claimed run: resolves the job's models and the tools of its Nodes, runs the agent
 * loop with every step stored and published as it happens, and records the final status. */
export class RunExecutor {
  private readonly deps: RunExecutorDeps;

  constructor(deps: RunExecutorDeps) {
    this.deps = deps;
  }

  async execute(runId: string, signal: AbortSignal): Promise<void> {
    const { runs, events, metrics, logger } = this.deps;
    const run = await runs.get(runId);
    if (!run) return;
    const started = Date.now();
    metrics.runsStarted.inc();
    events.publish(run.id, { type: "status", status: "running" });
    let result: {
      status: "succeeded" | "failed" | "cancelled";
      output: string | null;
      error?: string;
      usage?: { promptTokens: number; completionTokens: number };
    };
    try {
      result = await this.executeRun(run, signal);
    } catch (error) {
      logger.error({ err: error, runId }, "run crashed");
      result = {
        status: "failed",
        output: null,
        error: `internal error: ${error instanceof Error ? error.message : String(error)}`,
      };
    }
    await runs.finish(run.id, {
      status: result.status,
      output: result.output,
      error: result.error ?? null,
      ...(result.usage ? { usage: result.usage } : {}),
    });
    metrics.runs.inc({ status: result.status, trigger: run.trigger });
    metrics.runSeconds.observe((Date.now() - started) / 1000);
    events.publish(run.id, {
      type: "status",
      status: result.status,
      output: result.output,
      error: result.error ?? null,
    });
    events.publish(run.id, { type: "done", status: result.status });
  }

  private async executeRun(run: Run, signal: AbortSignal) {
    const job = await this.deps.jobs.get(run.jobId);
    if (!job) return { status: "failed" as const, output: null, error: "the job was deleted" };
    const models = await this.resolveModels(job);
    if ("error" in models) return { status: "failed" as const, output: null, error: models.error };
    const { tools, offline } = await this.resolveTools(job);
    const system = offline.length
      ? `${SYSTEM_PROMPT}\nThese target servers are offline and their tools are unavailable: ${offline.join(", ")}.`
      : SYSTEM_PROMPT;
    const seqByRun = { run: run.id };
    return runAgent({
      runId: run.id,
      prompt: job.prompt,
      input: run.input ?? undefined,
      system,
      models: models.models,
      tools,
      router: this.router(),
      maxSteps: job.maxSteps,
      signal,
      toolDeadlineMs: this.deps.toolDeadlineMs,
      steps: {
        step: async (step: RunStep) => {
          const stored = await this.deps.steps.append(seqByRun.run, { type: step.type, data: { ...step } });
          this.deps.metrics.steps.inc({ type: step.type });
          if (step.type === "llm")
            this.deps.metrics.llmSeconds.observe({ provider: step.provider }, step.durationMs / 1000);
          this.deps.events.publish(run.id, { type: "step", seq: stored.seq, step: { ...step } });
        },
        event: (event) => {
          if (event.type === "text_delta") this.deps.events.publish(run.id, { type: "delta", text: event.text });
          else if (event.type === "model_attempt_started") {
            this.deps.events.publish(run.id, {
              type: "model",
              provider: event.provider,
              model: event.model,
              attempt: event.attempt,
            });
          } else if (event.type === "tool_call_started") {
            this.deps.events.publish(run.id, {
              type: "tool",
              tool: event.tool,
              node: event.node,
              callId: event.callId,
              arguments: event.arguments,
            });
          }
        },
      },
    });
  }

  private async resolveModels(job: Job): Promise<{ models: AgentModel[] } | { error: string }> {
    const models: AgentModel[] = [];
    for (const ref of [job.model, ...job.fallbacks]) {
      const provider = await this.deps.providers.resolve(ref.provider);
      if (!provider) return { error: `provider ${ref.provider} no longer exists` };
      const apiKey = provider.hasApiKey ? await this.deps.providers.getApiKey(provider.id) : undefined;
      const client = this.deps.llm({
        kind: provider.kind,
        baseUrl: provider.baseUrl,
        apiKey: apiKey ?? null,
        options: provider.options,
        name: provider.name,
      });
      models.push({ providerName: provider.name, client, model: ref.model });
    }
    return { models };
  }

  /** The tools of the job's online Nodes, filtered by the job's allowlist. An allowlist entry
   * matches a tool's own name, `<source>/<name>` or `mcp:<server>` (every tool of a server). */
  private async resolveTools(job: Job): Promise<{ tools: AgentTool[]; offline: string[] }> {
    const toName: ToolToName[] = [];
    const offline: string[] = [];
    const allow = new Set(job.tools);
    for (const nodeId of job.nodes) {
      const connected = this.deps.hub.get(nodeId);
      const nodeName = connected?.name ?? (await this.deps.nodeName(nodeId)) ?? nodeId;
      if (!connected) {
        offline.push(nodeName);
        continue;
      }
      for (const tool of connected.tools) {
        if (
          allow.size &&
          !allow.has(tool.name) &&
          !allow.has(`${tool.source}/${tool.name}`) &&
          !allow.has(tool.source)
        ) {
          continue;
        }
        toName.push({
          name: tool.name,
          source: tool.source,
          nodeId,
          nodeName,
          description: tool.description,
          inputSchema: tool.inputSchema,
        });
      }
    }
    return { tools: nameToolsForModel(toName).tools, offline };
  }

  private router(): ToolRouter {
    const { hub, metrics } = this.deps;
    return {
      call: async (tool, args, opts) => {
        const started = performance.now();
        try {
          const result = await hub.callTool(
            tool.nodeId,
            {
              name: tool.name,
              source: tool.source,
              arguments: args,
              deadlineMs: opts.deadlineMs,
              callId: boundedCallId(opts.callId),
            },
            { signal: opts.signal },
          );
          metrics.toolCalls.inc({ outcome: result.isError ? "tool_error" : "ok" });
          return result;
        } catch (error) {
          metrics.toolCalls.inc({ outcome: "failed" });
          throw error instanceof ProtocolError ? error : new ProtocolError("internal", String(error));
        } finally {
          metrics.toolCallSeconds.observe((performance.now() - started) / 1000);
        }
      },
    };
  }
}

/** The protocol caps call ids at 128 characters; a provider's long tool-call id is hashed to fit
 * (still stable, so a retried call keeps its id). */
function boundedCallId(callId: string): string {
  return callId.length <= 128 ? callId : `h:${createHash("sha256").update(callId).digest("hex")}`;
}
