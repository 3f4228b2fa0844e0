import { z } from "zod";
import pkg from "../package.json" with { type: "json" };
import { ApiClient, seg } from "./api-client.ts";
import { Ok, RunView } from "./api-schemas.ts";
import { parseCommandLine } from "./args.ts";
import { applyJobs, summarise } from "./commands/jobs-apply.ts";
import { exportJobs } from "./commands/jobs-export.ts";
import { listJobs, listNodes, listRuns } from "./commands/listings.ts";
import { exitCodeOfRun, followRun, startRun } from "./commands/run.ts";
import { completionScript } from "./completion.ts";
import { normaliseUrl, resolveConnection, writeConfig } from "./config.ts";
import { CliError, exitCodeOf } from "./errors.ts";
import { USAGE } from "./help.ts";
import { loadJobFiles } from "./job-files.ts";
import { makeStyle, shouldColour } from "./style.ts";

export const CLI_VERSION: string = pkg.version;

export interface Io {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  env: Record<string, string | undefined>;
  stdoutIsTTY: boolean;
  stderrIsTTY: boolean;
  /** Ctrl-C: `handler` runs, then the program exits with 130. Returns the undo. */
  onInterrupt?: (handler: () => void) => () => void;
}

const DEFAULT_DENY_REASON = "denied from the fabricore command line";

/** The whole command line: argv (without the program) in, exit status out. Errors are printed
 * here, once, as `error: <the API's message>`. */
export async function runCli(argv: string[], io: Io): Promise<number> {
  let colourErrors = shouldColour(undefined, io.stderrIsTTY, io.env);
  try {
    const { command, flags } = parseCommandLine(argv);
    const style = makeStyle(shouldColour(flags.color, io.stdoutIsTTY, io.env));
    colourErrors = shouldColour(flags.color, io.stderrIsTTY, io.env);
    const json = (value: unknown) => io.stdout(`${JSON.stringify(value, null, 2)}\n`);
    const api = () => new ApiClient(resolveConnection(flags, io.env));

    switch (command.name) {
      case "help":
        io.stdout(USAGE);
        return 0;
      case "version":
        io.stdout(`fabricore ${CLI_VERSION}\n`);
        return 0;
      case "completion":
        io.stdout(completionScript(command.shell));
        return 0;
      case "login": {
        const client = new ApiClient({ url: normaliseUrl(command.url), token: command.token });
        // A token that works: the cheapest call any role may make.
        const me = await client.get("/api/auth/me", z.looseObject({ username: z.string().optional() }));
        const path = writeConfig({ url: client.url, token: command.token }, io.env);
        io.stdout(`logged in to ${client.url}${me.username ? ` as ${me.username}` : ""}; saved in ${path}\n`);
        return 0;
      }
      case "nodes":
      case "jobs":
      case "runs": {
        const client = api();
        const listing =
          command.name === "nodes"
            ? await listNodes(client, style, command.selector)
            : command.name === "jobs"
              ? await listJobs(client)
              : await listRuns(client, style, command);
        if (flags.json) json(listing.json);
        else io.stdout(listing.text);
        return 0;
      }
      case "jobs-apply": {
        const loaded = loadJobFiles(command.files, undefined, io.env);
        const results = await applyJobs(api(), loaded, command);
        const counts = summarise(results);
        if (flags.json) json({ dryRun: command.dryRun, results, summary: counts });
        else {
          const mark = {
            created: style.green,
            updated: style.yellow,
            unchanged: style.dim,
            deleted: style.red,
            failed: style.red,
          };
          for (const r of results) {
            const detail = r.changed ? ` (${r.changed.join(", ")})` : r.error ? `: ${r.error}` : "";
            io.stdout(`${mark[r.action](r.action.padEnd(9))} ${r.name}${detail}\n`);
          }
          const total = Object.entries(counts)
            .filter(([action, n]) => n > 0 || action !== "failed")
            .map(([action, n]) => `${n} ${action}`)
            .join(", ");
          io.stdout(`${total}${command.dryRun ? " (dry run: nothing was changed)" : ""}\n`);
          if (command.prune && counts.failed > 0) io.stderr("not pruned: a job failed to apply\n");
        }
        return counts.failed > 0 ? 1 : 0;
      }
      case "jobs-export": {
        const exported = await exportJobs(api(), command.job);
        // --json: the same documents as a JSON array (jq-friendly); apply reads YAML, and JSON is YAML.
        if (flags.json) json(exported.jobs);
        else io.stdout(exported.yaml);
        return 0;
      }
      case "run": {
        const client = api();
        const runId = await startRun(client, command.job, command.input);
        if (!command.follow) {
          if (flags.json) json({ runId });
          else io.stdout(`${runId}\n`);
          return 0;
        }
        if (!flags.json) io.stdout(style.dim(`run ${runId} of ${command.job}\n`));
        // Ctrl-C stops following, not the run: say so, and how to stop the run itself.
        const undo = io.onInterrupt?.(() =>
          io.stderr(`\nstopped following; run ${runId} goes on (fabricore cancel ${runId} stops it)\n`),
        );
        const status = await followRun(
          client,
          runId,
          style,
          io.stdout,
          flags.json ? (event) => io.stdout(`${JSON.stringify(event)}\n`) : undefined,
        ).finally(() => undo?.());
        return exitCodeOfRun(status);
      }
      case "cancel": {
        const run = await api().send("POST", `/api/runs/${seg(command.run)}/cancel`, undefined, RunView);
        if (flags.json) json(run);
        else io.stdout(`run ${run.id} is ${run.status}\n`);
        return 0;
      }
      case "approve":
      case "deny": {
        const client = api();
        const body = command.name === "deny" ? { reason: command.reason ?? DEFAULT_DENY_REASON } : {};
        const answer = await client.send("POST", `/api/runs/${seg(command.run)}/${command.name}`, body, Ok);
        if (flags.json) json(answer);
        else {
          const run = RunView.safeParse(answer);
          const status = run.success ? `; the run is ${run.data.status}` : "";
          io.stdout(
            `${command.name === "approve" ? "approved" : "denied"} the pending call of run ${command.run}${status}\n`,
          );
        }
        return 0;
      }
    }
  } catch (error) {
    if (error instanceof CliError) {
      const label = colourErrors ? "\u001b[31merror:\u001b[39m" : "error:";
      io.stderr(`${label} ${error.message}\n`);
      return exitCodeOf(error);
    }
    throw error;
  }
}
