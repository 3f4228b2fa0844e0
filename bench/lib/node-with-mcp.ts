/** The Node executable's idle RSS with one MCP server running (bench/node-binary): the MCP manager and
 * the MCP SDK are loaded with the first server (node/src/mcp/lazy-mcp.ts), so this is what a Node pays
 * once it runs one, next to the idle Node without any. */
import { type ChildProcess, spawn } from "node:child_process";
import { chmodSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ensureTestImages } from "../../e2e/images/test-images.ts";
import { tempDir } from "./fleet-setup.ts";
import { sleep, until } from "./proc.ts";

type Api = <T>(method: string, path: string, body?: unknown) => Promise<T>;

const DOCKER = process.env.DOCKER_HOST ?? "/var/run/docker.sock";

/**
 * Starts `binary` as a new Node, gives it the filesystem preset (one read-only mount) through the API,
 * waits for its tools, idles `idleMs` and returns its RSS split; the server is deleted afterwards.
 */
export async function idleWithMcpServer(options: {
  binary: string;
  coreUrl: string;
  api: Api;
  idleMs: number;
  online: (nodeId: string) => boolean;
  rss: (pid: number) => { rss: number; file: number; anon: number };
}): Promise<{ rss: number; file: number; anon: number }> {
  await ensureTestImages();
  const { api } = options;
  const mountRoot = tempDir("node-binary-mounts");
  chmodSync(mountRoot, 0o755);
  const shared = join(mountRoot, "shared");
  mkdirSync(shared, { mode: 0o755 });
  writeFileSync(join(shared, "marker.txt"), "bench\n", { mode: 0o644 });
  const created = await api<{ id: string; token: string }>("POST", "/api/nodes", { name: "bench-binary-mcp" });
  const args = ["--core", options.coreUrl, "--data-dir", tempDir("node-binary-mcp-data"), "--log-level", "error"];
  const node: ChildProcess = spawn(
    options.binary,
    [...args, "--docker-socket", DOCKER, "--mount-root", mountRoot, "--token", created.token],
    { stdio: "ignore" },
  );
  try {
    await until("the Node with MCP online", () => options.online(created.id), 30_000);
    await api("POST", `/api/nodes/${created.id}/mcp`, {
      name: "files",
      preset: "filesystem",
      mounts: [{ source: shared, target: "/data", readOnly: true }],
    });
    await until(
      "the MCP server's tools offered",
      async () =>
        (await api<{ tools: Array<{ source: string }> }>("GET", `/api/nodes/${created.id}`)).tools.some(
          (tool) => tool.source === "mcp:files",
        ),
      60_000,
    );
    await sleep(options.idleMs);
    const measured = options.rss(node.pid!);
    // Its container goes with the server; the Node is stopped after.
    await api("DELETE", `/api/nodes/${created.id}/mcp/files`);
    return measured;
  } finally {
    const exited = new Promise((resolve) => node.once("exit", resolve));
    if (node.exitCode === null && node.signalCode === null) node.kill("SIGTERM");
    await Promise.race([exited, sleep(3_000).then(() => node.kill("SIGKILL"))]);
  }
}
