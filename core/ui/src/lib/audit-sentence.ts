import type { AuditEntryView, AuditLink, AuditLinkKind, AuditLinkRole } from "../api/types.ts";
import { shortId } from "./format.ts";

/* An audit entry as a sentence ("alice started run 3f2a… of nightly-disk", "job nightly-disk ran
 * exec_command on web-1") whose names link to their pages where they still exist (issue 22.7). */

/** A piece of the sentence: plain words, or a name linking to its page. */
export type SentencePart = { text: string; to?: string; kind?: AuditLinkKind };

const PAGES: Record<AuditLinkKind, (id: string) => string> = {
  job: (id) => `/jobs/${encodeURIComponent(id)}`,
  run: (id) => `/runs/${encodeURIComponent(id)}`,
  node: (id) => `/nodes/${encodeURIComponent(id)}`,
  user: () => "/users",
  token: () => "/tokens",
  provider: () => "/providers",
  channel: () => "/channels",
  mcp_server: () => "/mcp-servers",
  secret: () => "/secrets",
};

export function pageOf(kind: AuditLinkKind, id: string): string {
  return PAGES[kind](id);
}

function str(value: unknown): string | null {
  return typeof value === "string" && value.length > 0 ? value : null;
}

const VERBS: Record<string, string> = {
  create: "created",
  update: "changed",
  delete: "deleted",
  enroll: "enrolled",
  revoke: "revoked",
  add: "added",
  remove: "removed",
  test: "tested",
  restart: "restarted",
};

const NOUNS: Record<string, string> = {
  user: "user",
  token: "token",
  node: "Node",
  provider: "provider",
  secret: "secret",
  job: "job",
  channel: "channel",
  mcp: "MCP server",
};

/** Who did it: a user, a job's run (`job:<name>`), a webhook, the schedule or the Core. */
function actorParts(entry: AuditEntryView, link: (role: AuditLinkRole) => AuditLink | undefined): SentencePart[] {
  const actor = entry.actor;
  const found = link("actor");
  if (actor.startsWith("job:")) {
    const name = actor.slice(4);
    return [{ text: "job " }, found ? linked(found) : { text: name }];
  }
  if (actor.startsWith("webhook:")) return [{ text: `webhook ${actor.slice(8)}` }];
  if (actor === "cron") return [{ text: "the schedule" }];
  if (actor === "core" || actor === "system") return [{ text: "the Core" }];
  return [found ? linked(found) : { text: actor }];
}

function linked(l: AuditLink, text = l.name): SentencePart {
  return { text, to: pageOf(l.kind, l.id), kind: l.kind };
}

export function auditSentence(entry: AuditEntryView): SentencePart[] {
  const links = entry.links ?? [];
  const link = (role: AuditLinkRole) => links.find((l) => l.role === role);
  const d = entry.detail ?? {};
  const who = actorParts(entry, link);
  const target = link("target");
  const words = (text: string): SentencePart => ({ text });
  /** The target by its link, else by the name the entry recorded, else by a short id. */
  const named = (noun: string, recorded?: string | null): SentencePart[] => {
    const prefix = noun ? words(`${noun} `) : null;
    const label = target ? linked(target) : words(recorded ?? (entry.target ? shortId(entry.target) : "(none)"));
    return prefix ? [prefix, label] : [label];
  };
  /** `run 3f2a…` (linked while it exists) `of <job>`; a run's link name is its job's name. */
  const run = (l: AuditLink | undefined, id: string | null, withJob = true): SentencePart[] => {
    if (!id) return [];
    const runPart: SentencePart = l ? { ...linked(l), text: `run ${shortId(id)}` } : words(`run ${shortId(id)}`);
    if (!withJob) return [runPart];
    const job = link("job");
    const jobName = job?.name ?? l?.name ?? str(d.job);
    if (job) return [runPart, words(" of "), linked(job)];
    return jobName ? [runPart, words(` of ${jobName}`)] : [runPart];
  };
  const node = link("node");
  const nodeName = node?.name ?? str(d.node) ?? entry.target?.split("/")[0] ?? null;
  const onNode = (): SentencePart[] =>
    node ? [words(" on "), linked(node)] : nodeName ? [words(` on ${nodeName}`)] : [];
  const [noun, verb] = entry.action.split(".", 2) as [string, string | undefined];

  switch (entry.action) {
    case "auth.login":
      return [...who, words(" signed in")];
    case "auth.login_failed":
      if (d.summary === true)
        return [words(`${String(d.refused ?? "More")} more sign-ins were refused from ${entry.ip ?? "one address"}`)];
      return [words("A sign-in as "), ...who, words(" failed")];
    case "token.use":
      if (d.kind === "session") return [...who, words("'s sign-in session was used")];
      return [...who, words(" used "), ...named("token")];
    case "user.password":
      return d.self === true
        ? [...who, words(" changed their own password")]
        : [...who, words(" changed the password of "), ...named("user", str(d.username))];
    case "run.start":
      return [
        ...who,
        words(" started "),
        ...run(target, entry.target),
        ...(str(d.trigger) && d.trigger !== "manual" ? [words(` (${d.trigger})`)] : []),
      ];
    case "run.cancel":
      return [...who, words(" cancelled "), ...run(target, entry.target)];
    case "run.approve":
    case "run.deny":
      return [
        ...who,
        words(` ${verb === "approve" ? "approved" : "denied"} ${str(d.tool) ?? "a tool call"}`),
        ...onNode(),
        words(" in "),
        ...run(target, entry.target),
      ];
    case "tool.call":
      return [
        ...who,
        words(` ran ${str(d.tool) ?? "a tool"}`),
        ...onNode(),
        words(" in "),
        ...run(link("run"), str(d.runId), false),
      ];
    case "mcp.tool.call":
      return [
        ...who,
        words(` called ${str(d.tool) ?? "a tool"}`),
        ...onNode(),
        words(" through MCP"),
        ...(link("token") ? [words(" with token "), linked(link("token") as AuditLink)] : []),
      ];
    case "mcp.approve":
    case "mcp.deny":
      return [
        ...who,
        words(` ${verb === "approve" ? "approved" : "denied"} an MCP call of ${str(d.tool) ?? "a tool"}`),
        ...(str(d.node) ? [words(` on ${d.node}`)] : []),
      ];
    case "mcp.add":
    case "mcp.remove":
    case "mcp.restart":
      return [
        ...who,
        words(` ${VERBS[verb ?? ""]} MCP server `),
        ...named("", entry.target?.split("/").slice(1).join("/")),
      ].concat(onNode());
    case "webhook.reject":
      return [...who, words(" was refused for "), ...named("job"), ...(str(d.reason) ? [words(` (${d.reason})`)] : [])];
    case "webhook.replay":
      return [...who, words(" sent a replay for "), ...named("job"), words(", answered with its first run")];
    case "secret.unreadable":
      return [words(`The Core could not read the secret of ${entry.target ?? "an item"}`)];
    case "channel.test":
      return [...who, words(" tested "), ...named("channel", entry.target)];
  }
  const nounText = NOUNS[noun];
  const verbText = verb ? VERBS[verb] : undefined;
  if (nounText && verbText) {
    return [
      ...who,
      words(` ${verbText} `),
      ...named(nounText, str(d.name) ?? str(d.username) ?? (noun === "secret" ? entry.target : null)),
    ];
  }
  // An action this page does not know yet: still readable, never hidden.
  return [...who, words(` ${entry.action}`), ...(entry.target ? [words(" "), ...named("")] : [])];
}

/** The sentence as plain text (tests, titles). */
export function sentenceText(parts: SentencePart[]): string {
  return parts.map((p) => p.text).join("");
}

/** Detail keys the page does not show: a call's id is the run transcript's business. */
const UNSHOWN = new Set(["callId"]);

/** `detail` as key/value lines: nested objects as dotted keys, lists joined, long values cut.
 * `linked`: ids the sentence already links by name, left out here so no bare UUID repeats them. */
export function detailPairs(
  detail: Record<string, unknown> | undefined,
  max = 200,
  linked: ReadonlySet<string> = new Set(),
): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  const walk = (prefix: string, value: unknown, depth: number) => {
    if (UNSHOWN.has(prefix) || (typeof value === "string" && linked.has(value))) return;
    if (value !== null && typeof value === "object" && !Array.isArray(value) && depth < 3) {
      const entries = Object.entries(value as Record<string, unknown>);
      if (entries.length === 0 && prefix) out.push([prefix, "—"]);
      for (const [k, v] of entries) walk(prefix ? `${prefix}.${k}` : k, v, depth + 1);
      return;
    }
    let text: string;
    if (value === null || value === undefined) text = "—";
    else if (Array.isArray(value))
      text = value.map((v) => (typeof v === "object" ? JSON.stringify(v) : String(v))).join(", ") || "—";
    else if (typeof value === "object") text = JSON.stringify(value);
    else text = String(value);
    out.push([prefix, text.length > max ? `${text.slice(0, max - 1)}…` : text]);
  };
  walk("", detail ?? {}, 0);
  return out;
}
