/**
 * The scripted LM Studio of the fleet-jobs benchmark, and what it saw on the wire. Two kinds of run:
 * - a work run (a fan-out child or one of the baseline's single-Node runs): the first turn calls
 *   system_stats, the second answers. First turns are counted per server the system prompt names,
 *   so a child that reached the model twice shows.
 * - a tool-count probe (its prompt carries PROBE_MARK): every request's `tools` is recorded as sent;
 *   with the fleet tools the model lists the Nodes, calls system_stats on one through call_tool and
 *   answers, so the whole indirect path is exercised; with a flat list it calls one Node's tool.
 */
import { type RecordedRequest, type Turn, turn } from "@fabricore/core/llm/testing/script.ts";
import {
  type ScriptedOpenAiServer,
  startScriptedOpenAiServer,
} from "@fabricore/core/llm/testing/scripted-openai-server.ts";

export const PROBE_MARK = "TOOL-COUNT-PROBE";

interface ChatBody {
  messages: Array<{ role: string; content?: unknown }>;
  tools?: Array<{ function?: { name?: string } }>;
}

/** One request of a probe run, as the Core sent it. */
export interface ProbeRequest {
  tools: number;
  toolNames: string[];
  /** Bytes of the `tools` array's JSON. */
  toolsBytes: number;
  /** Bytes of the whole request body's JSON. */
  bodyBytes: number;
  /** Bytes of the last tool result in the conversation (list_nodes' answer on the second turn). */
  lastToolResultBytes: number;
  /** Distinct Node names in that result, and whether the Core cut it to fit (its "characters cut" note). */
  lastToolResultNodes: number;
  lastToolResultCut: boolean;
}

export interface BenchModel {
  server: ScriptedOpenAiServer;
  baseUrl: string;
  /** Chat requests answered so far. */
  requests(): number;
  /** Every request so far, chat or not (the rest are model listings). */
  allRequests(): number;
  /** First turns per server name (from "You are working on the server X only."). */
  firstTurnsByServer: Map<string, number>;
  /** Probe key (the text after PROBE_MARK up to the end of the line) → its requests in order. */
  probes: Map<string, ProbeRequest[]>;
  close(): Promise<void>;
}

function text(content: unknown): string {
  if (typeof content === "string") return content;
  if (Array.isArray(content)) {
    return content.map((part) => (typeof part?.text === "string" ? part.text : "")).join("");
  }
  return "";
}

export async function startBenchModel(): Promise<BenchModel> {
  let requests = 0;
  const firstTurnsByServer = new Map<string, number>();
  const probes = new Map<string, ProbeRequest[]>();

  const work = (body: ChatBody): Turn => {
    if (body.messages.some((m) => m.role === "tool")) return turn.text("Stats collected: load is fine.");
    const system = text(body.messages.find((m) => m.role === "system")?.content);
    const server = /You are working on the server (\S+) only\./.exec(system)?.[1] ?? "(no server named)";
    firstTurnsByServer.set(server, (firstTurnsByServer.get(server) ?? 0) + 1);
    return turn.toolCalls([{ name: "system_stats", arguments: {} }]);
  };

  const probe = (key: string, body: ChatBody): Turn => {
    const names = (body.tools ?? []).map((t) => t.function?.name ?? "?");
    const toolMessages = body.messages.filter((m) => m.role === "tool");
    const last = text(toolMessages.at(-1)?.content);
    const list = probes.get(key) ?? [];
    list.push({
      tools: names.length,
      toolNames: names.length <= 10 ? names : [...names.slice(0, 5), "…"],
      toolsBytes: JSON.stringify(body.tools ?? []).length,
      bodyBytes: JSON.stringify(body).length,
      lastToolResultBytes: last.length,
      lastToolResultNodes: new Set(last.match(/"node":"[^"]+"/g) ?? []).size,
      lastToolResultCut: /characters cut here/.test(last),
    });
    probes.set(key, list);
    if (names.includes("call_tool")) {
      if (toolMessages.length === 0) return turn.toolCalls([{ name: "list_nodes", arguments: {} }]);
      if (toolMessages.length === 1) {
        return turn.toolCalls([
          { name: "call_tool", arguments: { node: "sim-0", tool: "system_stats", arguments: {} } },
        ]);
      }
      return turn.text("Every Node was listed; sim-0 is fine.");
    }
    const stats = names.find((n) => n.endsWith("system_stats"));
    if (toolMessages.length === 0 && stats) return turn.toolCalls([{ name: stats, arguments: {} }]);
    return turn.text("sim-0 is fine.");
  };

  const server = await startScriptedOpenAiServer({
    script: (request: RecordedRequest) => {
      requests += 1;
      const body = request.body as ChatBody;
      const user = text(body.messages.find((m) => m.role === "user")?.content);
      const at = user.indexOf(PROBE_MARK);
      if (at < 0) return work(body);
      const key = user
        .slice(at + PROBE_MARK.length)
        .split("\n")[0]!
        .trim();
      return probe(key, body);
    },
  });
  return {
    server,
    baseUrl: server.baseUrl,
    requests: () => requests,
    allRequests: () => server.requests.length,
    firstTurnsByServer,
    probes,
    close: () => server.close(),
  };
}
