import type { ApiClient } from "../api-client.ts";
import { seg } from "../api-client.ts";
import { RunStarted, RunView } from "../api-schemas.ts";
import { CliError } from "../errors.ts";
import { readSse } from "../sse.ts";
import type { Style } from "../style.ts";
import { Transcript } from "../transcript.ts";

const FINAL = new Set(["succeeded", "failed", "cancelled", "skipped"]);
const RECONNECTS = 10;

export async function startRun(api: ApiClient, job: string, input: unknown): Promise<string> {
  const body = input === undefined ? {} : { input };
  return (await api.send("POST", `/api/jobs/${seg(job)}/run`, body, RunStarted)).runId;
}

/** Exit status of a finished run: 0 only when it succeeded. */
export function exitCodeOfRun(status: string): number {
  return status === "succeeded" ? 0 : 1;
}

/**
 * Follows a run's event stream until it ends and returns its final status. A dropped stream is
 * picked up again where it stopped (Last-Event-ID: the stored steps are not shown twice); after
 * too many drops the run's state is read instead. `onEvent` set (`--json`): each event goes
 * there as it came, instead of the transcript.
 */
export async function followRun(
  api: ApiClient,
  runId: string,
  style: Style,
  write: (text: string) => void,
  onEvent?: (event: { event: string; data: unknown; id?: string }) => void,
): Promise<string> {
  const transcript = new Transcript(runId, style, write);
  let lastId: string | undefined;
  for (let attempt = 0; attempt <= RECONNECTS; attempt++) {
    let res: Response;
    try {
      res = await api.open(`/api/runs/${seg(runId)}/events`, {
        accept: "text/event-stream",
        ...(lastId ? { "last-event-id": lastId } : {}),
      });
    } catch (error) {
      if (error instanceof CliError && error.code === "network" && attempt < RECONNECTS) {
        await sleep(Math.min(500 * 2 ** attempt, 5000));
        continue;
      }
      throw error;
    }
    if (!res.body) throw new CliError("api", "the Core sent no event stream");
    try {
      for await (const event of readSse(res.body)) {
        if (event.id) lastId = event.id;
        if (onEvent) {
          let data: unknown = event.data;
          try {
            data = JSON.parse(event.data);
          } catch {}
          onEvent({ event: event.event, data, ...(event.id ? { id: event.id } : {}) });
          if (event.event === "done" && data && typeof data === "object" && "status" in data)
            return String((data as { status: unknown }).status);
        } else {
          // A fan-out run's children are runs of their own: each one's outcome is printed when the
          // parent's stream says a child moved, and any not printed yet before the end.
          if (event.event === "children") transcript.children(await childrenOf(api, runId), true);
          if (event.event === "done") transcript.children(await childrenOf(api, runId));
          transcript.handle(event);
          if (transcript.finalStatus) return transcript.finalStatus;
        }
      }
    } catch {
      // The connection broke mid-stream: reconnect below.
    }
    // A finished run's stream replays what is missing and ends with `done`, so reconnecting is
    // right whether the run ended meanwhile or not.
    await sleep(Math.min(500 * 2 ** attempt, 5000));
  }
  const run = await api.get(`/api/runs/${seg(runId)}`, RunView);
  if (!FINAL.has(run.status))
    throw new CliError("network", `lost the event stream of run ${runId} ${RECONNECTS} times; it is ${run.status}`);
  return run.status;
}

async function childrenOf(api: ApiClient, runId: string) {
  const run = await api.get(`/api/runs/${seg(runId)}`, RunView);
  return run.children ?? [];
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
