/**
 * The real MCP Inspector CLI (`@modelcontextprotocol/inspector`, a devDependency of e2e) run the
 * way its docs show: `npx @modelcontextprotocol/inspector --cli <url> --transport http --header …
 * --method …`. `npx --no --` never downloads: the installed package or a failure.
 */
import { execFile } from "node:child_process";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { ROOT, tempDir } from "./harness.ts";

export interface InspectorRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** Its writable state (catalog, client config, OAuth store) in a temp home, never the user's. */
const home = tempDir("inspector-home");
mkdirSync(join(home, ".mcp-inspector"), { recursive: true });

export function runInspector(args: string[], timeoutMs = 60_000): Promise<InspectorRun> {
  return new Promise((resolve) => {
    execFile(
      "npx",
      ["--no", "--", "@modelcontextprotocol/inspector", "--cli", ...args],
      {
        cwd: ROOT,
        timeout: timeoutMs,
        maxBuffer: 16 * 1024 * 1024,
        env: {
          ...process.env,
          HOME: home,
          NO_COLOR: "1",
        },
      },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === "number" ? error.code : 1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

/** `tools/list` and `tools/call` arguments for a bearer-authenticated Streamable HTTP URL. */
export function httpTarget(url: string, token: string): string[] {
  return [url, "--transport", "http", "--header", `Authorization: Bearer ${token}`];
}
