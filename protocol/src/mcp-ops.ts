import { z } from "zod";
import { lazySchema } from "./lazy-schema.ts";
import { McpServerName, McpServerStatus } from "./mcp.ts";

/*
 * Operating one MCP server on a Node (issue 22.5): retry or restart it, read its recent output, and
 * what the Node allows before anything is installed. The Core asks; the Node answers under its own
 * policy, which has the last word (a restarted server passes the same mount and image checks).
 */

/** `fabricore/mcp/restart`: stop the server and start it again (a failed one is retried afresh). */
export const McpRestartParams = lazySchema(() => z.object({ name: McpServerName }));
export type McpRestartParams = z.infer<typeof McpRestartParams>;
export const McpRestartResult = lazySchema(() => z.object({ server: McpServerStatus }));
export type McpRestartResult = z.infer<typeof McpRestartResult>;

/** At most this many lines of a server's output per request. */
export const MCP_LOG_LINES_MAX = 1000;
/** At most this many bytes (UTF-16 units of the lines' text) per answer; older lines are dropped first. */
export const MCP_LOG_BYTES_MAX = 256 * 1024;
/** One line longer than this is cut (a server dumping a blob on stderr). */
export const MCP_LOG_LINE_MAX = 8192;

/** `fabricore/mcp/logs`: the last `tail` lines a server wrote. */
export const McpLogsParams = lazySchema(() =>
  z.object({
    name: McpServerName,
    tail: z.number().int().min(1).max(MCP_LOG_LINES_MAX).default(200),
  }),
);
export type McpLogsParams = z.infer<typeof McpLogsParams>;

export const McpLogLine = lazySchema(() =>
  z.object({
    /** When the line was written (Docker's timestamp, or when the Node read it). */
    at: z.string().max(64).optional(),
    /** `node`: the Node's own line about the server (a start, a failure and its reason). */
    stream: z.enum(["stdout", "stderr", "node"]),
    text: z.string().max(MCP_LOG_LINE_MAX),
  }),
);
export type McpLogLine = z.infer<typeof McpLogLine>;

export const McpLogsResult = lazySchema(() =>
  z.object({
    name: McpServerName,
    /** `container`: Docker's log of the server's current container (all of its output since it was
     * created, adopted ones included); `node`: what the Node kept itself (the stderr of its recent
     * attempts, with its own lines; a failed start's container is gone, a pass-through server has none). */
    source: z.enum(["container", "node"]),
    containerId: z.string().max(128).optional(),
    lines: z.array(McpLogLine).max(MCP_LOG_LINES_MAX),
    /** Lines were left out to stay within the bounds (or the Node's ring had dropped them). */
    truncated: z.boolean(),
  }),
);
export type McpLogsResult = z.infer<typeof McpLogsResult>;

/**
 * What this Node lets managed MCP servers do, from its flags (announced in its hello, so the Core's
 * install dialog can say it before anything is sent). Absent from older Nodes.
 */
export const NodeMcpPolicy = lazySchema(() =>
  z.object({
    /** --mount-root: bind mounts only below these; empty: no mounts at all. */
    mountRoots: z.array(z.string().max(4096)).max(64),
    /** --mount-rw-root: writable mounts only below these. */
    mountRwRoots: z.array(z.string().max(4096)).max(64),
    /** --allow-image rules; empty: any image. */
    allowImages: z.array(z.string().max(512)).max(256),
    /** --allow-open-network: `network: "open"` allowed. */
    allowOpenNetwork: z.boolean(),
    /** --allow-egress bounds on allow lists; empty: any host name. */
    allowEgress: z.array(z.string().max(512)).max(256),
    /** --allow-root-containers. */
    allowRoot: z.boolean(),
  }),
);
export type NodeMcpPolicy = z.infer<typeof NodeMcpPolicy>;
