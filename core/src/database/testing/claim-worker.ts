/**
 * A separate OS process claiming runs, for the multi-process claimNext test: argv[2] is the
 * openDatabase target as JSON, argv[3] the owner. Claims until the queue is empty, then prints the
 * claimed ids as one JSON line. Started with plain `node` (type stripping), not through vitest.
 */
import { openDatabase } from "../connection.ts";
import { RunsRepo } from "../repos/runs-repo.ts";

const target = JSON.parse(process.argv[2] ?? "{}") as { url?: string; dataDir: string };
const owner = process.argv[3] ?? `worker-${process.pid}`;
const opened = openDatabase(target);
const runs = new RunsRepo(opened.db);
const claimed: string[] = [];
// Wait for the parent's "go" line so every worker starts claiming at about the same moment.
await new Promise<void>((resolve) => process.stdin.once("data", () => resolve()));
for (;;) {
  const run = await runs.claimNext(owner);
  if (!run) break;
  claimed.push(run.id);
}
process.stdout.write(`${JSON.stringify(claimed)}\n`);
await opened.close();
