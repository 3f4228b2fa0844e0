/**
 * A network namespace with loopback only, for the installer tests: `127.0.0.1:<port>` inside it is
 * forwarded over a Unix socket (support/forward.ts) to a server in the root namespace, so the URL
 * a test installs from is the Core's own and no address outside the test's own namespaces is used.
 */
import { execFileSync, spawn, spawnSync } from "node:child_process";
import { rmSync } from "node:fs";
import type { Server } from "node:net";
import { join } from "node:path";
import { type Forward, forward } from "./forward.ts";
import { Proc, ROOT, tempDir, waitFor } from "./harness.ts";

export interface LoopbackNetns {
  name: string;
  close(): Promise<void>;
}

/** Makes namespace `name`; each `{port, to}` listens on 127.0.0.1:port inside it and reaches `to` outside. */
export async function loopbackNetns(
  name: string,
  targets: Array<{ port: number; to: { host: string; port: number } }>,
): Promise<LoopbackNetns> {
  execFileSync("ip", ["netns", "add", name]);
  execFileSync("ip", ["-n", name, "link", "set", "lo", "up"]);
  const sockets = tempDir("netns-sock");
  const servers: Server[] = [];
  const inner: Forward[] = [];
  for (const [i, target] of targets.entries()) {
    const path = join(sockets, `${i}.sock`);
    servers.push(await forward({ listen: { path }, to: target.to }));
    inner.push({ listen: { host: "127.0.0.1", port: target.port }, to: { path } });
  }
  const forwarder = new Proc(
    spawn(
      "ip",
      ["netns", "exec", name, process.execPath, join(ROOT, "e2e/support/forward.ts"), JSON.stringify(inner)],
      {
        stdio: ["ignore", "pipe", "pipe"],
      },
    ),
  );
  const close = async () => {
    await forwarder.stop();
    for (const s of servers) await new Promise<void>((r) => s.close(() => r()));
    spawnSync("ip", ["netns", "del", name]);
    rmSync(sockets, { recursive: true, force: true });
  };
  await waitFor("the forwarder in the namespace", () => forwarder.output.includes("ready") || forwarder.exited);
  if (forwarder.exited) {
    await close();
    throw new Error(`the forwarder exited:\n${forwarder.output}`);
  }
  return { name, close };
}
