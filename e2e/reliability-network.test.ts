import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { type RecordedRequest, turn } from "@fabricore/core/llm/testing/script.ts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type AcrossLink, runCleanups, startAcrossLink } from "./support/across-link.ts";
import { type ApiClient, tempDir, waitFor } from "./support/harness.ts";
import { NetLab, netnsAvailability } from "./support/netns.ts";

const HEARTBEAT_SECONDS = 1;
const TOOL_TIMEOUT_SECONDS = 8;
/** The hub gives a call its deadline plus this grace (core/src/nodes/node-hub.ts). */
const DEADLINE_GRACE_MS = 2_000;

const availability = netnsAvailability();
const required = process.env.CI === "true";
if (!availability.ok && !required) console.warn(`skipping reliability-network: ${availability.reason}`);

const work = tempDir("netcut");

/** The scripted model: the command depends on the COMMAND:<n> word in the prompt; once a tool result
 * is in the conversation it answers with the results. */
function script(request: RecordedRequest) {
  const body = request.body as { messages: Array<{ role: string; content?: string | null }> };
  const user = body.messages.find((m) => m.role === "user")?.content ?? "";
  const results = body.messages.filter((m) => m.role === "tool").map((m) => m.content ?? "");
  if (results.length > 0) return turn.text(`report: ${results.join(" | ")}`);
  const name = /COMMAND:(\w+)/.exec(user)?.[1];
  const commands: Record<string, string> = {
    // Marks its start, works for 3 s, then appends its one line.
    slow: `echo start >> ${work}/slow-started; sleep 3; echo once >> ${work}/slow-ran`,
    // Runs past the link staying down: the Core must give up, not hang.
    stuck: `echo start >> ${work}/stuck-started; sleep 30`,
    after: `echo after-ok-$((40+2))`,
  };
  const command = name ? commands[name] : undefined;
  return command ? turn.toolCalls([{ name: "exec_command", arguments: { command } }]) : turn.text("nothing to do");
}

describe.skipIf(!availability.ok && !required)("reliability: the network link cut and restored", () => {
  const lab = new NetLab();
  const cleanups: Array<() => unknown> = [];
  let link: AcrossLink;
  let api: ApiClient;
  let nodeId: string;

  beforeAll(async () => {
    if (!availability.ok) throw new Error(`CI=true and ${availability.reason}`);
    link = await startAcrossLink(
      lab,
      {
        script,
        heartbeatSeconds: HEARTBEAT_SECONDS,
        toolTimeoutSeconds: TOOL_TIMEOUT_SECONDS,
        name: "across-the-link",
      },
      cleanups,
    );
    ({ api, nodeId } = link);
  }, 60_000);

  afterAll(async () => {
    await runCleanups(cleanups);
    // Whatever happened above, the link must not stay down and the namespaces must be gone.
    lab.destroy();
  });

  const runJob = (name: string, command: string) => link.startCommandJob(name, command);

  const nodeStatus = async () => (await api.ok("GET", `/api/nodes/${nodeId}`)).status as string;
  const toolStep = (run: { steps: Array<{ type: string }> }) =>
    run.steps.find((s) => s.type === "tool") as
      | { isError: boolean; durationMs: number; result: { content: Array<{ text?: string }> } }
      | undefined;

  it("a cut mid-call: the step ends clearly, the command ran once, the Node comes back by itself", async () => {
    const runId = await runJob("cut-mid-call", "slow");
    await waitFor("the command to start on the Node", () => existsSync(join(work, "slow-started")), 15_000, 20);
    const cutAt = Date.now();
    lab.setLink(false);
    // Missed heartbeats: the Core marks the Node offline on its own (3 silent intervals, swept every one).
    await waitFor("the Core to mark the Node offline", async () => (await nodeStatus()) === "offline", 8_000, 100);
    const offlineAfterMs = Date.now() - cutAt;
    expect(offlineAfterMs).toBeLessThan((3 + 2) * HEARTBEAT_SECONDS * 1000 + 1_000);
    await new Promise((r) => setTimeout(r, Math.max(0, 5_000 - (Date.now() - cutAt))));
    lab.setLink(true);

    const run = await api.waitRun(runId, undefined, 20_000);
    // Either the call failed with a reason the model (and the operator) can read, or it completed.
    expect(["succeeded", "failed"]).toContain(run.status);
    const step = toolStep(run);
    expect(step, JSON.stringify(run.steps)).toBeDefined();
    if (step?.isError) expect(step.result.content[0]?.text).toMatch(/node_offline|deadline/);
    // The Node reconnects by itself once the link is back.
    await api.waitNodeOnline(nodeId, 25_000);
    // The command ran exactly once: the Node finished it during the cut; nothing ran it again.
    await waitFor("the command to finish", () => existsSync(join(work, "slow-ran")), 10_000, 50);
    await new Promise((r) => setTimeout(r, 1_000));
    expect(readFileSync(join(work, "slow-ran"), "utf8").trim().split("\n")).toEqual(["once"]);
    expect(readFileSync(join(work, "slow-started"), "utf8").trim().split("\n")).toEqual(["start"]);

    // And a later job runs across the restored link.
    const next = await api.waitRun(await runJob("after-the-cut", "after"), undefined, 20_000);
    expect(next.status, JSON.stringify(next)).toBe("succeeded");
    expect(next.output).toContain("after-ok-42");
  }, 60_000);

  it("a call in flight when the link dies fails within its deadline instead of hanging", async () => {
    const runId = await runJob("cut-for-good", "stuck");
    await waitFor("the command to start on the Node", () => existsSync(join(work, "stuck-started")), 15_000, 20);
    const cutAt = Date.now();
    lab.setLink(false);
    try {
      const run = await api.waitRun(runId, undefined, TOOL_TIMEOUT_SECONDS * 1000 + DEADLINE_GRACE_MS + 5_000);
      const step = toolStep(run);
      expect(step, JSON.stringify(run.steps)).toBeDefined();
      expect(step?.isError).toBe(true);
      expect(step?.result.content[0]?.text).toMatch(/node_offline|deadline/);
      expect(step?.durationMs).toBeLessThanOrEqual(TOOL_TIMEOUT_SECONDS * 1000 + DEADLINE_GRACE_MS + 500);
      expect(Date.now() - cutAt).toBeLessThan(TOOL_TIMEOUT_SECONDS * 1000 + DEADLINE_GRACE_MS + 3_000);
      expect(await nodeStatus()).toBe("offline");
    } finally {
      lab.setLink(true);
    }
    await api.waitNodeOnline(nodeId, 25_000);
  }, 45_000);
});
