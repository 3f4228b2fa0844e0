import type { Kysely, Updateable } from "kysely";
import type { SecretBox } from "../../secrets/secret-box.ts";
import { type Clock, isoNow, systemClock } from "../clock.ts";
import { translateConstraint } from "../errors.ts";
import { newId } from "../ids.ts";
import { parseJson, parseJsonOr, toJson } from "../json.ts";
import type { Database, JobRow, JobsTable } from "../schema.ts";
import {
  type ApprovalPolicy,
  type ChainRule,
  DEFAULT_MAX_SECONDS,
  DEFAULT_MAX_STEPS,
  DEFAULT_MAX_TOKENS,
  DEFAULT_WAIT_FOR_NODES_SECONDS,
  type FanOut,
  type Job,
  type JobOutput,
  type JobPatch,
  type JobSchedule,
  type ModelRef,
  type NewJob,
  type NotifyRule,
} from "../types.ts";

export function webhookSecretAad(jobId: string): string {
  return `jobs:${jobId}:webhook_secret`;
}

function toJob(row: JobRow): Job {
  const model = parseJson<ModelRef>(row.model, "jobs.model");
  if (!model) throw new Error(`job ${row.id} has no model`);
  return {
    id: row.id,
    name: row.name,
    prompt: row.prompt,
    model,
    fallbacks: parseJsonOr<ModelRef[]>(row.fallbacks, "jobs.fallbacks", []),
    nodes: parseJsonOr<string[]>(row.nodes, "jobs.nodes", []),
    tools: parseJsonOr<string[]>(row.tools, "jobs.tools", []),
    schedule: parseJson<JobSchedule>(row.schedule, "jobs.schedule"),
    webhook:
      row.webhook_slug === null
        ? null
        : {
            slug: row.webhook_slug,
            hasSecret: row.webhook_secret_ciphertext !== null,
            public: row.webhook_public !== 0,
          },
    maxSteps: row.max_steps,
    enabled: row.enabled !== 0,
    approval: parseJson<ApprovalPolicy>(row.approval, "jobs.approval"),
    budget: { maxTokens: row.max_tokens, maxSeconds: row.max_seconds },
    output: parseJson<JobOutput>(row.output_schema, "jobs.output_schema"),
    // biome-ignore lint/suspicious/noThenProperty: CONTRACT names the field `then`; it is an array, never a function, so no await treats a job as a thenable
    then: parseJsonOr<ChainRule[]>(row.then_jobs, "jobs.then_jobs", []),
    selector: row.selector,
    fanOut: parseJson<FanOut>(row.fan_out, "jobs.fan_out"),
    notify: parseJsonOr<NotifyRule[]>(row.notify, "jobs.notify", []),
    offlineNodes: row.offline_nodes === "wait" ? "wait" : "fail",
    waitForNodesSeconds: row.wait_for_nodes_seconds ?? DEFAULT_WAIT_FOR_NODES_SECONDS,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

export class JobsRepo {
  private readonly db: Kysely<Database>;
  private readonly box: SecretBox;
  private readonly clock: Clock;

  constructor(db: Kysely<Database>, box: SecretBox, options: { clock?: Clock } = {}) {
    this.db = db;
    this.box = box;
    this.clock = options.clock ?? systemClock;
  }

  /** Throws DatabaseError `conflict` when the name or webhook slug is taken. */
  async create(input: NewJob): Promise<Job> {
    const id = newId();
    const now = isoNow(this.clock);
    const secret = input.webhook?.secret ?? null;
    const row = await translateConstraint(`job ${input.name} (or its webhook slug)`, () =>
      this.db
        .insertInto("jobs")
        .values({
          id,
          name: input.name,
          prompt: input.prompt,
          model: toJson(input.model),
          fallbacks: toJson(input.fallbacks ?? []),
          nodes: toJson(input.nodes ?? []),
          tools: toJson(input.tools ?? []),
          schedule: input.schedule ? toJson(input.schedule) : null,
          webhook_slug: input.webhook?.slug ?? null,
          webhook_secret_ciphertext:
            input.webhook && secret !== null ? this.box.seal(secret, webhookSecretAad(id)) : null,
          max_steps: input.maxSteps ?? DEFAULT_MAX_STEPS,
          enabled: input.enabled === false ? 0 : 1,
          approval: input.approval ? toJson(input.approval) : null,
          max_tokens: input.budget?.maxTokens ?? DEFAULT_MAX_TOKENS,
          max_seconds: input.budget?.maxSeconds ?? DEFAULT_MAX_SECONDS,
          webhook_public: input.webhook?.public ? 1 : 0,
          output_schema: input.output ? toJson(input.output) : null,
          then_jobs: input.then?.length ? toJson(input.then) : null,
          selector: input.selector ?? null,
          fan_out: input.fanOut ? toJson(input.fanOut) : null,
          notify: toJson(input.notify ?? []),
          offline_nodes: input.offlineNodes === "wait" ? "wait" : null,
          wait_for_nodes_seconds: input.waitForNodesSeconds ?? null,
          created_at: now,
          updated_at: now,
        })
        .returningAll()
        .executeTakeFirstOrThrow(),
    );
    return toJob(row);
  }

  async list(): Promise<Job[]> {
    const rows = await this.db.selectFrom("jobs").selectAll().orderBy("name").execute();
    return rows.map(toJob);
  }

  async get(id: string): Promise<Job | undefined> {
    const row = await this.db.selectFrom("jobs").selectAll().where("id", "=", id).executeTakeFirst();
    return row && toJob(row);
  }

  async getByName(name: string): Promise<Job | undefined> {
    const row = await this.db.selectFrom("jobs").selectAll().where("name", "=", name).executeTakeFirst();
    return row && toJob(row);
  }

  async resolve(idOrName: string): Promise<Job | undefined> {
    return (await this.get(idOrName)) ?? (await this.getByName(idOrName));
  }

  /** Undefined when no such job. See JobPatch for how `webhook` and its secret are patched. */
  async update(id: string, patch: JobPatch): Promise<Job | undefined> {
    const set: Updateable<JobsTable> = { updated_at: isoNow(this.clock) };
    if (patch.name !== undefined) set.name = patch.name;
    if (patch.prompt !== undefined) set.prompt = patch.prompt;
    if (patch.model !== undefined) set.model = toJson(patch.model);
    if (patch.fallbacks !== undefined) set.fallbacks = toJson(patch.fallbacks);
    if (patch.nodes !== undefined) set.nodes = toJson(patch.nodes);
    if (patch.tools !== undefined) set.tools = toJson(patch.tools);
    if (patch.schedule !== undefined) set.schedule = patch.schedule === null ? null : toJson(patch.schedule);
    if (patch.maxSteps !== undefined) set.max_steps = patch.maxSteps;
    if (patch.enabled !== undefined) set.enabled = patch.enabled ? 1 : 0;
    if (patch.approval !== undefined) set.approval = patch.approval ? toJson(patch.approval) : null;
    if (patch.budget?.maxTokens !== undefined) set.max_tokens = patch.budget.maxTokens;
    if (patch.budget?.maxSeconds !== undefined) set.max_seconds = patch.budget.maxSeconds;
    if (patch.output !== undefined) set.output_schema = patch.output ? toJson(patch.output) : null;
    if (patch.then !== undefined) set.then_jobs = patch.then.length ? toJson(patch.then) : null;
    if (patch.selector !== undefined) set.selector = patch.selector;
    if (patch.fanOut !== undefined) set.fan_out = patch.fanOut ? toJson(patch.fanOut) : null;
    if (patch.notify !== undefined) set.notify = toJson(patch.notify);
    if (patch.offlineNodes !== undefined) set.offline_nodes = patch.offlineNodes === "wait" ? "wait" : null;
    if (patch.waitForNodesSeconds !== undefined) set.wait_for_nodes_seconds = patch.waitForNodesSeconds;
    if (patch.webhook === null) {
      set.webhook_slug = null;
      set.webhook_secret_ciphertext = null;
      set.webhook_public = 0;
    } else if (patch.webhook !== undefined) {
      set.webhook_slug = patch.webhook.slug;
      if (patch.webhook.public !== undefined) set.webhook_public = patch.webhook.public ? 1 : 0;
      const secret = patch.webhook.secret;
      if (secret === null) set.webhook_secret_ciphertext = null;
      else if (secret !== undefined) set.webhook_secret_ciphertext = this.box.seal(secret, webhookSecretAad(id));
    }
    const row = await translateConstraint(`job ${patch.name ?? id} (or its webhook slug)`, () =>
      this.db.updateTable("jobs").set(set).where("id", "=", id).returningAll().executeTakeFirst(),
    );
    return row && toJob(row);
  }

  /** Its runs and their steps go with it (foreign keys cascade). */
  async delete(id: string): Promise<boolean> {
    const r = await this.db.deleteFrom("jobs").where("id", "=", id).executeTakeFirst();
    return r.numDeletedRows > 0n;
  }

  async findByWebhookSlug(slug: string): Promise<Job | undefined> {
    const row = await this.db.selectFrom("jobs").selectAll().where("webhook_slug", "=", slug).executeTakeFirst();
    return row && toJob(row);
  }

  /** Decrypted; throws SecretsError `decrypt_failed` when tampered with. */
  async getWebhookSecret(id: string): Promise<string | undefined> {
    const row = await this.db
      .selectFrom("jobs")
      .select(["webhook_secret_ciphertext"])
      .where("id", "=", id)
      .executeTakeFirst();
    if (!row?.webhook_secret_ciphertext) return undefined;
    return this.box.open(row.webhook_secret_ciphertext, webhookSecretAad(id));
  }

  /**
   * Every sealed webhook secret, raw (for key rotation): the envelope names its key version, so a
   * rotation that stopped half way knows which values are done.
   */
  async listSealedWebhookSecrets(): Promise<Array<{ id: string; ciphertext: string }>> {
    const rows = await this.db
      .selectFrom("jobs")
      .select(["id", "webhook_secret_ciphertext"])
      .where("webhook_secret_ciphertext", "is not", null)
      .execute();
    return rows.map((r) => ({ id: r.id, ciphertext: r.webhook_secret_ciphertext! }));
  }

  /** Replaces a sealed webhook secret only if it is still `expected` (a concurrent change wins). */
  async replaceSealedWebhookSecret(id: string, expected: string, ciphertext: string): Promise<boolean> {
    const r = await this.db
      .updateTable("jobs")
      .set({ webhook_secret_ciphertext: ciphertext })
      .where("id", "=", id)
      .where("webhook_secret_ciphertext", "=", expected)
      .executeTakeFirst();
    return r.numUpdatedRows > 0n;
  }

  /** Jobs whose notify rules name this channel (a channel in use is not deleted). */
  async listNotifying(channelId: string): Promise<Job[]> {
    return (await this.list()).filter((job) => job.notify.some((rule) => rule.channel === channelId));
  }

  /** Enabled jobs that have a schedule: what the cron scheduler loads. */
  async listScheduled(): Promise<Job[]> {
    const rows = await this.db
      .selectFrom("jobs")
      .selectAll()
      .where("enabled", "=", 1)
      .where("schedule", "is not", null)
      .orderBy("name")
      .execute();
    return rows.map(toJob);
  }
}
