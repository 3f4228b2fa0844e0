import { BUILTIN_SOURCE, toolLabel, toolRef } from "@fabricore/protocol/tool-ref.ts";
import type { Dispatch, SetStateAction } from "react";
import type {
  ApprovalPolicy,
  FanOut,
  FleetNode,
  Job,
  JobBudget,
  JobInput,
  MisfirePolicy,
  ModelRef,
  Provider,
} from "../../api/types.ts";
import { resolveProviderId } from "../../components/model-picker.tsx";
import {
  budgetError,
  changedBudget,
  DEFAULT_BUDGET,
  MAX_BUDGET_SECONDS,
  MAX_BUDGET_TOKENS,
  type TimeUnit,
  timeUnitFor,
  UNIT_SECONDS,
} from "../../lib/budget.ts";
import { browserTimeZone } from "../../lib/cron.ts";
import { type ResultsState, resultsFromJob, resultsInput } from "./results-model.ts";

/* The job form's model: its state, how a saved job fills it and how it becomes the API's input.
 * Pure functions, so each section file only renders and the page only wires data to them. */

export interface FormState {
  name: string;
  prompt: string;
  nodes: string[];
  tools: string[];
  model: ModelRef;
  fallbacks: ModelRef[];
  scheduled: boolean;
  cron: string;
  timezone: string;
  misfire: MisfirePolicy;
  webhookOn: boolean;
  slug: string;
  secret: string;
  /** A webhook saved without a secret on purpose (the Core refuses one that is not marked). */
  webhookPublic: boolean;
  maxSteps: number;
  enabled: boolean;
  approvalMode: ApprovalMode;
  approvalTools: string[];
  approvalTimeoutSeconds: number;
  /** NumberInput values: a number, or the text of an unfinished or empty entry. */
  budgetTokens: number | string;
  budgetTime: number | string;
  budgetUnit: TimeUnit;
  /** Fleet jobs: a label selector (empty: none) and, when `fanOut`, one child run per Node. */
  selector: string;
  fanOut: boolean;
  concurrency: number | string;
  stopOnFailure: boolean;
  summarize: boolean;
  /** Every target Node offline when a run starts: fail at once, or wait up to N seconds (22.1). */
  offlineNodes: "fail" | "wait";
  waitForNodesSeconds: number | string;
  results: ResultsState;
}

export type ApprovalMode = "none" | "all" | "tools";
export type SetField = <K extends keyof FormState>(key: K, value: FormState[K]) => void;

/** What every section receives: the state, a one-field setter, and the whole-state setter. */
export interface SectionProps {
  form: FormState;
  set: SetField;
  setForm: Dispatch<SetStateAction<FormState>>;
  /** The Core's word on a field from the last save, by API path (`name`, `webhook.slug`); gone once changed. */
  errors?: Record<string, string>;
}

const DEFAULT_APPROVAL_TIMEOUT_SECONDS = 3600;

function approvalModeOf(policy: ApprovalPolicy | null | undefined): ApprovalMode {
  if (!policy) return "none";
  if (policy.required) return "all";
  return (policy.tools?.length ?? 0) > 0 ? "tools" : "none";
}

export function slugify(name: string): string {
  return name
    .trim()
    .toLowerCase()
    .replace(/[^a-z0-9_-]+/g, "-")
    .replace(/^[-_]+|-+$/g, "")
    .slice(0, 100);
}

export function emptyForm(): FormState {
  return {
    name: "",
    prompt: "",
    nodes: [],
    tools: [],
    model: { provider: "", model: "" },
    fallbacks: [],
    scheduled: false,
    cron: "0 8 * * *",
    timezone: browserTimeZone(),
    misfire: "run_once",
    webhookOn: false,
    slug: "",
    secret: "",
    webhookPublic: false,
    maxSteps: 20,
    enabled: true,
    approvalMode: "none",
    approvalTools: [],
    approvalTimeoutSeconds: DEFAULT_APPROVAL_TIMEOUT_SECONDS,
    ...budgetFields(DEFAULT_BUDGET),
    ...fleetFields(null, null),
    offlineNodes: "fail",
    waitForNodesSeconds: DEFAULT_WAIT_FOR_NODES_SECONDS,
    results: resultsFromJob(null),
  };
}

export const DEFAULT_FAN_OUT_CONCURRENCY = 10;
/** The Core's default and bounds for `waitForNodesSeconds` (api/schemas.ts JobBody). */
export const DEFAULT_WAIT_FOR_NODES_SECONDS = 600;
export const MAX_WAIT_FOR_NODES_SECONDS = 7 * 86400;

export function waitForNodesError(form: FormState): string | null {
  if (form.offlineNodes !== "wait") return null;
  const n = Number(form.waitForNodesSeconds);
  return Number.isInteger(n) && n >= 1 && n <= MAX_WAIT_FOR_NODES_SECONDS
    ? null
    : `Between 1 second and ${MAX_WAIT_FOR_NODES_SECONDS} seconds (7 days)`;
}
/** The Core's limit on `fanOut.concurrency`. */
export const MAX_FAN_OUT_CONCURRENCY = 1000;

function fleetFields(selector: string | null | undefined, fanOut: FanOut | null | undefined) {
  return {
    selector: selector ?? "",
    fanOut: Boolean(fanOut),
    concurrency: fanOut?.concurrency ?? DEFAULT_FAN_OUT_CONCURRENCY,
    stopOnFailure: fanOut?.stopOnFailure ?? false,
    summarize: fanOut?.summarize ?? true,
  };
}

/** Checked before sending, in the Core's words: 1..1000 whole runs at once. */
export function concurrencyError(form: FormState): string | null {
  if (!form.fanOut) return null;
  const n = Number(form.concurrency);
  if (form.concurrency === "" || !Number.isInteger(n) || n < 1 || n > MAX_FAN_OUT_CONCURRENCY)
    return `A whole number from 1 to ${MAX_FAN_OUT_CONCURRENCY}`;
  return null;
}

function budgetFields(budget: Partial<JobBudget> | undefined) {
  const maxTokens = budget?.maxTokens ?? DEFAULT_BUDGET.maxTokens;
  const maxSeconds = budget?.maxSeconds ?? DEFAULT_BUDGET.maxSeconds;
  const budgetUnit = timeUnitFor(maxSeconds);
  return { budgetTokens: maxTokens, budgetTime: maxSeconds / UNIT_SECONDS[budgetUnit], budgetUnit };
}

/** The form's budget errors, checked against the Core's limits before anything is sent. */
export function budgetErrors(form: FormState): { tokens: string | null; time: string | null } {
  const perUnit = UNIT_SECONDS[form.budgetUnit];
  return {
    tokens: budgetError(form.budgetTokens, 1, MAX_BUDGET_TOKENS, "tokens"),
    time: budgetError(form.budgetTime, 1, MAX_BUDGET_SECONDS / perUnit, form.budgetUnit),
  };
}

/** Only meaningful once budgetErrors() found nothing. */
function budgetOf(form: FormState): JobBudget {
  return {
    maxTokens: Number(form.budgetTokens),
    maxSeconds: Number(form.budgetTime) * UNIT_SECONDS[form.budgetUnit],
  };
}

/** Switching the run-time unit keeps the same length of time where the new unit can say it;
 * else the nearest whole unit. */
export function withBudgetUnit(form: FormState, unit: TimeUnit): FormState {
  if (unit === form.budgetUnit) return form;
  const seconds = typeof form.budgetTime === "number" ? form.budgetTime * UNIT_SECONDS[form.budgetUnit] : null;
  const time = seconds === null ? form.budgetTime : Math.max(1, Math.round(seconds / UNIT_SECONDS[unit]));
  return { ...form, budgetUnit: unit, budgetTime: time };
}

/** Jobs may name Nodes and providers by id or name; the form works with ids throughout. */
export function formFromJob(job: Job, nodes: FleetNode[], providers: Provider[]): FormState {
  const nodeId = (ref: string) => nodes.find((n) => n.id === ref)?.id ?? nodes.find((n) => n.name === ref)?.id ?? ref;
  const ref = (m: ModelRef) => ({ provider: resolveProviderId(providers, m.provider), model: m.model });
  return {
    name: job.name,
    prompt: job.prompt,
    nodes: job.nodes.map(nodeId),
    tools: job.tools ?? [],
    model: ref(job.model),
    fallbacks: (job.fallbacks ?? []).map(ref),
    scheduled: Boolean(job.schedule),
    cron: job.schedule?.cron ?? "0 8 * * *",
    timezone: job.schedule?.timezone ?? "UTC",
    misfire: job.schedule?.misfire ?? "run_once",
    webhookOn: Boolean(job.webhook),
    slug: job.webhook?.slug ?? "",
    secret: "",
    webhookPublic: job.webhook?.public === true,
    maxSteps: job.maxSteps ?? 20,
    enabled: job.enabled !== false,
    approvalMode: approvalModeOf(job.approval),
    approvalTools: job.approval?.tools ?? [],
    approvalTimeoutSeconds: job.approval?.timeoutSeconds ?? DEFAULT_APPROVAL_TIMEOUT_SECONDS,
    ...budgetFields(job.budget),
    ...fleetFields(job.selector, job.fanOut),
    offlineNodes: job.offlineNodes ?? "fail",
    waitForNodesSeconds: job.waitForNodesSeconds ?? DEFAULT_WAIT_FOR_NODES_SECONDS,
    results: resultsFromJob(job),
  };
}

/** `saved` is the job as the Core has it (an edit): the budget then carries only what changed. */
export function toInput(form: FormState, saved?: Job): JobInput {
  const budget = saved ? changedBudget(saved.budget, budgetOf(form)) : budgetOf(form);
  // An existing secret is write-only: sending no secret keeps it, sending one replaces it.
  const webhook = form.webhookOn
    ? {
        slug: form.slug.trim(),
        ...(form.secret ? { secret: form.secret } : {}),
        ...(form.webhookPublic && !form.secret ? { public: true } : {}),
      }
    : null;
  return {
    name: form.name.trim(),
    prompt: form.prompt,
    model: form.model,
    fallbacks: form.fallbacks.filter((f) => f.provider && f.model),
    nodes: form.nodes,
    tools: form.tools,
    schedule: form.scheduled ? { cron: form.cron.trim(), timezone: form.timezone, misfire: form.misfire } : null,
    webhook,
    maxSteps: form.maxSteps,
    enabled: form.enabled,
    approval:
      form.approvalMode === "none" || (form.approvalMode === "tools" && form.approvalTools.length === 0)
        ? null
        : {
            ...(form.approvalMode === "all" ? { required: true } : { tools: form.approvalTools }),
            timeoutSeconds: form.approvalTimeoutSeconds,
          },
    ...(budget ? { budget } : {}),
    selector: form.selector.trim() || null,
    fanOut: form.fanOut
      ? {
          mode: "each",
          concurrency: Number(form.concurrency),
          stopOnFailure: form.stopOnFailure,
          summarize: form.summarize,
        }
      : null,
    offlineNodes: form.offlineNodes,
    ...(form.offlineNodes === "wait" ? { waitForNodesSeconds: Number(form.waitForNodesSeconds) } : {}),
    ...resultsInput(form.results),
  };
}

export interface OptionGroup {
  group: string;
  items: { value: string; label: string }[];
}

/** The allowlist choices offered by the chosen Nodes, grouped by source. The Core matches an entry
 * against a tool's name, `source/name`, or a whole source; MCP tools use `source/name` so a
 * same-named built-in is not allowed by accident. */
export function toolOptionsFor(nodes: FleetNode[], chosenIds: string[], allowed: string[]): OptionGroup[] {
  const groups = new Map<string, Map<string, string>>();
  for (const node of nodes.filter((n) => chosenIds.includes(n.id)))
    for (const tool of node.tools ?? []) {
      const builtin = tool.source === BUILTIN_SOURCE;
      const group = builtin ? "Built-in" : tool.source;
      if (!groups.has(group)) {
        groups.set(group, new Map());
        if (!builtin) groups.get(group)?.set(tool.source, `every tool of ${tool.source}`);
      }
      groups.get(group)?.set(toolRef(tool), toolLabel(tool));
    }
  const known = new Set([...groups.values()].flatMap((m) => [...m.keys()]));
  const data = [...groups.entries()].map(([group, items]) => ({
    group,
    items: [...items.entries()].map(([value, label]) => ({ value, label })),
  }));
  // Keep tools the job already allows even if no chosen Node offers them right now (offline).
  const missing = allowed.filter((t) => !known.has(t));
  if (missing.length)
    data.push({ group: "Not offered by the chosen Nodes now", items: missing.map((t) => ({ value: t, label: t })) });
  return data;
}

/** Calls the approval policy may name: a tool's own name or `<source>/<name>` (no whole sources). */
export function approvalToolOptionsFor(nodes: FleetNode[], chosenIds: string[], named: string[]): string[] {
  const names = new Set<string>();
  for (const node of nodes.filter((n) => chosenIds.includes(n.id)))
    for (const tool of node.tools ?? []) names.add(toolRef(tool));
  for (const t of named) names.add(t);
  return [...names].sort();
}
