import { randomBytes } from "node:crypto";
import { expect, it } from "vitest";
import { SecretBox } from "../secrets/secret-box.ts";
import { auditNameKey } from "./repos/audit-names-repo.ts";
import { createRepositories } from "./repos/index.ts";
import { describeEachDialect } from "./testing/dialects.ts";

const box = new SecretBox({ current: { version: 1, key: randomBytes(32) } });

// The audit log's names (issue 22.7) on every dialect: one lookup per kind resolves ids and names
// to what they are called now; gone things and session tokens resolve to nothing.
describeEachDialect("audit log names", (get) => {
  it("resolves each kind by id or name; absent, deleted and session-token keys are left out", async () => {
    const r = createRepositories(get().db, box);
    const user = await r.users.create({ username: "alice", passwordHash: "x", role: "admin" });
    const api = await r.tokens.create({ userId: user.id, name: "ci-bot", tokenHash: "h1", kind: "api" });
    const session = await r.tokens.create({ userId: user.id, name: "session", tokenHash: "h2", kind: "session" });
    const node = await r.nodes.create({ name: "web-1", tokenHash: "h3" });
    const gone = await r.nodes.create({ name: "old-1", tokenHash: "h4" });
    await r.nodes.delete(gone.id);
    const job = await r.jobs.create({ name: "nightly-disk", prompt: "p", model: { provider: "lm", model: "m" } });
    const run = await r.runs.create({ jobId: job.id, trigger: "manual" });
    const provider = await r.providers.create({ name: "LM Studio", kind: "lmstudio", baseUrl: "http://127.0.0.1:1" });
    const channel = await r.channels.create({ name: "ops", kind: "webhook", config: { url: "http://x" }, secret: {} });
    await r.secrets.put("DB_PASSWORD", "v");
    await r.mcpServers.put(node.id, "fs", { preset: "filesystem" });

    const names = await r.auditNames.resolve({
      user: { ids: [user.id], names: ["alice", "nobody"] },
      token: { ids: [api.id, session.id] },
      node: { ids: [node.id, gone.id, "missing"] },
      job: { ids: [job.id], names: ["nightly-disk", "other"] },
      run: { ids: [run.id, "missing-run"] },
      provider: { ids: [provider.id] },
      channel: { ids: [channel.id], names: ["ops"] },
      secret: { names: ["DB_PASSWORD", "NOPE"] },
      mcp_server: { ids: [`${node.id}/fs`, `${node.id}/git`, "no-slash"] },
    });
    const got = (kind: Parameters<typeof auditNameKey>[0], by: "id" | "name", key: string) =>
      names.get(auditNameKey(kind, by, key));
    expect(got("user", "id", user.id)).toEqual({ id: user.id, name: "alice" });
    expect(got("user", "name", "alice")).toEqual({ id: user.id, name: "alice" });
    expect(got("token", "id", api.id)).toEqual({ id: api.id, name: "ci-bot" });
    expect(got("node", "id", node.id)).toEqual({ id: node.id, name: "web-1" });
    expect(got("job", "id", job.id)).toEqual({ id: job.id, name: "nightly-disk" });
    expect(got("job", "name", "nightly-disk")).toEqual({ id: job.id, name: "nightly-disk" });
    expect(got("run", "id", run.id)).toEqual({ id: run.id, name: "nightly-disk" });
    expect(got("provider", "id", provider.id)).toEqual({ id: provider.id, name: "LM Studio" });
    expect(got("channel", "id", channel.id)).toEqual({ id: channel.id, name: "ops" });
    expect(got("channel", "name", "ops")).toEqual({ id: channel.id, name: "ops" });
    expect(got("secret", "name", "DB_PASSWORD")).toMatchObject({ name: "DB_PASSWORD" });
    expect(got("mcp_server", "id", `${node.id}/fs`)).toEqual({ id: `${node.id}/fs`, name: "fs" });
    // 12 found; everything else (gone, missing, a session token) is absent.
    expect(names.size).toBe(12);
    expect(await r.auditNames.resolve({})).toEqual(new Map());
  });

  it("hideSessionTokenUse leaves out only sessions' token.use", async () => {
    const r = createRepositories(get().db, box);
    await r.audit.append({
      actor: "alice",
      action: "token.use",
      target: "t1",
      detail: { kind: "session", via: "cookie" },
    });
    await r.audit.append({ actor: "alice", action: "token.use", target: "t2", detail: { kind: "api", via: "bearer" } });
    await r.audit.append({ actor: "alice", action: "auth.login", target: "alice", detail: { kind: "session" } });
    const all = await r.audit.list({});
    expect(all.map((e) => e.target)).toEqual(["alice", "t2", "t1"]);
    const shown = await r.audit.list({ hideSessionTokenUse: true });
    expect(shown.map((e) => e.target)).toEqual(["alice", "t2"]);
    expect((await r.audit.list({ hideSessionTokenUse: true, action: "token.use" })).map((e) => e.target)).toEqual([
      "t2",
    ]);
  });
});
