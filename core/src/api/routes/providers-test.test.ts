import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createLlmClient } from "../../llm/index.ts";
import { turn } from "../../llm/testing/script.ts";
import { type ScriptedOpenAiServer, startScriptedOpenAiServer } from "../../llm/testing/scripted-openai-server.ts";
import { startTestCore, type TestCore } from "../../testing/test-core.ts";

/**
 * Issue 22.6 through the API with real LLM clients against the scripted OpenAI-compatible server
 * over loopback: a provider's address validated in plain words, tested before it is saved (as
 * typed, or a stored one as the form would change it, its key kept), and edited.
 */

let t: TestCore;
let admin: string;
let server: ScriptedOpenAiServer;
let keyed: ScriptedOpenAiServer;

beforeAll(async () => {
  server = await startScriptedOpenAiServer({
    script: () => turn.text("hi"),
    models: [{ id: "qwen2.5-7b" }, { id: "llama-3" }],
  });
  keyed = await startScriptedOpenAiServer({ script: () => turn.text("hi"), apiToken: "sk-stored-key" });
  t = await startTestCore({ llm: (config) => createLlmClient(config) });
  admin = await t.login();
});

afterAll(async () => {
  await t?.close();
  await server?.close();
  await keyed?.close();
});

describe("providers: validated, tested before save, editable (issue 22.6)", () => {
  it("refuses an address that is not http(s), naming the field in plain words", async () => {
    for (const baseUrl of ["localhost:1234", "ftp://models.lan/v1", "javascript:alert(1)"]) {
      const res = await t.api(admin, "POST", "/api/providers", { name: "bad", kind: "lmstudio", baseUrl });
      expect(res.status, baseUrl).toBe(400);
      expect(res.body.error.details).toEqual([
        { path: "body.baseUrl", message: "an http:// or https:// address, like http://localhost:1234/v1" },
      ]);
    }
    const patch = await t.api(admin, "POST", "/api/providers/test", { kind: "lmstudio", baseUrl: "nope" });
    expect(patch.status).toBe(400);
  });

  it("tests settings before they are saved: the models found, or why not", async () => {
    const ok = await t.api(admin, "POST", "/api/providers/test", {
      kind: "openai-compatible",
      baseUrl: server.baseUrl,
    });
    expect(ok.status).toBe(200);
    expect(ok.body).toMatchObject({ ok: true, models: 2, modelIds: ["qwen2.5-7b", "llama-3"] });
    const down = await t.api(admin, "POST", "/api/providers/test", {
      kind: "openai-compatible",
      baseUrl: "http://127.0.0.1:9/v1",
    });
    expect(down.body).toMatchObject({ ok: false, error: { code: expect.any(String), message: expect.any(String) } });
    expect((await t.api(admin, "GET", "/api/providers")).body).toEqual([]);
  });

  it("a stored provider tested as changed keeps its key; then the change is saved", async () => {
    const created = await t.api(admin, "POST", "/api/providers", {
      name: "gateway",
      kind: "openai-compatible",
      baseUrl: "http://127.0.0.1:9/v1",
      apiKey: "sk-stored-key",
    });
    expect(created.status).toBe(201);
    const id = created.body.id;
    // The new address with the stored key: the keyed server accepts it.
    const asChanged = await t.api(admin, "POST", "/api/providers/test", {
      providerId: id,
      kind: "openai-compatible",
      baseUrl: keyed.baseUrl,
    });
    expect(asChanged.body).toMatchObject({ ok: true });
    // A wrong key typed in the form is what is tested, not the stored one.
    const wrongKey = await t.api(admin, "POST", "/api/providers/test", {
      providerId: id,
      kind: "openai-compatible",
      baseUrl: keyed.baseUrl,
      apiKey: "sk-wrong",
    });
    expect(wrongKey.body).toMatchObject({ ok: false });
    // Nothing was stored by testing.
    expect((await t.api(admin, "GET", `/api/providers/${id}`)).body.baseUrl).toBe("http://127.0.0.1:9/v1");
    const saved = await t.api(admin, "PATCH", `/api/providers/${id}`, { baseUrl: keyed.baseUrl });
    expect(saved.status).toBe(200);
    expect((await t.api(admin, "POST", `/api/providers/${id}/test`)).body).toMatchObject({ ok: true, models: 1 });
  });

  it("testing unsaved settings is for admins: an operator is refused", async () => {
    await t.api(admin, "POST", "/api/users", { username: "olga", password: "olga-password-1", role: "operator" });
    const olga = await t.login("olga", "olga-password-1");
    const res = await t.api(olga, "POST", "/api/providers/test", { kind: "lmstudio", baseUrl: server.baseUrl });
    expect(res.status).toBe(403);
  });
});
