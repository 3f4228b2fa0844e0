import { z } from "zod";
import { McpNetwork } from "./egress.ts";
import { lazySchema } from "./lazy-schema.ts";

export const McpServerName = lazySchema(() =>
  z.string().regex(/^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,47}$/, "letters, digits, _ . - (max 48)"),
);

export const McpMount = lazySchema(() =>
  z.object({
    source: z.string().min(1).max(4096),
    target: z.string().min(1).max(4096),
    readOnly: z.boolean().default(true),
  }),
);
export type McpMount = z.infer<typeof McpMount>;

/** What the Core wants running on a Node. Secret values are already resolved into `env` here: they
 * are decrypted on the Core only at the moment they are sent to the Node that needs them. */
export const ManagedMcpSpec = lazySchema(() =>
  z.object({
    kind: z.literal("managed"),
    name: McpServerName,
    image: z.string().min(1).max(512),
    args: z.array(z.string().max(4096)).max(64).default([]),
    env: z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/), z.string().max(65536)).default({}),
    mounts: z.array(McpMount).max(32).default([]),
    network: McpNetwork.default("none"),
    limits: z
      .object({
        memoryBytes: z.number().int().positive().optional(),
        nanoCpus: z.number().int().positive().optional(),
        pids: z.number().int().positive().optional(),
      })
      .default({}),
    user: z.string().max(64).optional(),
  }),
);
export const RemoteMcpSpec = lazySchema(() =>
  z.object({
    kind: z.literal("remote"),
    name: McpServerName,
    url: z.url(),
  }),
);
export const McpServerSpec = lazySchema(() => z.discriminatedUnion("kind", [ManagedMcpSpec, RemoteMcpSpec]));
export type ManagedMcpSpec = z.infer<typeof ManagedMcpSpec>;
export type RemoteMcpSpec = z.infer<typeof RemoteMcpSpec>;
export type McpServerSpec = z.infer<typeof McpServerSpec>;

export const McpServerState = lazySchema(() => z.enum(["starting", "running", "restarting", "failed", "stopped"]));
export const McpServerStatus = lazySchema(() =>
  z.object({
    name: McpServerName,
    state: McpServerState,
    error: z.string().optional(),
    toolCount: z.number().int().nonnegative().default(0),
    containerId: z.string().optional(),
    restarts: z.number().int().nonnegative().default(0),
    /** The last time the server stopped on its own (a crash, an OOM kill) and why; kept after the
     * restart, so a server that is running again still shows what happened to it. */
    lastCrash: z.object({ at: z.string().max(64), reason: z.string().max(4096) }).optional(),
    /** Connections its egress proxy let through and refused (servers with `network: {allow}`). */
    egress: z
      .object({
        allowed: z.number().int().nonnegative(),
        refused: z.number().int().nonnegative(),
        lastRefused: z
          .object({ at: z.string().max(64), target: z.string().max(512), reason: z.string().max(1024) })
          .optional(),
      })
      .optional(),
    /** Tools the server offers that are not offered to the model, and why (a tool that needs MCP
     * task-based execution, which this Node does not speak). */
    skippedTools: z
      .array(z.object({ name: z.string().max(256), reason: z.string().max(512) }))
      .max(64)
      .optional(),
  }),
);
export type McpServerStatus = z.infer<typeof McpServerStatus>;
