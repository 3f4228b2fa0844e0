/**
 * The scripted model and small helpers of the fleet-job e2e suites (one Core and two replicas):
 * each fan-out child is told which server it works on (the executor's system prompt), uses the
 * tools it was offered, and answers with what they returned; the summarize turn names every
 * server it was given.
 */
import { type RecordedRequest, type Turn, turn } from "@fabricore/core/llm/testing/script.ts";
import type { ApiClient } from "./harness.ts";
import { waitFor } from "./harness.ts";

interface ChatBody {
  messages: Array<{ role: string; content?: string | null }>;
  tools?: Array<{ function: { name: string } }>;
}

/** The server a child run works on, from the executor's system prompt. */
export function childServer(request: RecordedRequest): string | undefined {
  const body = request.body as ChatBody;
  const system = body.messages.find((m) => m.role === "system")?.content ?? "";
  return /You are working on the server (\S+) only\./.exec(system)?.[1];
}

export function offeredTools(request: RecordedRequest): string[] {
  return ((request.body as ChatBody).tools ?? []).map((t) => t.function.name).sort();
}

export function fleetScript(request: RecordedRequest): Turn {
  const body = request.body as ChatBody;
  const user = body.messages.find((m) => m.role === "user")?.content ?? "";
  const toolResults = body.messages.filter((m) => m.role === "tool").map((m) => m.content ?? "");
  const server = childServer(request);
  const tools = offeredTools(request);
  if (user.startsWith("The task below was run separately")) {
    // The summarize turn: one line per server section it was given.
    const rows = [...user.matchAll(/^### (\S+) \((\w+)\)$/gm)].map((m) => `${m[1]}: ${m[2]}`);
    return turn.text(`FLEET ANSWER (${rows.length} servers): ${rows.join("; ")}`);
  }
  if (!server) return turn.text("not a fleet child");
  if (toolResults.length > 0) return turn.text(`Report from ${server}: ${toolResults.join(" | ")}`);
  if (user.includes("SCENARIO:slow")) {
    // Long enough that only a cancel ends it; a Node without exec keeps "thinking" instead.
    if (tools.includes("exec_command"))
      return turn.toolCalls([{ name: "exec_command", arguments: { command: "sleep 60", timeoutMs: 120_000 } }]);
    return turn.hang();
  }
  if (tools.includes("exec_command"))
    return turn.toolCalls([{ name: "exec_command", arguments: { command: `echo disk-ok-on-${server}` } }]);
  return turn.toolCalls([{ name: "system_stats", arguments: {} }]);
}

export interface ChildRow {
  id: string;
  nodeId: string;
  nodeName: string;
  status: string;
  output: string | null;
  error: string | null;
}

/** Every child of a fan-out run, once they all exist and have reached one of `statuses`. */
export async function waitChildren(
  api: ApiClient,
  runId: string,
  count: number,
  statuses: string[],
  timeoutMs = 30_000,
): Promise<ChildRow[]> {
  return waitFor(
    `${count} children of ${runId} in ${statuses.join("/")}`,
    async () => {
      const run = await api.ok("GET", `/api/runs/${runId}`);
      const children: ChildRow[] = run.children ?? [];
      return children.length === count && children.every((c) => statuses.includes(c.status)) ? children : undefined;
    },
    timeoutMs,
    100,
  );
}

export const byName = (rows: ChildRow[]) => Object.fromEntries(rows.map((r) => [r.nodeName, r]));
