import { ProtocolError } from "@fabricore/protocol";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { InMemoryTransport } from "@modelcontextprotocol/sdk/inMemory.js";
import { Server } from "@modelcontextprotocol/sdk/server/index.js";
import { CallToolRequestSchema, ListToolsRequestSchema } from "@modelcontextprotocol/sdk/types.js";
import { afterEach, describe, expect, it } from "vitest";
import { silentLogger } from "../logger.ts";
import { callServerTool, listServerTools, unsupportedReason } from "./tool-calls.ts";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const schema = { type: "object" as const, properties: {} };

/** A real SDK server over an in-memory pair: `steps` × `stepMs`, progress after each step when asked. */
async function connect() {
  const server = new Server({ name: "t", version: "1" }, { capabilities: { tools: {} } });
  const tokens: unknown[] = [];
  server.setRequestHandler(ListToolsRequestSchema, async () => ({
    tools: [
      { name: "plain", inputSchema: schema },
      { name: "maybe-task", inputSchema: schema, execution: { taskSupport: "optional" } },
      { name: "task-only", inputSchema: schema, execution: { taskSupport: "required" } },
    ],
  }));
  server.setRequestHandler(CallToolRequestSchema, async (request, extra) => {
    const {
      steps = 1,
      stepMs = 0,
      report = true,
    } = (request.params.arguments ?? {}) as Record<string, number | boolean>;
    const token = request.params._meta?.progressToken;
    tokens.push(token);
    for (let i = 1; i <= Number(steps); i++) {
      await sleep(Number(stepMs));
      if (report && token !== undefined)
        await extra.sendNotification({
          method: "notifications/progress",
          params: { progressToken: token, progress: i, total: Number(steps), message: `step ${i}` },
        });
    }
    return { content: [{ type: "text", text: "done" }] };
  });
  const [a, b] = InMemoryTransport.createLinkedPair();
  const client = new Client({ name: "c", version: "1" });
  await Promise.all([server.connect(a), client.connect(b)]);
  return { client, server, tokens };
}

let opened: Awaited<ReturnType<typeof connect>> | undefined;
afterEach(async () => {
  await opened?.client.close();
  opened = undefined;
});

const describeFailure = async () => "gone";

describe("MCP tool calls: task-required tools and progress", () => {
  it("leaves task-required tools out and names them, keeping task-optional ones", async () => {
    opened = await connect();
    const { tools, skipped } = await listServerTools(opened.client, "srv", 5000, silentLogger);
    expect(tools.map((t) => t.name)).toEqual(["plain", "maybe-task"]);
    expect(skipped).toEqual([{ name: "task-only", reason: expect.stringMatching(/task-based execution/) }]);
    expect(unsupportedReason({ execution: { taskSupport: "forbidden" } })).toBeUndefined();
  });

  it("sends a progress token on every call and forwards the server's progress", async () => {
    opened = await connect();
    const seen: unknown[] = [];
    const result = await callServerTool(
      opened.client,
      "srv",
      "plain",
      { steps: 3, stepMs: 5 },
      { signal: new AbortController().signal, deadlineMs: 5000, onProgress: (p) => seen.push(p) },
      describeFailure,
    );
    expect(result.isError).toBe(false);
    expect(opened.tokens[0]).not.toBeUndefined();
    expect(seen).toEqual([
      { progress: 1, total: 3, message: "step 1" },
      { progress: 2, total: 3, message: "step 2" },
      { progress: 3, total: 3, message: "step 3" },
    ]);
  });

  it("with maxDeadlineMs, progress restarts the SDK's timeout; without progress it still fires", async () => {
    opened = await connect();
    // 8 steps of 50 ms: 400 ms in all against a 150 ms deadline, never 150 ms without progress.
    const extended = await callServerTool(
      opened.client,
      "srv",
      "plain",
      { steps: 8, stepMs: 50 },
      { signal: new AbortController().signal, deadlineMs: 150, maxDeadlineMs: 10_000 },
      describeFailure,
    );
    expect(extended.content).toEqual([{ type: "text", text: "done" }]);
    const stalled = await callServerTool(
      opened.client,
      "srv",
      "plain",
      { steps: 1, stepMs: 400, report: false },
      { signal: new AbortController().signal, deadlineMs: 150, maxDeadlineMs: 10_000 },
      describeFailure,
    ).catch((error: unknown) => error);
    expect(stalled).toBeInstanceOf(ProtocolError);
    expect((stalled as ProtocolError).code).toBe("deadline_exceeded");
    const capped = await callServerTool(
      opened.client,
      "srv",
      "plain",
      { steps: 20, stepMs: 50 },
      { signal: new AbortController().signal, deadlineMs: 150, maxDeadlineMs: 300 },
      describeFailure,
    ).catch((error: unknown) => error);
    expect((capped as ProtocolError).code).toBe("deadline_exceeded");
  });
});
