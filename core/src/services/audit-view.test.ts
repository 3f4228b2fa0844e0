import { describe, expect, it } from "vitest";
import { type AuditNameWanted, auditNameKey } from "../database/repos/audit-names-repo.ts";
import type { AuditEntry } from "../database/types.ts";
import { refsOf } from "./audit-refs.ts";
import { withNames } from "./audit-view.ts";

function entry(over: Partial<AuditEntry>): AuditEntry {
  return {
    id: 1,
    at: "2026-12-07T09:00:00.000Z",
    actor: "alice",
    action: "x",
    target: null,
    ip: null,
    outcome: "ok",
    detail: {},
    resultHash: null,
    ...over,
  };
}

describe("audit references (issue 22.7)", () => {
  it("reads who, what and the detail's run/job/Node/token from each kind of entry", () => {
    expect(refsOf(entry({ action: "run.cancel", target: "r1", detail: { jobId: "j1" } }))).toEqual([
      { role: "actor", kind: "user", by: "name", key: "alice" },
      { role: "target", kind: "run", by: "id", key: "r1" },
      { role: "job", kind: "job", by: "id", key: "j1" },
    ]);
    expect(
      refsOf(
        entry({
          actor: "job:nightly",
          action: "tool.call",
          target: "web-1/exec_command",
          detail: { runId: "r1", nodeId: "n1" },
        }),
      ),
    ).toEqual([
      { role: "actor", kind: "job", by: "name", key: "nightly" },
      { role: "run", kind: "run", by: "id", key: "r1" },
      { role: "node", kind: "node", by: "id", key: "n1" },
    ]);
    expect(refsOf(entry({ action: "mcp.restart", target: "n1/fs" }))).toContainEqual({
      role: "target",
      kind: "mcp_server",
      by: "id",
      key: "n1/fs",
    });
    expect(refsOf(entry({ action: "mcp.add", target: "n1/fs" }))).toContainEqual({
      role: "node",
      kind: "node",
      by: "id",
      key: "n1",
    });
    expect(refsOf(entry({ action: "secret.delete", target: "API_KEY" }))[1]).toEqual({
      role: "target",
      kind: "secret",
      by: "name",
      key: "API_KEY",
    });
    expect(refsOf(entry({ action: "channel.test", target: "ops" }))[1]).toMatchObject({ kind: "channel", by: "name" });
    expect(refsOf(entry({ actor: "webhook:gh", action: "webhook.reject", target: "j1" }))).toEqual([
      { role: "target", kind: "job", by: "id", key: "j1" },
    ]);
    // Not people: the Core, cron and anonymous refusals have no user to link.
    for (const actor of ["cron", "system", "core", "anonymous"]) expect(refsOf(entry({ actor }))).toEqual([]);
  });

  it("resolves a whole page with one call and links only what was found", async () => {
    const calls: AuditNameWanted[] = [];
    const resolver = {
      resolve: async (wanted: AuditNameWanted) => {
        calls.push(wanted);
        return new Map([
          [auditNameKey("run", "id", "r1"), { id: "r1", name: "nightly" }],
          [auditNameKey("user", "name", "alice"), { id: "u1", name: "alice" }],
        ]);
      },
    };
    const page = Array.from({ length: 200 }, (_, i) =>
      entry({ id: i, action: "run.start", target: i === 0 ? "r1" : `gone-${i}` }),
    );
    const views = await withNames(page, resolver);
    expect(calls.length).toBe(1);
    expect(calls[0]?.run?.ids?.length).toBe(200);
    expect(views[0]).toMatchObject({
      targetName: "nightly",
      links: [
        { role: "actor", kind: "user", id: "u1", name: "alice" },
        { role: "target", kind: "run", id: "r1", name: "nightly" },
      ],
    });
    expect(views[1]).toMatchObject({ targetName: null, links: [{ role: "actor" }] });
    expect(
      await withNames([entry({ actor: "cron" })], {
        resolve: async () => {
          throw new Error("not called");
        },
      }),
    ).toEqual([expect.objectContaining({ targetName: null, links: [] })]);
  });
});
