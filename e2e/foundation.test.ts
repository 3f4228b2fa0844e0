/**
 * Issue 2's end-to-end proof: the real Core process, the compiled Node binary and a scripted
 * LM Studio, on loopback. A job reads a file with a random marker, runs system_stats and an
 * allowed command — by manual run, by a 6-field cron and by a signed webhook — and the model's
 * final answer holds the marker. Plus the failure paths.
 */
import { createHmac, generateKeyPairSync, randomBytes, sign } from "node:crypto";
import { mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { type RecordedRequest, turn } from "@fabricore/core/llm/testing/script.ts";
import {
  type ScriptedOpenAiServer,
  startScriptedOpenAiServer,
} from "@fabricore/core/llm/testing/scripted-openai-server.ts";
import { NODE_AUTH_HEADERS, nodeAuthMessage } from "@fabricore/protocol";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import {
  ApiClient,
  type CoreHandle,
  ensureNodeBinary,
  type NodeProc,
  startCore,
  startNode,
  tempDir,
  waitFor,
} from "./support/harness.ts";

interface ChatBody {
  messages: Array<{ role: string; content?: string | null; tool_call_id?: string }>;
}

const marker = `MARKER-${randomBytes(8).toString("hex")}`;
const readRoot = tempDir("readroot");
const markerFile = join(readRoot, "report.txt");
const outside = tempDir("outside");

/** The scripted model: what it does depends on the scenario word in the job's prompt. */
function script(request: RecordedRequest) {
  const body = request.body as ChatBody;
  const user = body.messages.find((m) => m.role === "user")?.content ?? "";
  const toolResults = body.messages.filter((m) => m.role === "tool").map((m) => m.content ?? "");
  const scenario = /SCENARIO:(\w+)/.exec(user)?.[1];
  if (scenario === "hang") return turn.hang();
  if (toolResults.length > 0) return turn.text(`Final report. ${toolResults.join(" | ")}`);
  switch (scenario) {
    case "basic":
      return turn.toolCalls(
        [
          { name: "read_file", arguments: { path: markerFile } },
          { name: "system_stats", arguments: {} },
          { name: "exec_command", arguments: { command: "echo exec-ok-$((40+2))" } },
        ],
        { argumentsChunkSize: 3 },
      );
    case "escape":
      return turn.toolCalls([
        { name: "read_file", arguments: { path: `${readRoot}/../${outside.split("/").pop()}/secret.txt` } },
        { name: "read_file", arguments: { path: join(readRoot, "link-out", "secret.txt") } },
      ]);
    case "slow":
      return turn.toolCalls([{ name: "exec_command", arguments: { command: "sleep 30", timeoutMs: 60_000 } }]);
    default:
      return turn.text(`no scenario in: ${user.slice(0, 80)}`);
  }
}

let llm: ScriptedOpenAiServer;
let core: CoreHandle;
let api: ApiClient;
let node: NodeProc;
let nodeId: string;
let nodeToken: string;

async function createJob(name: string, prompt: string, extra: Record<string, unknown> = {}) {
  return api.ok("POST", "/api/jobs", {
    name,
    prompt,
    model: { provider: "LM Studio", model: "qwen2.5-7b-instruct" },
    nodes: [nodeId],
    maxSteps: 5,
    ...extra,
  });
}

beforeAll(async () => {
  ensureNodeBinary();
  writeFileSync(markerFile, `disk report marker: ${marker}\n`);
  writeFileSync(join(outside, "secret.txt"), "TOP-SECRET-OUTSIDE");
  mkdirSync(join(readRoot, "sub"));
  symlinkSync(outside, join(readRoot, "link-out"));
  llm = await startScriptedOpenAiServer({ script });
  core = await startCore();
  api = await new ApiClient(core.url).login();
  await api.ok("POST", "/api/providers", { name: "LM Studio", kind: "lmstudio", baseUrl: llm.baseUrl });
  const created = await api.ok("POST", "/api/nodes", { name: "server-a", labels: { env: "test" } });
  nodeId = created.id;
  nodeToken = created.token;
  expect(nodeToken).toMatch(/^fcn_/);
  node = startNode(core.url, nodeToken, ["--read-root", readRoot, "--allow-shell"]);
  await api.waitNodeOnline(nodeId);
}, 120_000);

afterAll(async () => {
  await node?.stop();
  await core?.proc.stop();
  await llm?.close();
});

describe("foundation end to end", () => {
  it("shows the Node online with its built-in tools", async () => {
    const view = await api.ok("GET", `/api/nodes/${nodeId}`);
    expect(view.status).toBe("online");
    expect(view.version).toBeTruthy();
    expect(view.tools.map((t: { name: string }) => t.name).sort()).toEqual([
      "exec_command",
      "read_file",
      "system_stats",
    ]);
    expect(view.tools.every((t: { source: string }) => t.source === "builtin")).toBe(true);
  });

  it("runs a job by hand: the model reads the marker, checks disks and runs a command", async () => {
    const job = await createJob("disk-report", "SCENARIO:basic Check disk space on this server and summarise.");
    const { runId } = await api.ok("POST", `/api/jobs/${job.id}/run`, {});
    const run = await api.waitRun(runId);
    expect(run.status, JSON.stringify(run)).toBe("succeeded");
    expect(run.trigger).toBe("manual");
    expect(run.output).toContain(marker);
    expect(run.output).toContain("exec-ok-42");
    expect(run.output).toMatch(/"mount":\s*"\/"/);
    const tools = run.steps.filter((s: { type: string }) => s.type === "tool");
    expect(tools.map((s: { tool: string }) => s.tool).sort()).toEqual(["exec_command", "read_file", "system_stats"]);
    expect(tools.every((s: { isError: boolean; node: string }) => !s.isError && s.node === "server-a")).toBe(true);
    const llmSteps = run.steps.filter((s: { type: string }) => s.type === "llm");
    expect(llmSteps.length).toBe(2);
    expect(llmSteps[0]).toMatchObject({ provider: "LM Studio", model: "qwen2.5-7b-instruct" });
    expect(llmSteps[0].usage.promptTokens).toBeGreaterThan(0);
  });

  it("streams a run's steps as Server-Sent Events", async () => {
    const job = await api.ok("GET", "/api/jobs/disk-report");
    const { runId } = await api.ok("POST", `/api/jobs/${job.id}/run`, {});
    const res = await fetch(`${core.url}/api/runs/${runId}/events`, {
      headers: { authorization: `Bearer ${api.token}` },
    });
    expect(res.headers.get("content-type")).toContain("text/event-stream");
    const text = await res.text(); // the stream ends after `done`
    const events = [...text.matchAll(/^event: (\w+)$/gm)].map((m) => m[1]);
    expect(events.filter((e) => e === "step").length).toBeGreaterThanOrEqual(5);
    expect(events.at(-1)).toBe("done");
    expect(text).toContain(marker);
  });

  it("fires a 6-field cron with no browser open", async () => {
    const job = await createJob("every-2s", "SCENARIO:basic cron", {
      schedule: { cron: "*/2 * * * * *", timezone: "UTC" },
    });
    expect(job.schedule.nextRuns).toHaveLength(5);
    const run = await waitFor(
      "a cron run to succeed",
      async () => {
        const runs = await api.ok("GET", `/api/runs?jobId=${job.id}`);
        return runs.find((r: { status: string; trigger: string }) => r.trigger === "cron" && r.status === "succeeded");
      },
      20_000,
      250,
    );
    await api.ok("PATCH", `/api/jobs/${job.id}`, { enabled: false });
    const full = await api.ok("GET", `/api/runs/${run.id}`);
    expect(full.output).toContain(marker);
  });

  it("runs a signed webhook with the body as input, and refuses unsigned ones", async () => {
    const secret = "webhook-secret-123";
    const job = await createJob("on-deploy", "SCENARIO:basic deploy happened", { webhook: { slug: "deploy", secret } });
    const body = JSON.stringify({ ref: "refs/heads/main", marker: "payload-7" });
    const sign = (b: string) => `sha256=${createHmac("sha256", secret).update(b).digest("hex")}`;
    const post = (headers: Record<string, string>) =>
      fetch(`${core.url}/api/webhook/deploy`, {
        method: "POST",
        headers: { "content-type": "application/json", ...headers },
        body,
      });

    const unsigned = await post({});
    expect(unsigned.status).toBe(401);
    expect(((await unsigned.json()) as any).error.code).toBe("unauthorized");
    const forged = await post({ "x-hub-signature-256": sign(`${body} `) });
    expect(forged.status).toBe(401);
    expect(await api.ok("GET", `/api/runs?jobId=${job.id}`)).toHaveLength(0);

    const signed = await post({ "x-hub-signature-256": sign(body) });
    expect(signed.status).toBe(202);
    const { runId } = (await signed.json()) as { runId: string };
    const run = await api.waitRun(runId);
    expect(run.status).toBe("succeeded");
    expect(run.trigger).toBe("webhook");
    expect(run.input).toEqual({ ref: "refs/heads/main", marker: "payload-7" });
    expect(run.output).toContain(marker);
    const sawInput = llm.chatRequests().some((r) => JSON.stringify(r.body).includes("payload-7"));
    expect(sawInput).toBe(true);
  });

  it("refuses `..` and symlink escapes from the read roots", async () => {
    const job = await createJob("escape", "SCENARIO:escape read outside");
    const { runId } = await api.ok("POST", `/api/jobs/${job.id}/run`, {});
    const run = await api.waitRun(runId);
    expect(run.status).toBe("succeeded");
    const tools = run.steps.filter((s: { type: string }) => s.type === "tool");
    expect(tools).toHaveLength(2);
    expect(tools.every((s: { isError: boolean }) => s.isError)).toBe(true);
    expect(run.output).not.toContain("TOP-SECRET-OUTSIDE");
  });

  it("refuses malformed and oversized protocol frames without harming the Core or other Nodes", async () => {
    // A raw peer proves itself the way a Node does: its key registered once, a signed challenge.
    const raw = await api.ok("POST", "/api/nodes", { name: "raw-peer" });
    const { privateKey, publicKey } = generateKeyPairSync("ed25519");
    await api.ok("POST", "/api/nodes/enroll", { token: raw.token, publicKey: publicKey.export({ format: "jwk" }).x });
    const { nonce } = await api.ok("POST", "/api/nodes/challenge", {});
    const signature = sign(null, Buffer.from(nodeAuthMessage(raw.id, nonce, core.url)), privateKey);
    const ws = new WebSocket(`${core.url.replace("http", "ws")}/api/nodes/connect`, {
      headers: {
        [NODE_AUTH_HEADERS.nodeId]: raw.id,
        [NODE_AUTH_HEADERS.nonce]: nonce,
        [NODE_AUTH_HEADERS.signature]: signature.toString("base64url"),
      },
    });
    const replies: any[] = [];
    ws.on("message", (data) => replies.push(JSON.parse(String(data))));
    await new Promise((resolve, reject) => {
      ws.once("open", resolve);
      ws.once("error", reject);
    });
    ws.send("this is not json");
    ws.send(JSON.stringify({ jsonrpc: "2.0", id: 7, method: "fabricore/hello", params: { protocolVersion: "one" } }));
    ws.send(JSON.stringify({ jsonrpc: "2.0", id: 8, method: "no/such/method", params: {} }));
    await waitFor("three error replies", () => replies.length >= 3 || undefined, 5000);
    expect(replies[0]).toMatchObject({ id: null, error: { data: { code: "invalid_message" } } });
    expect(replies.find((r) => r.id === 7)).toMatchObject({ error: { data: { code: "invalid_params" } } });
    expect(replies.find((r) => r.id === 8)).toMatchObject({ error: { data: { code: "unknown_method" } } });

    const closed = new Promise<number>((resolve) => ws.once("close", (code) => resolve(code)));
    ws.send("x".repeat(5 * 1024 * 1024));
    expect(await closed).toBe(1009);
    expect((await fetch(`${core.url}/healthz`)).ok).toBe(true);
    expect((await api.ok("GET", `/api/nodes/${nodeId}`)).status).toBe("online");
    const bad = await fetch(`${core.url}/api/nodes/connect`, {
      headers: {
        authorization: "Bearer fcn_forged",
        upgrade: "websocket",
        connection: "Upgrade",
        "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ==",
        "sec-websocket-version": "13",
      },
    }).catch((e: unknown) => e);
    expect(bad instanceof Response ? bad.status : 401).toBe(401);
  });

  it("fails the step clearly when the Node is killed mid-call, and the Node comes back", async () => {
    const job = await createJob("slow", "SCENARIO:slow run something slow");
    const { runId } = await api.ok("POST", `/api/jobs/${job.id}/run`, {});
    await waitFor("the tool call to be in flight", async () => {
      const chats = llm.chatRequests().filter((r) => JSON.stringify(r.body).includes("SCENARIO:slow"));
      return chats.length >= 1 && chats[0]!.finished ? true : undefined;
    });
    await new Promise((r) => setTimeout(r, 500));
    const killedAt = Date.now();
    await node.stop("SIGKILL");
    const run = await api.waitRun(runId, ["succeeded", "failed"], 15_000);
    expect(Date.now() - killedAt).toBeLessThan(10_000); // not the 60 s tool deadline
    const tool = run.steps.find((s: { type: string }) => s.type === "tool");
    expect(tool.isError).toBe(true);
    expect(JSON.stringify(tool.result)).toMatch(/offline|closed|connection/i);

    // Same data dir: the Node's key is its identity (the token was spent at the first start).
    node = startNode(core.url, nodeToken, ["--read-root", readRoot, "--allow-shell"], {}, node.dataDir);
    await api.waitNodeOnline(nodeId);
    const again = await api.ok("POST", "/api/jobs/disk-report/run", {});
    expect((await api.waitRun(again.runId)).status).toBe("succeeded");
  });

  it("marks a run failed with a reason when the Core is restarted mid-run", async () => {
    const job = await createJob("hangs", "SCENARIO:hang wait forever");
    const { runId } = await api.ok("POST", `/api/jobs/${job.id}/run`, {});
    await api.waitRun(runId, ["running"]);
    await core.proc.stop("SIGKILL");
    core = await startCore({ dataDir: core.dataDir, port: core.port });
    api = await new ApiClient(core.url).login();
    const run = await api.waitRun(runId, ["failed"], 10_000);
    expect(run.error).toMatch(/Core stopped/);
    // The Node reconnects to the restarted Core by itself.
    await api.waitNodeOnline(nodeId, 40_000);
    // Its own limit: the restart plus the Node's reconnect backoff (up to 30 s between tries) can
    // pass the 30 s default on a loaded machine without anything being wrong.
  }, 90_000);

  it("answers bad input with a clear error and no side effects", async () => {
    const bad = await api.request("POST", "/api/jobs", { name: "", prompt: 5 });
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe("validation_failed");
    const unknownNode = await api.request("POST", "/api/jobs", {
      name: "ghost",
      prompt: "x",
      model: { provider: "LM Studio", model: "m" },
      nodes: ["no-such-node"],
    });
    expect(unknownNode.status).toBe(400);
    expect(unknownNode.body.error.message).toContain("no-such-node");
    const anonymous = await fetch(`${core.url}/api/jobs`);
    expect(anonymous.status).toBe(401);
    expect((await api.request("GET", "/api/runs/nope")).status).toBe(404);
  });
});
