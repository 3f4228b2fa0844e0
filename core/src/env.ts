import { resolve } from "node:path";
import { z } from "zod";

const port = z.coerce.number().int().min(0).max(65535);
const positiveInt = z.coerce.number().int().positive();

/** Every Core setting, from the environment (CONTRACT "Core settings"). Parsed once at start;
 * a bad value stops the Core with every problem listed, not the first one only. */
export const CoreEnv = z.object({
  FABRICORE_HOST: z.string().min(1).default("127.0.0.1"),
  FABRICORE_PORT: port.default(8080),
  FABRICORE_DATA_DIR: z.string().min(1).default("./data"),
  FABRICORE_DATABASE_URL: z
    .string()
    .regex(/^(postgres(ql)?:\/\/|sqlite:)/, "must be postgres://… (or sqlite:<path>)")
    .optional(),
  FABRICORE_REDIS_URL: z
    .string()
    .regex(/^rediss?:\/\//, "must be redis://…")
    .optional(),
  /** Cluster mode: every Redis key and channel of this cluster starts with this (several clusters,
   * or test runs, can share one Redis). */
  FABRICORE_REDIS_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9_.-]{1,64}$/, "letters, digits, _ . - (at most 64)")
    .default("fabricore"),
  /** Cluster mode: a replica silent in Redis this long is dead; its Nodes' entries expire and a
   * survivor fails the runs it was executing. It refreshes its entries every third of this. */
  FABRICORE_REPLICA_TTL_SECONDS: positiveInt.default(15),
  FABRICORE_MASTER_KEY: z.string().optional(),
  FABRICORE_ADMIN_PASSWORD: z.string().min(8, "at least 8 characters").optional(),
  FABRICORE_LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
  /** Runs executed at once by this Core. */
  FABRICORE_RUN_CONCURRENCY: positiveInt.default(8),
  /** Finished runs older than this many days are deleted (with their steps) hourly; 0: kept forever. */
  FABRICORE_RUN_RETENTION_DAYS: z.coerce.number().int().min(0).max(36_500).default(0),
  /** Seconds between a Node's heartbeats; a Node silent for three of them is offline. */
  FABRICORE_HEARTBEAT_SECONDS: positiveInt.default(10),
  /** /metrics: how many Node names get a series of their own; later ones are counted as `_other`
   * (docs/METRICS.md "Label cardinality"). */
  FABRICORE_METRICS_NODE_LABELS: positiveInt.max(100_000).default(100),
  /** Default deadline of one tool call, in seconds. */
  FABRICORE_TOOL_TIMEOUT_SECONDS: positiveInt.default(120),
  /** The most a tool call may run while it keeps reporting progress (an MCP tool's
   * `notifications/progress` restarts FABRICORE_TOOL_TIMEOUT_SECONDS, up to this from its start). */
  FABRICORE_TOOL_MAX_TIMEOUT_SECONDS: positiveInt.max(86_400).default(3600),
  /** Tool calls one API token may make through /mcp per minute. */
  FABRICORE_MCP_CALLS_PER_MINUTE: positiveInt.default(120),
  /** /mcp lists every Node tool up to this many; above it only the constant fleet tools
   * (fabricore_list_nodes, fabricore_call_tool), which reach every one. */
  FABRICORE_MCP_MAX_TOOLS: positiveInt.default(200),
  /** Where the built Node executables are (`fabricore-node-linux-x64`, `fabricore-node-linux-arm64`,
   * as `make build-node` writes them), served at GET /api/nodes/binary/:platform and by /install.sh;
   * unset: the repository's dist/. */
  FABRICORE_NODE_BINARY_DIR: z.string().min(1).optional(),
  /** The version of the Node executables in FABRICORE_NODE_BINARY_DIR when they are not built from
   * this repository's node/package.json (a release directory); what Nodes are told to update to. */
  FABRICORE_NODE_VERSION: z
    .string()
    .regex(/^[0-9A-Za-z][0-9A-Za-z.+-]{0,63}$/, "must be a version like 1.4.0")
    .optional(),
  /** The Ed25519 key Node builds are signed with for self-update (PEM, 0600); unset:
   * DATA_DIR/node-release-key.pem, created at the first start. One shared file for a cluster. */
  FABRICORE_NODE_RELEASE_KEY: z.string().min(1).optional(),
  /** With no staged rollout active: `auto` (default) offers the served Node version to every
   * --auto-update Node when it connects; `staged` to none, so Nodes update only through
   * POST /api/nodes/update (docs/NODE-LIFECYCLE.md "Staged rollout"). */
  FABRICORE_NODE_UPDATE_POLICY: z.enum(["auto", "staged"]).default("auto"),
  /** Where the built UI is; unset: core/ui/dist beside this package. */
  FABRICORE_UI_DIR: z.string().optional(),
  /** Which proxies' X-Forwarded-For is believed for the client IP (login limit, audit): `loopback`
   * (a proxy on this host), `false` (none), `true` (any: only behind a proxy that sets it), or a
   * comma-separated list of addresses/CIDRs. */
  FABRICORE_TRUST_PROXY: z.string().min(1).default("loopback"),
  /** Failed logins per client IP per minute before that IP gets 429. */
  FABRICORE_LOGIN_FAILURES_PER_MINUTE: positiveInt.default(10),
  /** Deliveries per webhook per minute before 429. */
  FABRICORE_WEBHOOK_RATE_PER_MINUTE: positiveInt.default(60),
  /** Webhook requests for unknown slugs per client address per minute; past it, every webhook
   * request from that address gets 429 until the minute ends (slug probing, issue 21.10). */
  FABRICORE_WEBHOOK_UNKNOWN_PER_MINUTE: positiveInt.default(30),
  /** Largest tool list one Node may announce, in bytes of JSON (issue 21.7). */
  FABRICORE_NODE_TOOLS_MAX_BYTES: positiveInt.default(4 * 1024 * 1024),
  /** Event streams (GET /api/runs/:id/events) one user may hold open at once on one Core. */
  FABRICORE_SSE_STREAMS_PER_USER: positiveInt.default(20),
  /** Largest webhook body, in bytes (default 25 MiB, GitHub's own cap on a payload). */
  FABRICORE_WEBHOOK_MAX_BYTES: positiveInt.default(25 * 1024 * 1024),
  /** Where people reach this Core (links in notifications, e.g. https://fabricore.example.com);
   * unset: http(s)://HOST:PORT. */
  FABRICORE_PUBLIC_URL: z
    .string()
    .regex(/^https?:\/\/[^/]+/, "must be http(s)://…")
    .optional(),
  /** Attempts per notification before it is given up as failed (connection errors, timeouts, 5xx). */
  FABRICORE_DELIVERY_MAX_ATTEMPTS: positiveInt.max(50).default(8),
  /** The first retry of a notification waits about this long; each next one twice as long. */
  FABRICORE_DELIVERY_RETRY_BASE_MS: positiveInt.default(2000),
  /** Deadline of one notification attempt (HTTP request or SMTP session). */
  FABRICORE_DELIVERY_TIMEOUT_SECONDS: positiveInt.max(300).default(10),
  FABRICORE_TLS_CERT: z.string().optional(),
  FABRICORE_TLS_KEY: z.string().optional(),
});
export type CoreEnv = z.infer<typeof CoreEnv> & { dataDir: string };

export class SettingsError extends Error {
  readonly code = "invalid_settings";
}

export function loadCoreEnv(source: Record<string, string | undefined> = process.env): CoreEnv {
  const parsed = CoreEnv.safeParse(
    Object.fromEntries(Object.entries(source).filter(([k, v]) => k.startsWith("FABRICORE_") && v !== "")),
  );
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join(".")}: ${i.message}`);
    throw new SettingsError(`invalid settings:\n${lines.join("\n")}`);
  }
  if (Boolean(parsed.data.FABRICORE_TLS_CERT) !== Boolean(parsed.data.FABRICORE_TLS_KEY)) {
    throw new SettingsError("invalid settings:\n  FABRICORE_TLS_CERT and FABRICORE_TLS_KEY go together");
  }
  return { ...parsed.data, dataDir: resolve(parsed.data.FABRICORE_DATA_DIR) };
}
