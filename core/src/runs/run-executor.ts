import type { Logger } from "@fabricore/protocol";
import { refMatches } from "@fabricore/protocol";
import type { AgentModel, AgentTool, RunStep, ToolToName } from "../agent/index.ts";
import { FleetTools, type FleetToolsOptions, nameToolsForModel, runAgent } from "../agent/index.ts";
import { isDatabaseBusy, isStorageFull } from "../database/errors.ts";
import type { JobsRepo, ProvidersRepo, RunsRepo, StepsRepo } from "../database/index.ts";
import type { FleetNode, Job, Provider, Run } from "../database/types.ts";
import type { ClientForProvider, LlmClient } from "../llm/index.ts";
import type { Metrics } from "../metrics.ts";
import type { NodeHub } from "../nodes/node-hub.ts";
import { SecretsError } from "../secrets/errors.ts";
import type { SecretRedactor } from "../secrets/redactor.ts";
import type { Audit } from "../services/audit.ts";
import type { ApprovalGate } from "./approval-gate.ts";
import { FanOutRunner } from "./fan-out.ts";
import type { OfflineWait, WaitDecision } from "./offline-wait.ts";
import type { RunEventBus, RunStatusHook } from "./run-events.ts";
import type { RunLifecycle } from "./run-lifecycle.ts";
import { effectiveApprovalPolicy, hasUntrustedInput, runUserMessage, UNTRUSTED_INPUT_RULE } from "./run-message.ts";
import { allOfflineError, fleetToolsOptions, noTargetsError, resolveRunTargets } from "./run-targets.ts";
import { outputInstruction, structuredOutputCheck } from "./structured-output.ts";
import { runToolRouter } from "./tool-router.ts";

export interface RunExecutorDeps {
  runs: RunsRepo;
  steps: StepsRepo;
  jobs: JobsRepo;
  providers: ProvidersRepo;
  hub: Pick<NodeHub, "get" | "callTool">;
  nodeName: (nodeId: string) => Promise<string | undefined>;
  /** The fleet, to resolve a job's selector when a run starts. */
  nodes: { list(): Promise<FleetNode[]> };
  /** A stored provider's model client (llm/client-for-provider.ts, composed once in core-secrets.ts). */
  clientFor: ClientForProvider<Provider>;
  events: RunEventBus;
  metrics: Metrics;
  logger: Logger;
  toolDeadlineMs: number;
  /** Set: progress reports extend a call's deadline up to this (ToolCallParams.maxDeadlineMs). */
  toolMaxDeadlineMs?: number | undefined;
  now?: () => number;
  /** Every tool call is written to it (who, what, where, when, sha256 of the result text). */
  audit?: Audit;
  /** Secret values in tool results, model text, arguments and the final output become
   * `[secret:NAME]` before anything is stored, streamed or shown to the model. */
  redactor?: SecretRedactor;
  /** Reloads the redactor's values (before each run, so a secret added on another replica counts). */
  refreshRedactor?: () => Promise<void>;
  /** Holds tool calls the job's approval policy names until an operator decides. */
  approvals?: ApprovalGate;
  /** Called once a run's end is stored (chaining: start the jobs its job names in `then`). */
  afterFinish?: (runId: string) => Promise<void>;
  /** Told once the final status is stored (notifications). */
  onStatus?: RunStatusHook;
  /** Where every status change is stored and announced. */
  lifecycle: RunLifecycle;
  /** A job's `offlineNodes: "wait"`: a run whose Nodes are all offline goes back to the queue. */
  offlineWait?: OfflineWait;
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
  private readonly fanOut: FanOutRunner;

  constructor(deps: RunExecutorDeps) {
    this.deps = deps;
    this.fanOut = new FanOutRunner({
      runs: deps.runs,
      nodes: deps.nodes,
      hub: deps.hub,
      events: deps.events,
      lifecycle: deps.lifecycle,
      logger: deps.logger,
      executeChild: (childId, signal) => this.execute(childId, signal),
      summarize: (parent, job, prompt, signal) => this.summarize(parent, job, prompt, signal),
      ...(deps.offlineWait ? { offlineWait: deps.offlineWait } : {}),
    });
  }

  async execute(runId: string, signal: AbortSignal): Promise<void> {
    const { runs, lifecycle, metrics, logger } = this.deps;
    const run = await runs.get(runId);
    if (!run) return;
    const wait = await this.waitDecision(run);
    // Back in the queue, waiting for a Node: this claim started nothing, so nothing is told.
    if (wait.kind === "parked") return;
    const started = Date.now();
    metrics.runsStarted.inc();
    await lifecycle.transition(run.id, { status: "running", from: "queued" });
    let result: {
      status: "succeeded" | "failed" | "cancelled";
      output: string | null;
      error?: string;
      usage?: { promptTokens: number; completionTokens: number };
      result?: unknown;
    };
    try {
      if (wait.kind === "expired")
        result = { status: "failed", output: null, error: allOfflineError(wait.waiting.nodes, wait.waiting) };
      else if (wait.kind === "cancelled") result = { status: "cancelled", output: null, error: "cancelled by a user" };
      else result = await this.executeRun(run, signal);
    } catch (error) {
      logger.error({ err: error, runId }, "run crashed");
      const reason = storageProblem(error) ?? error;
      result = {
        status: "failed",
        output: null,
        error: `internal error: ${reason instanceof Error ? reason.message : String(reason)}`,
      };
    }
    const redactor = this.deps.redactor;
    if (redactor) {
      result = {
        ...result,
        output: result.output === null ? null : redactor.redact(result.output),
        ...(result.error !== undefined ? { error: redactor.redact(result.error) } : {}),
        ...(result.result !== undefined ? { result: redactor.redactDeep(result.result) } : {}),
      };
    }
    await lifecycle.transition(run.id, {
      status: result.status,
      output: result.output,
      error: result.error ?? null,
      ...(result.usage ? { usage: result.usage } : {}),
      ...(result.result !== undefined ? { result: result.result } : {}),
      retryStorage: true,
    });
    metrics.runFinished({ status: result.status, trigger: run.trigger }, (Date.now() - started) / 1000);
    // One structured line per run outcome (a failed run used to leave only HTTP access lines).
    logger[result.status === "failed" ? "warn" : "info"](
      {
        runId: run.id,
        jobId: run.jobId,
        trigger: run.trigger,
        status: result.status,
        durationMs: Date.now() - started,
        ...(result.usage ? { usage: result.usage } : {}),
        ...(result.error !== undefined ? { error: result.error } : {}),
      },
      `run ${result.status}`,
    );
    // After the run is recorded: a chained run's input is read from the stored run.
    await this.deps.afterFinish?.(run.id).catch((error: unknown) => {
      logger.error({ err: error, runId }, "starting the jobs chained after this run failed");
    });
    await this.deps.onStatus?.(run.id, result.status);
  }

  /** A failure to decide (the database away) starts the run as claimed: it then fails or runs on
   * its own terms rather than staying `running` with nothing executing it. */
  private async waitDecision(run: Run): Promise<WaitDecision> {
    if (!this.deps.offlineWait) return { kind: "proceed" };
    try {
      return await this.deps.offlineWait.check(run);
    } catch (error) {
      this.deps.logger.warn({ err: error, runId: run.id }, "checking the run's offline Nodes failed; starting it");
      return { kind: "proceed" };
    }
  }

  private async executeRun(run: Run, signal: AbortSignal) {
    const job = await this.deps.jobs.get(run.jobId);
    if (!job) return { status: "failed" as const, output: null, error: "the job was deleted" };
    const models = await this.resolveModels(job);
    if ("error" in models) return { status: "failed" as const, output: null, error: models.error };
    // A fan-out parent runs no agent of its own: its children do (each one a run through here).
    if (job.fanOut && run.parentRunId === null) return this.fanOut.execute(run, job, job.fanOut, signal);
    const nodeIds = await this.targetNodeIds(run, job);
    if (nodeIds.length === 0 && job.selector !== null)
      return { status: "failed" as const, output: null, error: noTargetsError(job) };
    const { tools, offline } = await this.resolveTools(job, nodeIds);
    if (nodeIds.length > 0 && offline.length === nodeIds.length)
      return { status: "failed" as const, output: null, error: allOfflineError(offline) };
    let system = offline.length
      ? `${SYSTEM_PROMPT}\nThese target servers are offline and their tools are unavailable: ${offline.join(", ")}.`
      : SYSTEM_PROMPT;
    if (run.nodeName) system += `\nYou are working on the server ${run.nodeName} only.`;
    if (hasUntrustedInput(run)) system = `${system}\n${UNTRUSTED_INPUT_RULE}`;
    // The job's output schema binds its one answer: a fan-out's summary when it has one, else each run.
    const checked = !(run.parentRunId !== null && job.fanOut?.summarize);
    const fleet = FleetTools.when(tools) ? await fleetToolsOptions(this.deps.nodes, nodeIds, offline) : undefined;
    // Templates filled and input fenced here; the agent gets the finished user message.
    return this.agent(
      run,
      job,
      models,
      {
        prompt: runUserMessage(checked ? job : { ...job, output: null }, run),
        system,
        tools,
        maxSteps: job.maxSteps,
        checked,
        ...(fleet ? { fleet } : {}),
      },
      signal,
    );
  }

  /** A child: its one Node. Otherwise the job's named Nodes plus those its selector matches now. */
  private async targetNodeIds(run: Run, job: Job): Promise<string[]> {
    if (run.nodeId) return [run.nodeId];
    if (job.selector === null) return job.nodes;
    return (await resolveRunTargets(job, this.deps.nodes)).map((t) => t.id);
  }

  /** The `summarize` turn of a fan-out: the parent's own model call, no tools, stored as its steps. */
  private async summarize(run: Run, job: Job, prompt: string, signal: AbortSignal) {
    const models = await this.resolveModels(job);
    if ("error" in models) return { status: "failed" as const, output: null, error: models.error };
    const system = `${SYSTEM_PROMPT}\nYou have no tools now: answer from the results you are given.`;
    // Two turns: a model that still asks for a tool is told it has none and answers on the second.
    // A third when the answer must match the output schema: room for the one corrective turn.
    const schema = job.output?.schema;
    const maxSteps = schema ? 3 : 2;
    const task = schema ? `${prompt}\n\n${outputInstruction(schema)}` : prompt;
    return this.agent(run, job, models, { prompt: task, system, tools: [], maxSteps, checked: true }, signal);
  }

  private async agent(
    run: Run,
    job: Job,
    models: { models: AgentModel[]; contextTokens: number | undefined },
    task: {
      prompt: string;
      system: string;
      tools: AgentTool[];
      maxSteps: number;
      checked: boolean;
      fleet?: FleetToolsOptions;
    },
    signal: AbortSignal,
  ) {
    const seqByRun = { run: run.id };
    await this.deps.refreshRedactor?.();
    const redact = <T>(value: T): T => (this.deps.redactor ? this.deps.redactor.redactDeep(value) : value);
    // A public webhook's runs: tools that may write wait for a person (SECURITY.md "Webhook input is data").
    const router = runToolRouter(this.deps, run, job, effectiveApprovalPolicy(job, run, task.tools));
    const schema = job.output?.schema;
    return runAgent({
      runId: run.id,
      prompt: task.prompt,
      ...(schema && task.checked ? { finalCheck: structuredOutputCheck(schema) } : {}),
      system: task.system,
      models: models.models,
      tools: task.tools,
      ...(task.fleet ? { fleet: task.fleet } : {}),
      router,
      maxSteps: task.maxSteps,
      // The model is not trusted to stop (LLM10): tokens and wall-clock time are capped per run.
      maxTokens: job.budget.maxTokens,
      maxSeconds: job.budget.maxSeconds,
      signal,
      toolDeadlineMs: this.deps.toolDeadlineMs,
      ...(models.contextTokens ? { contextTokens: models.contextTokens } : {}),
      steps: {
        step: async (unredacted: RunStep) => {
          const step = redact(unredacted);
          const stored = await this.deps.steps
            .append(seqByRun.run, { type: step.type, data: { ...step } })
            .catch((error: unknown) => {
              throw storageProblem(error) ?? error;
            });
          this.deps.metrics.steps.inc({ type: step.type });
          // Every model attempt (answered, failed, fallen back) is one `llm` step: counted here, once.
          if (step.type === "llm") this.deps.metrics.llmAttempt(step);
          this.deps.events.publish(run.id, { type: "step", seq: stored.seq, step: { ...step } });
        },
        event: (event) => {
          // A delta is a fragment: a secret split across two deltas is not caught here, but the
          // stored step (what a reload or a late subscriber sees) is redacted whole.
          if (event.type === "text_delta")
            this.deps.events.publish(run.id, { type: "delta", text: redact(event.text) });
          else if (event.type === "reasoning_delta")
            this.deps.events.publish(run.id, { type: "reasoning", text: redact(event.text) });
          else if (event.type === "model_attempt_started") {
            this.deps.events.publish(run.id, {
              type: "model",
              provider: event.provider,
              model: event.model,
              attempt: event.attempt,
              startedAt: new Date().toISOString(),
            });
          } else if (event.type === "model_status") {
            this.deps.events.publish(run.id, {
              type: "model_status",
              provider: event.provider,
              model: event.model,
              status: event.status,
            });
          } else if (event.type === "tool_call_started") {
            this.deps.events.publish(run.id, {
              type: "tool",
              tool: event.tool,
              node: event.node,
              callId: event.callId,
              arguments: redact(event.arguments),
              startedAt: new Date().toISOString(),
            });
          }
        },
      },
    });
  }

  /** The job's models in order; `contextTokens` is the smallest context length the providers
   * declare (options.contextTokens), so the conversation fits whichever model ends up answering. */
  private async resolveModels(
    job: Job,
  ): Promise<{ models: AgentModel[]; contextTokens: number | undefined } | { error: string }> {
    const models: AgentModel[] = [];
    let contextTokens: number | undefined;
    for (const ref of [job.model, ...job.fallbacks]) {
      const provider = await this.deps.providers.resolve(ref.provider);
      if (!provider) return { error: `provider ${ref.provider} no longer exists` };
      let client: LlmClient;
      try {
        client = await this.deps.clientFor(provider);
      } catch (error) {
        // This run fails, naming the row; runs that do not use this provider are untouched (21.3).
        if (error instanceof SecretsError) return { error: error.message };
        throw error;
      }
      models.push({ providerName: provider.name, client, model: ref.model });
      const declared = provider.options.contextTokens;
      if (typeof declared === "number" && declared > 0) contextTokens = Math.min(contextTokens ?? declared, declared);
    }
    return { models, contextTokens };
  }

  /** The tools of the job's online Nodes, filtered by the job's allowlist. An allowlist entry
   * matches a tool's own name, `<source>/<name>` or `mcp:<server>` (every tool of a server). */
  private async resolveTools(job: Job, nodeIds: string[]): Promise<{ tools: AgentTool[]; offline: string[] }> {
    const toName: ToolToName[] = [];
    const offline: string[] = [];
    for (const nodeId of nodeIds) {
      const connected = this.deps.hub.get(nodeId);
      // The stored name first: a Node renamed while connected (to another replica) is named anew.
      const nodeName = (await this.deps.nodeName(nodeId)) ?? connected?.name ?? nodeId;
      if (!connected) {
        offline.push(nodeName);
        continue;
      }
      for (const tool of connected.tools) {
        if (job.tools.length && !job.tools.some((ref) => refMatches(ref, tool, { wholeSource: true }))) continue;
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
}

/** A full disk or a locked database, said so in the run's error (the loop reports it as the reason). */
function storageProblem(error: unknown): Error | undefined {
  if (isStorageFull(error))
    return new Error("the disk is full, so this run's steps could not be saved", { cause: error });
  if (isDatabaseBusy(error)) {
    return new Error("the database stayed locked, so this run's steps could not be saved", { cause: error });
  }
  return undefined;
}
