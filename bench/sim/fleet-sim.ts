/**
 * A simulated fleet in one process: one real `ConnectionManager` + `ToolDispatcher` (node/src) per
 * simulated Node, each on its own WebSocket to the Core, so hello, heartbeats, backoff with full
 * jitter, tools/call and callId de-duplication are the production code paths. Only the tools are
 * simulated (SimTools). Driven over IPC by bench/ and e2e/reliability.test.ts:
 *   {type: "start", coreUrl, credentials, rampMs?} → {started}
 *   {type: "status"}                            → {connected, total, executions, duplicates, ...}
 *   {type: "stop"}                              → {}
 */

import { createPrivateKey, sign } from "node:crypto";
import {
  ConnectionManager,
  connectUrl,
  connectWebSocket,
  silentLogger,
  ToolDispatcher,
  UpgradeRejectedError,
} from "@fabricore/node";
import {
  ChallengeResponse,
  NODE_AUTH_HEADERS,
  NODE_CHALLENGE_PATH,
  NODE_CONNECT_PATH,
  nodeAuthMessage,
} from "@fabricore/protocol";
import type { SimCredential } from "../lib/fleet-setup.ts";
import { serveIpc, sleep } from "../lib/proc.ts";
import { SimTools } from "./sim-tools.ts";

const managers: ConnectionManager[] = [];
/** What the connection managers complained about, counted (a silent logger would hide why dials fail). */
const problems = new Map<string, number>();
const countingLogger = {
  ...silentLogger,
  warn: (fields: Record<string, unknown>, message?: string) => count(fields, message),
  error: (fields: Record<string, unknown>, message?: string) => count(fields, message),
};
function count(fields: Record<string, unknown>, message?: string): void {
  const detail = fields.err ?? fields.status ?? fields.code ?? "";
  const key = `${message ?? ""} ${String(detail).slice(0, 100)}`.trim();
  problems.set(key, (problems.get(key) ?? 0) + 1);
}
let connects = 0;
let disconnects = 0;

/** One dial as the real Node does it (node/src/identity): a fresh challenge from the Core, signed with
 * this Node's key, presented in the upgrade headers. A bearer credential is for a bare NodeHub. */
function dialer(coreUrl: string, url: string, credential: SimCredential) {
  if ("token" in credential) {
    return (signal: AbortSignal) =>
      connectWebSocket({ url, token: credential.token, signal, userAgent: "fabricore-sim" });
  }
  const key = createPrivateKey(credential.key);
  const origin = new URL(coreUrl).origin;
  const challengeUrl = new URL(NODE_CHALLENGE_PATH, coreUrl).toString();
  return async (signal: AbortSignal) => {
    const res = await fetch(challengeUrl, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: "{}",
      signal: AbortSignal.any([signal, AbortSignal.timeout(10_000)]),
    });
    if (!res.ok) throw new UpgradeRejectedError(res.status);
    const { nonce } = ChallengeResponse.parse(await res.json());
    const signature = sign(null, Buffer.from(nodeAuthMessage(credential.nodeId, nonce, origin), "utf8"), key);
    return connectWebSocket({
      url,
      headers: {
        [NODE_AUTH_HEADERS.nodeId]: credential.nodeId,
        [NODE_AUTH_HEADERS.nonce]: nonce,
        [NODE_AUTH_HEADERS.signature]: signature.toString("base64url"),
      },
      signal,
      userAgent: "fabricore-sim",
    });
  };
}

serveIpc({
  async start(message: { coreUrl: string; credentials: SimCredential[]; rampMs?: number; prefix?: string }) {
    const url = connectUrl(message.coreUrl, NODE_CONNECT_PATH);
    const rampMs = message.rampMs ?? 0;
    const started = Date.now();
    for (const [i, credential] of message.credentials.entries()) {
      const hostname = `${message.prefix ?? "sim"}-${i}`;
      const manager = new ConnectionManager({
        connect: dialer(message.coreUrl, url, credential),
        identity: {
          nodeVersion: "0.1.0-sim",
          hostname,
          os: "linux",
          arch: process.arch,
          capabilities: { exec: false, docker: false, readRoots: [] },
        },
        tools: new ToolDispatcher({ providers: [new SimTools(hostname)] }),
        logger: countingLogger,
        onConnected: () => {
          connects += 1;
        },
        onDisconnected: () => {
          disconnects += 1;
        },
      });
      managers.push(manager);
      manager.start();
      // Spread the first dials over rampMs (a fleet does not boot in the same millisecond).
      if (rampMs > 0) {
        const due = started + (rampMs * (i + 1)) / message.credentials.length;
        if (due - Date.now() > 5) await sleep(due - Date.now());
      }
    }
    return { started: managers.length };
  },
  status() {
    let connected = 0;
    for (const m of managers) if (m.state === "connected") connected += 1;
    return {
      total: managers.length,
      connected,
      connects,
      disconnects,
      executions: SimTools.total,
      duplicates: SimTools.duplicates,
      rss: process.memoryUsage().rss,
      problems: Object.fromEntries(problems),
    };
  },
  async stop() {
    await Promise.all(managers.map((m) => m.stop().catch(() => {})));
    return {};
  },
});
process.send?.({ type: "ready" });
