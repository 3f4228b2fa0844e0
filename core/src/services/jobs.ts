import { checkTemplate } from "@fabricore/protocol/prompt-template.ts";
import type {
  ChannelsRepo,
  JobsRepo,
  NodesRepo,
  ProvidersRepo,
  RunsRepo,
  ScheduleStateRepo,
} from "../database/index.ts";
import type { Job, JobPatch, NewJob } from "../database/types.ts";
import { CoreError } from "../errors.ts";
import { findChainLoop } from "../runs/chain-rules.ts";
import { compileOutputSchema, OutputSchemaError } from "../runs/structured-output.ts";
import { CronError, describeCron, nextFireTimes } from "../scheduler/cron.ts";
import type { Scheduler } from "../scheduler/cron-scheduler.ts";

export interface JobView extends Omit<Job, "schedule"> {
  schedule:
    | (NonNullable<Job["schedule"]> & {
        description: string;
        nextRuns: string[];
        nextFireAt: string | null;
        lastFireAt: string | null;
        lastMisfireAt: string | null;
        lastMisfireReason: string | null;
      })
    | null;
}

/** Jobs: validated against the fleet and providers on every write, and kept in step with the
 * scheduler so a cron change takes effect at once, with no browser open. */
export class Jobs {
  private readonly deps: {
    jobs: JobsRepo;
    nodes: NodesRepo;
    providers: ProvidersRepo;
    runs: RunsRepo;
    scheduleState: ScheduleStateRepo;
    scheduler: Scheduler;
    channels: Pick<ChannelsRepo, "resolve">;
  };

  constructor(deps: Jobs["deps"]) {
    this.deps = deps;
  }

  async create(input: NewJob): Promise<JobView> {
    const normalised = await this.validate(input, undefined);
    if (input.webhook) checkWebhookSafety(Boolean(input.webhook.secret), input.webhook.public === true);
    if (await this.deps.jobs.resolve(input.name)) throw nameTaken(input.name);
    await this.checkSlug(input.webhook?.slug, undefined);
    const job = await this.deps.jobs.create(normalised);
    await this.reschedule(job);
    return this.view(job);
  }

  async update(idOrName: string, patch: JobPatch): Promise<JobView> {
    const current = await this.get(idOrName);
    const merged: NewJob = {
      name: patch.name ?? current.name,
      prompt: patch.prompt ?? current.prompt,
      model: patch.model ?? current.model,
      fallbacks: patch.fallbacks ?? current.fallbacks,
      nodes: patch.nodes ?? current.nodes,
      tools: patch.tools ?? current.tools,
      schedule: patch.schedule === undefined ? current.schedule : patch.schedule,
      maxSteps: patch.maxSteps ?? current.maxSteps,
      enabled: patch.enabled ?? current.enabled,
      output: patch.output === undefined ? current.output : patch.output,
      // biome-ignore lint/suspicious/noThenProperty: CONTRACT names the field `then`; it is an array, never a function, so no await treats a job as a thenable
      then: patch.then ?? current.then,
      selector: patch.selector === undefined ? current.selector : patch.selector,
      fanOut: patch.fanOut === undefined ? current.fanOut : patch.fanOut,
      notify: patch.notify ?? current.notify,
      offlineNodes: patch.offlineNodes ?? current.offlineNodes,
      waitForNodesSeconds: patch.waitForNodesSeconds ?? current.waitForNodesSeconds,
    };
    const normalised = await this.validate(merged, current.id);
    if (patch.webhook) {
      const secret =
        patch.webhook.secret === undefined ? Boolean(current.webhook?.hasSecret) : Boolean(patch.webhook.secret);
      checkWebhookSafety(secret, patch.webhook.public ?? current.webhook?.public ?? false);
    }
    if (patch.name && patch.name !== current.name) {
      const clash = await this.deps.jobs.resolve(patch.name);
      if (clash && clash.id !== current.id) throw nameTaken(patch.name);
    }
    if (patch.webhook) await this.checkSlug(patch.webhook.slug, current.id);
    const updated = await this.deps.jobs.update(current.id, {
      ...patch,
      nodes: normalised.nodes,
      model: normalised.model,
      fallbacks: normalised.fallbacks,
      // biome-ignore lint/suspicious/noThenProperty: CONTRACT names the field `then`; it is an array, never a function, so no await treats a job as a thenable
      ...(patch.then !== undefined ? { then: normalised.then } : {}),
      ...(patch.notify !== undefined ? { notify: normalised.notify } : {}),
    });
    if (!updated) throw new CoreError("not_found", "job not found");
    await this.reschedule(updated);
    return this.view(updated);
  }

  async delete(idOrName: string): Promise<void> {
    const job = await this.get(idOrName);
    await this.deps.scheduler.remove(job.id);
    await this.deps.runs.deleteForJob(job.id);
    await this.deps.jobs.delete(job.id);
  }

  async get(idOrName: string): Promise<Job> {
    const job = await this.deps.jobs.resolve(idOrName);
    if (!job) throw new CoreError("not_found", `job ${idOrName} not found`);
    return job;
  }

  async list(): Promise<JobView[]> {
    return (await this.deps.jobs.list()).map((job) => this.view(job));
  }

  view(job: Job): JobView {
    if (!job.schedule) return { ...job, schedule: null };
    const state = this.deps.scheduler.state(job.id);
    let nextRuns: string[] = [];
    let description = "";
    try {
      nextRuns = nextFireTimes(job.schedule, 5).map((d) => d.toISOString());
      description = describeCron(job.schedule);
    } catch (error) {
      description = error instanceof Error ? error.message : String(error);
    }
    return {
      ...job,
      schedule: {
        ...job.schedule,
        description,
        nextRuns,
        nextFireAt: job.enabled ? (nextRuns[0] ?? null) : null,
        lastFireAt: state?.lastFireAt ?? null,
        lastMisfireAt: state?.lastMisfireAt ?? null,
        lastMisfireReason: state?.lastMisfireReason ?? null,
      },
    };
  }

  /** Puts every enabled scheduled job into the scheduler (at start). */
  async scheduleAll(): Promise<void> {
    const jobs = await this.deps.jobs.listScheduled();
    const states = await this.deps.scheduleState.all();
    await this.deps.scheduler.sync(
      jobs
        .filter((j) => j.enabled && j.schedule)
        .map((j) => ({ jobId: j.id, schedule: j.schedule!, lastFireAt: states.get(j.id)?.lastFireAt ?? null })),
    );
  }

  private async reschedule(job: Job): Promise<void> {
    if (job.enabled && job.schedule) await this.deps.scheduler.upsert({ jobId: job.id, schedule: job.schedule });
    else await this.deps.scheduler.remove(job.id);
  }

  private async checkSlug(slug: string | undefined, jobId: string | undefined): Promise<void> {
    if (!slug) return;
    const other = await this.deps.jobs.findByWebhookSlug(slug);
    if (other && other.id !== jobId)
      throw new CoreError("conflict", `webhook slug ${slug} is used by job ${other.name}`, [
        { path: "body.webhook.slug", message: `used by job ${other.name}` },
      ]);
  }

  /** Nodes are stored by id (a rename does not break the job); providers must exist; cron valid;
   * the prompt's placeholders known; the output schema compiles; `then` names jobs and no loop. */
  private async validate<T extends NewJob>(input: T, jobId: string | undefined): Promise<T> {
    // Each problem with the field it is about, so a form shows it there (issue 22.6).
    const problems: FieldProblem[] = [];
    const add = (path: string, message: string) => problems.push({ path, message });
    for (const problem of checkTemplate(input.prompt)) add("prompt", problem);
    if (input.output) {
      try {
        compileOutputSchema(input.output.schema);
      } catch (error) {
        if (error instanceof OutputSchemaError) add("output.schema", error.message);
        else throw error;
      }
    }
    const then = [];
    for (const [i, rule] of (input.then ?? []).entries()) {
      const target = await this.deps.jobs.resolve(rule.job);
      if (!target && rule.job !== input.name) add(`then.${i}.job`, `no job ${rule.job}`);
      // A job naming itself (by name, before it has an id) is the shortest loop.
      then.push({ job: target?.id ?? (rule.job === input.name ? (jobId ?? "(this job)") : rule.job), on: rule.on });
    }
    if (then.length && !problems.some((p) => p.path.startsWith("then."))) {
      const self = jobId ?? "(this job)";
      const all = new Map((await this.deps.jobs.list()).map((j) => [j.id, j]));
      const loop = findChainLoop(self, then, (id) => all.get(id)?.then);
      if (loop) {
        const names = loop.map((id) => (id === self ? input.name : (all.get(id)?.name ?? id)));
        add("then", `a loop — ${names.join(" → ")}`);
      }
    }
    const nodeIds: string[] = [];
    for (const ref of input.nodes ?? []) {
      const node = await this.deps.nodes.resolve(ref);
      if (node) nodeIds.push(node.id);
      else add("nodes", `no node ${ref}`);
    }
    const models = [input.model, ...(input.fallbacks ?? [])];
    const resolved = [];
    for (const [i, model] of models.entries()) {
      const provider = await this.deps.providers.resolve(model.provider);
      if (!provider) add(`${i === 0 ? "model" : `fallbacks.${i - 1}`}.provider`, `no provider ${model.provider}`);
      resolved.push({ provider: provider?.id ?? model.provider, model: model.model });
    }
    if (input.schedule) {
      try {
        describeCron(input.schedule);
      } catch (error) {
        if (error instanceof CronError) add("schedule.cron", error.message);
        else throw error;
      }
    }
    // A fan-out over nothing is a mistake at write time; a selector matching no Node today is not
    // (Nodes enrolled later join), it fails the run that finds none.
    if (input.fanOut && !input.selector && nodeIds.length === 0)
      add("fanOut", "a fan-out job needs nodes or a selector");
    // Channels are stored by id, like Nodes: renaming a channel does not break the job.
    const notify = [];
    for (const [i, rule] of (input.notify ?? []).entries()) {
      const channel = await this.deps.channels.resolve(rule.channel);
      if (!channel) add(`notify.${i}.channel`, `no channel ${rule.channel}`);
      else notify.push({ channel: channel.id, on: [...new Set(rule.on)] });
    }
    if (problems.length) throw fieldsError("validation_failed", problems);
    return {
      ...input,
      nodes: [...new Set(nodeIds)],
      model: resolved[0]!,
      fallbacks: resolved.slice(1),
      ...(input.then !== undefined ? { then } : {}),
      notify,
    };
  }
}

/** SECURITY.md "Webhooks": a webhook without a secret lets anyone who learns the URL start the
 * job, so it is saved only when explicitly marked public. */
function checkWebhookSafety(hasSecret: boolean, isPublic: boolean): void {
  if (hasSecret || isPublic) return;
  throw fieldsError("validation_failed", [
    {
      path: "webhook",
      message:
        "a webhook without a secret must be marked public (webhook.public: true) — anyone who knows its URL can start the job; give it a secret instead where the sender can sign",
    },
  ]);
}

interface FieldProblem {
  /** The body field, as a dotted path: `schedule.cron`, `then.0.job`. */
  path: string;
  message: string;
}

/** The message as before ("prompt: …; schedule.cron: …") and, in `details`, each problem with
 * `body.<path>` like a schema failure's, so clients put it at its field. */
function fieldsError(code: "validation_failed", problems: FieldProblem[]): CoreError {
  return new CoreError(
    code,
    problems.map((p) => `${p.path}: ${p.message}`).join("; "),
    problems.map((p) => ({ path: `body.${p.path}`, message: p.message })),
  );
}

const nameTaken = (name: string) =>
  new CoreError("conflict", `a job named ${name} exists`, [
    { path: "body.name", message: "another job has this name" },
  ]);
