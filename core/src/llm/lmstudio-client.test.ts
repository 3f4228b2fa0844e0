import { afterEach, describe, expect, it } from "vitest";
import { createLlmClient } from "./create-llm-client.ts";
import { isFallbackable, LlmError } from "./errors.ts";
import { ProviderSlots } from "./provider-slots.ts";
import { type Script, turn } from "./testing/script.ts";
import {
  type ScriptedModel,
  type ScriptedOpenAiServer,
  type ScriptedOpenAiServerOptions,
  startScriptedOpenAiServer,
} from "./testing/scripted-openai-server.ts";
import type { ChatRequest, LlmClient, ModelStatus, ProviderOptions } from "./types.ts";

/** LM Studio's own API through the real adapter, against the scripted LM Studio on loopback. */

const LOADED = "qwen2.5-7b-instruct";
const COLD = "qwen3-coder-30b";
const models: ScriptedModel[] = [
  { id: LOADED, loaded: true, contextLength: 8192, maxContextLength: 32768, toolUse: true },
  { id: COLD, loaded: false, contextLength: 4096, maxContextLength: 16384, toolUse: true },
];
const ask = (model = LOADED): ChatRequest => ({ model, messages: [{ role: "user", content: "hi" }] });
const signal = () => new AbortController().signal;

let server: ScriptedOpenAiServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function setup(
  script: Script,
  serverOptions: Partial<ScriptedOpenAiServerOptions> = {},
  provider: { apiKey?: string; options?: ProviderOptions; slots?: ProviderSlots } = {},
): Promise<{ server: ScriptedOpenAiServer; client: LlmClient }> {
  server = await startScriptedOpenAiServer({ script, models, ...serverOptions });
  const client = createLlmClient(
    { kind: "lmstudio", baseUrl: server.baseUrl, apiKey: provider.apiKey ?? null, options: provider.options ?? {} },
    { slots: provider.slots ?? new ProviderSlots() },
  );
  return { server, client };
}

async function failure(p: Promise<unknown>): Promise<LlmError> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(LlmError);
    return err as LlmError;
  }
  throw new Error("expected the call to fail");
}

describe("LM Studio's API token", () => {
  it.each([
    ["v1", ["/api/v1/models", "/api/v1/models/load", "/v1/chat/completions"]],
    ["v0", ["/api/v1/models", "/api/v0/models", "/v1/chat/completions"]],
    ["none", ["/api/v1/models", "/api/v0/models", "/v1/models", "/v1/chat/completions"]],
  ] as const)("is on every request to a %s server: model lists, the load, the chat", async (nativeApi, paths) => {
    const { server, client } = await setup(
      [turn.text("ok")],
      { apiToken: "sk-lm-7Hq", nativeApi },
      { apiKey: "sk-lm-7Hq" },
    );
    await client.prepare!(COLD, { signal: signal() });
    expect((await client.chat(ask(COLD), { signal: signal() })).text).toBe("ok");
    expect(server.requests.map((r) => r.path)).toEqual(paths);
    expect(server.requests.map((r) => r.headers.authorization)).toEqual(paths.map(() => "Bearer sk-lm-7Hq"));
  });

  it("missing, the model list (the provider test) and the run's prepare say LM Studio requires one", async () => {
    const { server, client } = await setup([turn.text("never")], { apiToken: "sk-lm-7Hq" });
    const listed = await failure(client.listModels());
    expect(listed.code).toBe("auth_required");
    expect(listed.message).toMatch(/^LM Studio requires an API token: create one in LM Studio/);
    expect(listed.message).toContain("An LM Studio API token is required");
    const prepared = await failure(client.prepare!(LOADED, { signal: signal() }));
    expect(prepared.code).toBe("auth_required");
    expect(isFallbackable(prepared)).toBe(false);
    expect(server.chatRequests()).toHaveLength(0);
  });

  it("refused, it is auth_failed with LM Studio's words", async () => {
    const { client } = await setup([], { apiToken: "sk-lm-7Hq" }, { apiKey: "sk-lm-revoked" });
    const err = await failure(client.listModels());
    expect(err.code).toBe("auth_failed");
    expect(err.message).toContain("The provided API token is invalid");
  });
});

describe("LM Studio models before a run's turn", () => {
  it("a loaded model: its loaded context length and tool use, no load", async () => {
    const { server, client } = await setup([]);
    const info = await client.prepare!(LOADED, { signal: signal() });
    expect(info).toMatchObject({ id: LOADED, loaded: true, loadedContextLength: 8192, toolUse: true });
    // Known loaded for this client: the next turn asks nothing.
    await client.prepare!(LOADED, { signal: signal() });
    expect(server.requests.map((r) => r.path)).toEqual(["/api/v1/models"]);
  });

  it("a model not loaded is loaded with the provider's context length, reported as loading then loaded", async () => {
    const { server, client } = await setup(
      [turn.text("ok")],
      { loadDelayMs: 150 },
      { options: { contextTokens: 6000 } },
    );
    const statuses: ModelStatus[] = [];
    const info = await client.prepare!(COLD, { signal: signal(), onStatus: (s) => statuses.push(s) });
    expect(statuses).toEqual([
      { state: "loading", how: "load_endpoint", contextLength: 6000 },
      { state: "loaded", loadMs: expect.any(Number), contextLength: 6000 },
    ]);
    expect((statuses[1] as { loadMs: number }).loadMs).toBeGreaterThanOrEqual(140);
    expect(info).toMatchObject({ id: COLD, loaded: true, loadedContextLength: 6000 });
    expect(server.requests.find((r) => r.path === "/api/v1/models/load")?.body).toEqual({
      model: COLD,
      config: { context_length: 6000 },
    });
    expect(server.models.find((m) => m.id === COLD)).toMatchObject({ loaded: true, contextLength: 6000 });
  });

  it("a context length over the model's maximum is loaded at the maximum", async () => {
    const { server, client } = await setup([], {}, { options: { contextTokens: 100_000 } });
    const info = await client.prepare!(COLD, { signal: signal() });
    expect(info?.loadedContextLength).toBe(16384);
    expect(server.requests.find((r) => r.path === "/api/v1/models/load")?.body).toMatchObject({
      config: { context_length: 16384 },
    });
  });

  it("a load LM Studio refuses is the server's problem: server_error, so the job's fallback may run it", async () => {
    const { client } = await setup([]);
    server!.models.find((m) => m.id === COLD)!.loadError =
      "Failed to load the model: insufficient system resources (it needs 18.2 GB, 11.9 GB are free)";
    const info = { signal: signal() };
    const err = await failure(client.prepare!(COLD, info));
    expect(err.code).toBe("server_error");
    expect(err.message).toMatch(/^LM Studio could not load qwen3-coder-30b: .*insufficient system resources/);
    expect(isFallbackable(err)).toBe(true);
  });

  it("runs that need the same cold model at once load it once", async () => {
    const { server } = await setup([], { loadDelayMs: 100 });
    const clients = [1, 2, 3].map(() => createLlmClient({ kind: "lmstudio", baseUrl: server.baseUrl }));
    const infos = await Promise.all(clients.map((c) => c.prepare!(COLD, { signal: signal() })));
    expect(infos.map((i) => i?.loaded)).toEqual([true, true, true]);
    expect(server.requests.filter((r) => r.path === "/api/v1/models/load")).toHaveLength(1);
  });

  it("LM Studio 0.3.x has no load endpoint: the first request loads it just in time, the next turn reads its context", async () => {
    const { server, client } = await setup([turn.text("ok"), turn.text("again")], {
      nativeApi: "v0",
      loadDelayMs: 100,
    });
    const statuses: ModelStatus[] = [];
    const cold = await client.prepare!(COLD, { signal: signal(), onStatus: (s) => statuses.push(s) });
    expect(statuses).toEqual([{ state: "loading", how: "jit" }]);
    expect(cold).toMatchObject({ loaded: false, maxContextLength: 16384 });
    expect(cold?.loadedContextLength).toBeUndefined();
    expect((await client.chat(ask(COLD), { signal: signal() })).text).toBe("ok");
    expect(await client.prepare!(COLD, { signal: signal() })).toMatchObject({
      loaded: true,
      loadedContextLength: 4096,
    });
    expect(server.requests.some((r) => r.path === "/api/v1/models/load")).toBe(false);
  });

  it("a model LM Studio does not have: nothing known, and the chat says model_not_found", async () => {
    const { client } = await setup([]);
    expect(await client.prepare!("no-such-model", { signal: signal() })).toBeUndefined();
    const err = await failure(client.chat(ask("no-such-model"), { signal: signal() }));
    expect(err.code).toBe("model_not_found");
  });
});

describe("LM Studio's concurrency", () => {
  const slow: Script = () => turn.text("done", { chunkDelayMs: 20 });

  it("maxConcurrent 1: parallel requests are answered one at a time, the waiting ones told they are queued", async () => {
    const slots = new ProviderSlots();
    const { server, client } = await setup(slow, {}, { options: { maxConcurrent: 1 }, slots });
    const statuses: ModelStatus[][] = [[], [], []];
    const answers = await Promise.all(
      statuses.map((list) => client.chat(ask(), { signal: signal(), onStatus: (s) => list.push(s) })),
    );
    expect(answers.map((a) => a.text)).toEqual(["done", "done", "done"]);
    expect(server.maxConcurrentChats()).toBe(1);
    expect(statuses).toEqual([
      [],
      [{ state: "queued", ahead: 1, limit: 1 }],
      [{ state: "queued", ahead: 2, limit: 1 }],
    ]);
    expect(slots.state(`lmstudio\u0000${server.baseUrl}`)).toEqual({ active: 0, queued: 0 });
  });

  it("LM Studio answering one at a time: queued in LM Studio the third request times out, queued here none does", async () => {
    const oneAtATime = async (maxConcurrent: number) => {
      const { server, client } = await setup(
        () => turn.text("done", { chunkDelayMs: 100 }),
        { parallel: 1 },
        { options: { maxConcurrent, timeoutMs: 500 } },
      );
      // Known loaded: the short deadline applies from the first request.
      await client.prepare!(LOADED, { signal: signal() });
      const outcomes = await Promise.allSettled([1, 2, 3].map(() => client.chat(ask(), { signal: signal() })));
      await server.close();
      return outcomes.map((o) => (o.status === "fulfilled" ? o.value.text : (o.reason as LlmError).code));
    };
    expect(await oneAtATime(8)).toContain("timeout");
    expect(await oneAtATime(1)).toEqual(["done", "done", "done"]);
  });

  it("defaults to what the server is: 4 at once on LM Studio 0.4, 1 on 0.3.x", async () => {
    const v1 = await setup(slow);
    await v1.client.listModels();
    await Promise.all([1, 2, 3, 4, 5, 6].map(() => v1.client.chat(ask(), { signal: signal() })));
    expect(v1.server.maxConcurrentChats()).toBe(4);
    await v1.server.close();
    const v0 = await setup(slow, { nativeApi: "v0" });
    await v0.client.listModels();
    await Promise.all([1, 2, 3].map(() => v0.client.chat(ask(), { signal: signal() })));
    expect(v0.server.maxConcurrentChats()).toBe(1);
  });

  it("a run cancelled while queued gives up its place and holds no slot", async () => {
    const slots = new ProviderSlots();
    const { server, client } = await setup(slow, {}, { options: { maxConcurrent: 1 }, slots });
    const first = client.chat(ask(), { signal: signal() });
    const controller = new AbortController();
    const queued = client.chat(ask(), {
      signal: controller.signal,
      onStatus: (s) => s.state === "queued" && controller.abort(),
    });
    const err = await failure(queued);
    expect(err.code).toBe("cancelled");
    expect((await first).text).toBe("done");
    expect(server.chatRequests()).toHaveLength(1);
    expect(slots.state(`lmstudio\u0000${server.baseUrl}`)).toEqual({ active: 0, queued: 0 });
  });
});
