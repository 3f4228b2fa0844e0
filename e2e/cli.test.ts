/**
 * Issue 23's command line, end to end: the compiled `dist/fabricore` against the real Core process,
 * the compiled Node and a scripted LM Studio on loopback. Jobs as YAML files applied twice (the
 * second changes nothing), exported and applied back (unchanged), pruned; `run --follow` prints
 * the tool calls and exits with the run's status; approve and deny; the API's errors printed.
 */
import { spawn } from "node:child_process";
import { createHmac } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { type RecordedRequest, turn } from "@fabricore/core/llm/testing/script.ts";
import {
  type ScriptedOpenAiServer,
  startScriptedOpenAiServer,
} from "@fabricore/core/llm/testing/scripted-openai-server.ts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseAllDocuments } from "yaml";
import { ensureCliBinary, runCli, startCli } from "./support/cli.ts";
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
  messages: Array<{ role: string; content?: string | null }>;
}

/** The scripted model: the scenario word in the job's prompt decides. */
function script(request: RecordedRequest) {
  const body = request.body as ChatBody;
  const user = body.messages.find((m) => m.role === "user")?.content ?? "";
  const toolResults = body.messages.filter((m) => m.role === "tool").map((m) => m.content ?? "");
  const scenario = /SCENARIO:(\w+)/.exec(user)?.[1];
  if (scenario === "fail") return turn.text("this answer is not the JSON the job asks for");
  if (toolResults.length > 0) return turn.text(`The command said: ${toolResults.join(" | ")}`);
  if (scenario === "echo" || scenario === "gated")
    return turn.toolCalls([{ name: "exec_command", arguments: { command: `echo ${scenario}-tool-output` } }]);
  return turn.text("nothing to do");
}

let llm: ScriptedOpenAiServer;
let core: CoreHandle;
let api: ApiClient;
let node: NodeProc;
/** What every command gets: the Core, an API token, and a config dir of this test's own. */
let env: Record<string, string>;
const jobsDir = tempDir("cli-jobs");

const JOBS_YAML = `# two jobs in one file
name: cli-echo
prompt: "SCENARIO:echo run the command"
model: {provider: LM Studio, model: qwen2.5-7b-instruct}
nodes: [web-1]
maxSteps: 4
---
name: cli-fail
prompt: SCENARIO:fail answer in JSON
model: {provider: LM Studio, model: qwen2.5-7b-instruct}
nodes: [web-1]
output:
  schema: {type: object, required: [ok], properties: {ok: {type: boolean}}}
`;
const GATED_YAML = `name: cli-gated
prompt: SCENARIO:gated run it after approval
model: {provider: LM Studio, model: qwen2.5-7b-instruct}
nodes: [web-1]
approval: {tools: [exec_command]}
schedule: {cron: "0 3 * * *", timezone: Europe/Berlin}
then:
  - job: cli-echo
`;

beforeAll(async () => {
  ensureNodeBinary();
  ensureCliBinary();
  llm = await startScriptedOpenAiServer({ script });
  core = await startCore();
  api = await new ApiClient(core.url).login();
  await api.ok("POST", "/api/providers", { name: "LM Studio", kind: "lmstudio", baseUrl: llm.baseUrl });
  const created = await api.ok("POST", "/api/nodes", { name: "web-1", labels: { env: "test" } });
  node = startNode(core.url, created.token, ["--allow-exec"]);
  await api.waitNodeOnline(created.id);
  const { token } = await api.ok("POST", "/api/tokens", { name: "cli-e2e" });
  env = { FABRICORE_URL: core.url, FABRICORE_TOKEN: token, XDG_CONFIG_HOME: tempDir("cli-config") };
  writeFileSync(join(jobsDir, "jobs.yaml"), JOBS_YAML);
  mkdirSync(join(jobsDir, "gated"));
  writeFileSync(join(jobsDir, "gated", "gated.yml"), GATED_YAML);
}, 120_000);

afterAll(async () => {
  await node?.stop();
  await core?.proc.stop();
  await llm?.close();
});

describe("fabricore, the compiled command line", () => {
  it("logs in into a 0600 config file and then needs no environment", async () => {
    const config = tempDir("cli-login");
    const login = await runCli(["login", core.url, "--token", env.FABRICORE_TOKEN!], { XDG_CONFIG_HOME: config });
    expect(login.stderr).toBe("");
    expect(login.code).toBe(0);
    expect(login.stdout).toContain(`logged in to ${core.url} as admin`);
    const file = join(config, "fabricore", "config.json");
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(JSON.parse(readFileSync(file, "utf8"))).toEqual({ url: core.url, token: env.FABRICORE_TOKEN });

    const nodes = await runCli(["nodes"], { XDG_CONFIG_HOME: config });
    expect(nodes.code).toBe(0);
    expect(nodes.stdout).toMatch(/^NAME\s+STATUS\s+VERSION\s+TOOLS\s+LABELS\s+ID\n/);
    expect(nodes.stdout).toMatch(/web-1\s+online\s+\S+\s+\d+\s+env=test\s+[0-9a-f-]{36}\n/);
    expect(nodes.stdout).not.toContain("\u001b["); // not a TTY: no colours

    const json = await runCli(["nodes", "--json"], { XDG_CONFIG_HOME: config });
    expect(JSON.parse(json.stdout)).toEqual([expect.objectContaining({ name: "web-1", status: "online" })]);

    const wrong = await runCli(["login", core.url, "--token", "fct_not-a-token"], { XDG_CONFIG_HOME: tempDir("x") });
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toMatch(/^error: /);
  });

  it("jobs apply creates, then reports unchanged; an edit is one update naming the field", async () => {
    const first = await runCli(["jobs", "apply", "-f", jobsDir], env);
    expect(first.stderr).toBe("");
    expect(first.code).toBe(0);
    // In file order (gated/ sorts before jobs.yaml), except that cli-gated's `then` names
    // cli-echo, so cli-echo is created first.
    expect(first.stdout).toBe(
      "created   cli-echo\ncreated   cli-gated\ncreated   cli-fail\n3 created, 0 updated, 0 unchanged, 0 deleted\n",
    );
    const second = await runCli(["jobs", "apply", "-f", jobsDir], env);
    expect(second.code).toBe(0);
    expect(second.stdout).toBe(
      "unchanged cli-echo\nunchanged cli-gated\nunchanged cli-fail\n0 created, 0 updated, 3 unchanged, 0 deleted\n",
    );

    const edited = join(tempDir("cli-edit"), "gated.yaml");
    writeFileSync(
      edited,
      GATED_YAML.replace("run it after approval", "run it once approved").replace(/^schedule.*\n/m, ""),
    );
    const update = await runCli(["jobs", "apply", "-f", edited, "--json"], env);
    expect(update.code).toBe(0);
    expect(JSON.parse(update.stdout)).toMatchObject({
      results: [{ name: "cli-gated", action: "updated", changed: ["prompt", "schedule"] }],
      summary: { created: 0, updated: 1, unchanged: 0 },
    });
    const job = await api.ok("GET", "/api/jobs/cli-gated");
    expect(job.prompt).toBe("SCENARIO:gated run it once approved");
    expect(job.schedule).toBeNull(); // left out of the file: removed
    const back = await runCli(["jobs", "apply", "-f", jobsDir], env);
    expect(back.stdout).toContain("updated   cli-gated (prompt, schedule)\n");
  });

  it("jobs export is the YAML apply reads: applied back it is unchanged", async () => {
    const exported = await runCli(["jobs", "export"], env);
    expect(exported.code).toBe(0);
    const docs = parseAllDocuments(exported.stdout) as unknown as { toJS(): Record<string, unknown> }[];
    expect(docs.map((d) => d.toJS().name)).toEqual(["cli-echo", "cli-fail", "cli-gated"]);
    // References by name, defaults left out.
    expect(docs[2]!.toJS()).toEqual({
      name: "cli-gated",
      prompt: "SCENARIO:gated run it after approval",
      model: { provider: "LM Studio", model: "qwen2.5-7b-instruct" },
      nodes: ["web-1"],
      schedule: { cron: "0 3 * * *", timezone: "Europe/Berlin" },
      approval: { tools: ["exec_command"] },
      // biome-ignore lint/suspicious/noThenProperty: the job field CONTRACT names `then`, an array
      then: [{ job: "cli-echo" }],
    });
    const file = join(tempDir("cli-export"), "all.yaml");
    writeFileSync(file, exported.stdout);
    const applied = await runCli(["jobs", "apply", "-f", file], env);
    expect(applied.stdout).toBe(
      "unchanged cli-echo\nunchanged cli-fail\nunchanged cli-gated\n0 created, 0 updated, 3 unchanged, 0 deleted\n",
    );
    // Piped, as in `fabricore jobs export | fabricore jobs apply -f -`.
    const piped = await startCli(["jobs", "apply", "-f", "-"], env, exported.stdout).done;
    expect(piped.stdout).toContain("0 created, 0 updated, 3 unchanged, 0 deleted\n");
    const asJson = JSON.parse((await runCli(["jobs", "export", "--json"], env)).stdout);
    expect(asJson).toEqual(docs.map((d) => d.toJS()));
    const one = await runCli(["jobs", "export", "cli-echo"], env);
    expect(one.stdout).toBe(
      "name: cli-echo\nprompt: SCENARIO:echo run the command\nmodel:\n  provider: LM Studio\n  model: qwen2.5-7b-instruct\nnodes:\n  - web-1\nmaxSteps: 4\n",
    );
    const listing = await runCli(["jobs"], env);
    expect(listing.stdout).toMatch(
      /cli-gated\s+yes\s+0 3 \* \* \* Europe\/Berlin\s+qwen2.5-7b-instruct\s+[0-9a-f-]{36}\n/,
    );
  });

  it("--prune deletes the jobs no file names, and --dry-run changes nothing", async () => {
    await api.ok("POST", "/api/jobs", {
      name: "stray",
      prompt: "left over",
      model: { provider: "LM Studio", model: "qwen2.5-7b-instruct" },
      nodes: ["web-1"],
    });
    const dry = await runCli(["jobs", "apply", "-f", jobsDir, "--prune", "--dry-run"], env);
    expect(dry.stdout).toContain("deleted   stray\n");
    expect(dry.stdout).toContain("(dry run: nothing was changed)");
    expect((await api.request("GET", "/api/jobs/stray")).status).toBe(200);
    const pruned = await runCli(["jobs", "apply", "-f", jobsDir, "--prune"], env);
    expect(pruned.code).toBe(0);
    expect(pruned.stdout).toContain("deleted   stray\n");
    expect(pruned.stdout).toContain("0 created, 0 updated, 3 unchanged, 1 deleted");
    expect((await api.request("GET", "/api/jobs/stray")).status).toBe(404);
  });

  it("run --follow prints the tool call and its result and exits 0 when the run succeeded", async () => {
    const run = await runCli(["run", "cli-echo", "--follow"], env);
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    const runId = /^run (\S+) of cli-echo\n/.exec(run.stdout)?.[1];
    expect(runId, run.stdout).toBeTruthy();
    expect(run.stdout).toContain('→ web-1 · exec_command {"command":"echo echo-tool-output"}\n');
    expect(run.stdout).toMatch(/ {2}✓ exec_command \d+ ms .*echo-tool-output/);
    expect(run.stdout).toContain("The command said:");
    expect(run.stdout).toContain(`✓ run ${runId} succeeded\n`);
    expect(run.stdout).not.toContain("\u001b[");
    expect((await api.ok("GET", `/api/runs/${runId}`)).status).toBe("succeeded");

    // A fan-out job: its child runs (one per Node) are listed, then its output (a section per Node).
    await api.ok("POST", "/api/jobs", {
      name: "cli-fleet",
      prompt: "SCENARIO:echo on every Node",
      model: { provider: "LM Studio", model: "qwen2.5-7b-instruct" },
      nodes: ["web-1"],
      fanOut: { mode: "each" },
    });
    const fleet = await runCli(["run", "cli-fleet", "--follow"], env);
    expect(fleet.code).toBe(0);
    expect(fleet.stdout).toMatch(
      /\n {2}✓ web-1 succeeded \(run \S+\)\n## web-1\nThe command said:[\s\S]*\n✓ run \S+ succeeded\n$/,
    );
    await api.ok("DELETE", "/api/jobs/cli-fleet");

    const runs = await runCli(["runs", "--job", "cli-echo"], env);
    expect(runs.stdout).toMatch(new RegExp(`${runId}\\s+cli-echo\\s+succeeded\\s+manual\\s+\\d{4}-`));
    const runsJson = JSON.parse((await runCli(["runs", "--job", "cli-echo", "--json"], env)).stdout);
    expect(runsJson.map((r: { id: string }) => r.id)).toContain(runId);
  });

  it("run --follow exits 1 when the run failed, printing why", async () => {
    const run = await runCli(["run", "cli-fail", "--follow", "--input", '{"why":"test"}'], env);
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(/✗ run \S+ failed: .+/);
    const json = await runCli(["run", "cli-fail", "--follow", "--json"], env);
    expect(json.code).toBe(1);
    const events = json.stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(events.at(-1)).toEqual({ event: "done", data: { status: "failed" } });
  });

  it("a run waiting for approval is shown, and approve / deny from another terminal decide it", async () => {
    const follow = startCli(["run", "cli-gated", "--follow"], env);
    await waitFor("the approval prompt", () => follow.stdout.includes("⏸ waiting for approval:"), 20_000);
    const runId = /^run (\S+) of/.exec(follow.stdout)![1]!;
    expect(follow.stdout).toContain(`fabricore approve ${runId}`);
    const approve = await runCli(["approve", runId], env);
    expect(approve.code).toBe(0);
    expect(approve.stdout).toContain(`approved the pending call of run ${runId}`);
    const done = await follow.done;
    expect(done.code).toBe(0);
    expect(done.stdout).toMatch(/✓ exec_command \d+ ms .*gated-tool-output/);

    const denied = startCli(["run", "cli-gated", "--follow"], env);
    await waitFor("the second approval prompt", () => denied.stdout.includes("⏸ waiting for approval:"), 20_000);
    const deniedId = /^run (\S+) of/.exec(denied.stdout)![1]!;
    const deny = await runCli(["deny", deniedId, "--reason", "not during the freeze"], env);
    expect(deny.code).toBe(0);
    const end = await denied.done;
    expect(end.stdout).toMatch(/✗ exec_command .*not during the freeze/);
    // Ctrl-C stops following, not the run, and says how to stop the run.
    const interrupted = startCli(["run", "cli-gated", "--follow"], env);
    await waitFor(
      "the approval prompt to interrupt",
      () => interrupted.stdout.includes("⏸ waiting for approval:"),
      20_000,
    );
    const interruptedId = /^run (\S+) of/.exec(interrupted.stdout)![1]!;
    interrupted.kill("SIGINT");
    const left = await interrupted.done;
    expect(left.code).toBe(130);
    expect(left.stderr).toBe(
      `\nstopped following; run ${interruptedId} goes on (fabricore cancel ${interruptedId} stops it)\n`,
    );
    expect((await api.ok("GET", `/api/runs/${interruptedId}`)).status).toBe("waiting_approval");
    await api.ok("POST", `/api/runs/${interruptedId}/cancel`);

    // Cancelled while it waits: the follower ends with exit status 1.
    const cancelled = startCli(["run", "cli-gated", "--follow"], env);
    await waitFor("the third approval prompt", () => cancelled.stdout.includes("⏸ waiting for approval:"), 20_000);
    const cancelledId = /^run (\S+) of/.exec(cancelled.stdout)![1]!;
    const cancel = await runCli(["cancel", cancelledId], env);
    expect(cancel.code).toBe(0);
    const stopped = await cancelled.done;
    expect(stopped.code).toBe(1);
    expect(stopped.stdout).toContain(`✗ run ${cancelledId} cancelled`);
    // Approving what no longer waits is the API's error, printed.
    const late = await runCli(["approve", deniedId], env);
    expect(late.code).toBe(1);
    expect(late.stderr).toMatch(/^error: .+/);
  });

  it("takes a webhook secret from the environment (secretEnv), so it need not be in the file", async () => {
    const file = join(tempDir("cli-hook"), "hook.yaml");
    writeFileSync(
      file,
      "name: cli-hook\nprompt: SCENARIO:none\nmodel: {provider: LM Studio, model: qwen2.5-7b-instruct}\n" +
        "nodes: [web-1]\nwebhook: {slug: cli-hook, secretEnv: HOOK_SECRET}\n",
    );
    const secret = "secret-from-the-environment";
    const unset = await runCli(["jobs", "apply", "-f", file], env);
    expect(unset.code).toBe(1);
    expect(unset.stderr).toBe(`error: ${file}: webhook.secretEnv: HOOK_SECRET is not set\n`);
    const created = await runCli(["jobs", "apply", "-f", file], { ...env, HOOK_SECRET: secret });
    expect(created.stdout).toContain("created   cli-hook\n");
    const again = await runCli(["jobs", "apply", "-f", file], { ...env, HOOK_SECRET: secret });
    expect(again.stdout).toContain("unchanged cli-hook\n");
    // The Core has that secret: a delivery signed with it starts a run, an unsigned one is refused.
    const body = JSON.stringify({ ref: "main" });
    const signature = `sha256=${createHmac("sha256", secret).update(body).digest("hex")}`;
    const deliver = (headers: Record<string, string>) =>
      fetch(`${core.url}/api/webhook/cli-hook`, {
        method: "POST",
        headers: { "content-type": "application/json", ...headers },
        body,
      });
    expect((await deliver({ "x-hub-signature-256": signature })).status).toBe(202);
    expect((await deliver({})).status).toBe(401);
    const exported = await runCli(["jobs", "export", "cli-hook"], env);
    expect(exported.stdout).toMatch(
      /^# webhook secret: set on the Core, not exported\n[\s\S]*webhook:\n {2}slug: cli-hook\n$/,
    );
    await api.ok("DELETE", "/api/jobs/cli-hook");
  });

  it("prints the API's error message, and exits 2 for wrong usage", async () => {
    const missing = await runCli(["run", "no-such-job"], env);
    expect(missing).toMatchObject({ code: 1, stdout: "", stderr: "error: job no-such-job not found\n" });

    const badToken = await runCli(["jobs"], { ...env, FABRICORE_TOKEN: "fct_wrong" });
    expect(badToken.code).toBe(1);
    const expected = (await new ApiClient(core.url).request("GET", "/api/jobs", undefined, {
      authorization: "Bearer fct_wrong",
    })) as { body: { error: { message: string } } };
    expect(badToken.stderr).toBe(`error: ${expected.body.error.message}\n`);

    const invalid = join(tempDir("cli-invalid"), "bad.yaml");
    writeFileSync(invalid, GATED_YAML.replace("cli-gated", "cli-ghost").replace("[web-1]", "[ghost-node]"));
    const refused = await runCli(["jobs", "apply", "-f", invalid], env);
    expect(refused.code).toBe(1);
    expect(refused.stdout).toContain("failed    cli-ghost: nodes: no node ghost-node");

    const typo = join(tempDir("cli-typo"), "typo.yaml");
    writeFileSync(typo, GATED_YAML.replace("prompt:", "promt:"));
    const notApplied = await runCli(["jobs", "apply", "-f", typo], env);
    expect(notApplied.code).toBe(1);
    expect(notApplied.stderr).toContain(`error: ${typo}: prompt: Invalid input`);
    expect(notApplied.stderr).toContain("unknown field promt");

    const usage = await runCli(["run"], env);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toMatch(/^error: run: missing an argument/);
    const unreachable = await runCli(["nodes"], { ...env, FABRICORE_URL: "http://127.0.0.1:9" });
    expect(unreachable.code).toBe(1);
    expect(unreachable.stderr).toMatch(/^error: cannot reach the Core at http:\/\/127\.0\.0\.1:9/);
  });

  it("colours only on a terminal, and completes commands in bash", async () => {
    // `script` gives the command a pseudo-terminal, as a person's shell would.
    const onTty = await output("script", ["-qec", `${ensureCliBinary()} nodes`, "/dev/null"], env);
    expect(onTty).toContain("\u001b[32monline\u001b[39m");
    const noColor = await output("script", ["-qec", `${ensureCliBinary()} nodes`, "/dev/null"], {
      ...env,
      NO_COLOR: "1",
    });
    expect(noColor).toContain("online");
    expect(noColor).not.toContain("\u001b[");

    const completions = await output(
      "bash",
      [
        "-c",
        `source <(${ensureCliBinary()} completion bash)
         COMP_WORDS=(fabricore jobs ap); COMP_CWORD=2; _fabricore; echo "1:\${COMPREPLY[*]}"
         COMP_WORDS=(fabricore run job --fo); COMP_CWORD=3; _fabricore; echo "2:\${COMPREPLY[*]}"
         COMP_WORDS=(fabricore ru); COMP_CWORD=1; _fabricore; echo "3:\${COMPREPLY[*]}"`,
      ],
      env,
    );
    expect(completions).toBe("1:apply\n2:--follow\n3:run runs\n");
  });

  // .ci/run installs zsh; elsewhere a machine without it skips this one (under CI=true it fails).
  it.skipIf(!existsSync("/usr/bin/zsh") && !existsSync("/bin/zsh") && process.env.CI !== "true")(
    "completes commands in zsh",
    async () => {
      // compadd is a builtin of completion widgets only; a function of that name prints what the
      // script offers (zsh itself then filters by the typed prefix).
      const offered = await output(
        "zsh",
        [
          "-f",
          "-c",
          `compdef() { :; }; source <(${ensureCliBinary()} completion zsh); compadd() { print -r -- "$*"; }; _files() { print FILES; }
         words=(fabricore jobs ap); CURRENT=3; _fabricore
         words=(fabricore jobs apply -f x); CURRENT=5; _fabricore
         words=(fabricore deny r1 --re); CURRENT=4; _fabricore`,
        ],
        env,
      );
      expect(offered).toBe("apply export\nFILES\n-- --reason --url --token --json --color --no-color -h --help\n");
    },
  );
});

describe("fabricore across a Core restart", () => {
  // Last: it restarts the Core every test above shares.
  it("run --follow reconnects to the restarted Core and exits with the run's final status", async () => {
    const follow = startCli(["run", "cli-gated", "--follow"], env);
    await waitFor("the approval prompt", () => follow.stdout.includes("⏸ waiting for approval:"), 20_000);
    const runId = /^run (\S+) of/.exec(follow.stdout)![1]!;
    // Killed, not stopped: a stopping Core cancels its runs and ends the stream itself; a crash
    // leaves the follower with a broken stream and nobody to answer until the new Core is up.
    await core.proc.stop("SIGKILL");
    core = await startCore({ dataDir: core.dataDir, port: core.port });
    const done = await follow.done;
    // Crash recovery fails a run that was waiting on the stopped Core; the follower learns it
    // from the new Core's stream and exits as the run ended.
    const run = await api.ok("GET", `/api/runs/${runId}`);
    expect(run.status).toBe("failed");
    expect(done.code).toBe(1);
    expect(done.stderr).toBe("");
    expect(done.stdout).toContain(`✗ run ${runId} failed: ${run.error}\n`);
  }, 90_000);
});

/** Everything a program prints (stdout and stderr), run with only these variables. */
function output(command: string, args: string[], env: Record<string, string>): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "/tmp", TERM: "xterm", ...env },
    });
    let out = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr.on("data", (d: Buffer) => (out += d.toString()));
    child.once("error", reject);
    child.once("close", () => resolve(out));
  });
}
