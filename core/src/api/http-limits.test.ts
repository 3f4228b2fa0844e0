import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RecordingLlmClient } from "../agent/testing/recording-llm-client.ts";
import { startTestCore, type TestCore } from "../testing/test-core.ts";

/**
 * Issue 21.10: SSE answers lacked the security headers the other answers have; one viewer could
 * hold 1,000 event streams; 1,500 probes of unknown webhook slugs a second were all answered.
 */

const STREAMS = 3;
const PROBES = 5;
let t: TestCore;
let admin: string;
let base: string;
let hangingRun: string;
let finishedRun: string;

beforeAll(async () => {
  t = await startTestCore({
    env: {
      FABRICORE_SSE_STREAMS_PER_USER: String(STREAMS),
      FABRICORE_WEBHOOK_UNKNOWN_PER_MINUTE: String(PROBES),
      FABRICORE_HOST: "127.0.0.1",
    },
    llm: () =>
      new RecordingLlmClient((request) =>
        request.messages.at(-1)?.content === "hang" ? { hangAfter: "…" } : { text: "done" },
      ),
  });
  admin = await t.login();
  base = await t.core.listen();
  await t.api(admin, "POST", "/api/providers", { name: "p1", kind: "lmstudio", baseUrl: "http://127.0.0.1:9" });
  const job = async (name: string, prompt: string, extra: Record<string, unknown> = {}) =>
    (await t.api(admin, "POST", "/api/jobs", { name, prompt, model: { provider: "p1", model: "m" }, ...extra })).body
      .id;
  const hangId = await job("hang", "hang");
  const doneId = await job("done", "go");
  await job("hooked", "go", { webhook: { slug: "real-hook", public: true } });
  hangingRun = (await t.api(admin, "POST", `/api/jobs/${hangId}/run`, {})).body.runId;
  finishedRun = (await t.api(admin, "POST", `/api/jobs/${doneId}/run`, {})).body.runId;
  for (let i = 0; i < 200; i++) {
    const [a, b] = await Promise.all([
      t.api(admin, "GET", `/api/runs/${hangingRun}`),
      t.api(admin, "GET", `/api/runs/${finishedRun}`),
    ]);
    if (a.body.status === "running" && b.body.status === "succeeded") break;
    await new Promise((r) => setTimeout(r, 20));
  }
});

afterAll(async () => {
  await t.api(admin, "POST", `/api/runs/${hangingRun}/cancel`, {});
  await t?.close();
});

describe("event streams (issue 21.10)", () => {
  it("carry the security headers every other answer has", async () => {
    const res = await fetch(`${base}/api/runs/${finishedRun}/events`, {
      headers: { authorization: `Bearer ${admin}` },
    });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^text\/event-stream/);
    expect(res.headers.get("x-content-type-options")).toBe("nosniff");
    expect(res.headers.get("x-frame-options")).toBe("DENY");
    expect(res.headers.get("referrer-policy")).toBe("no-referrer");
    expect(res.headers.get("cross-origin-resource-policy")).toBe("same-origin");
    expect(res.headers.get("content-security-policy")).toMatch(/^default-src 'none'/);
    expect(res.headers.get("x-request-id")).toBeTruthy();
    expect(await res.text()).toContain("event: done");
  });

  it(`one user holds at most ${STREAMS} at once; others are unaffected; a closed one frees its place`, async () => {
    const viewer = await t.userToken("viewer");
    const other = await t.userToken("viewer");
    const open = (token: string) => {
      const abort = new AbortController();
      return fetch(`${base}/api/runs/${hangingRun}/events`, {
        headers: { authorization: `Bearer ${token}` },
        signal: abort.signal,
      }).then((res) => ({ res, close: () => abort.abort() }));
    };
    const held = [];
    for (let i = 0; i < STREAMS; i++) held.push(await open(viewer));
    for (const h of held) expect(h.res.status).toBe(200);
    const refused = await open(viewer);
    expect(refused.res.status).toBe(429);
    expect(((await refused.res.json()) as { error: { code: string } }).error.code).toBe("rate_limited");
    const others = await open(other);
    expect(others.res.status).toBe(200);
    others.close();

    held.shift()?.close();
    let again = await open(viewer);
    for (let i = 0; again.res.status === 429 && i < 50; i++) {
      await new Promise((r) => setTimeout(r, 20));
      again = await open(viewer);
    }
    expect(again.res.status).toBe(200);
    for (const h of [...held, again]) h.close();
  });
});

describe("unknown webhook slugs (issue 21.10)", () => {
  const post = (slug: string, remoteAddress: string) =>
    t.core.app.inject({ method: "POST", url: `/api/webhook/${slug}`, payload: "{}", remoteAddress });

  it(`after ${PROBES} unknown slugs an address gets 429 for every slug; other addresses are unaffected`, async () => {
    for (let i = 0; i < PROBES; i++) expect((await post(`guess-${i}`, "203.0.113.7")).statusCode).toBe(404);
    const limited = await post("guess-next", "203.0.113.7");
    expect(limited.statusCode).toBe(429);
    expect(limited.headers["retry-after"]).toBeTruthy();
    // A real slug answers like a guessed one now: the probe learns nothing.
    expect((await post("real-hook", "203.0.113.7")).statusCode).toBe(429);
    expect((await post("real-hook", "198.51.100.9")).statusCode).toBe(202);
    expect((await post("guess-0", "198.51.100.9")).statusCode).toBe(404);
  });
});
