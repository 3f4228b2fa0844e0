import { z } from "zod";
import { lazySchema } from "./lazy-schema.ts";
import { TOOL_SOURCE_PATTERN } from "./tool-ref.ts";

/** JSON Schema of a tool's input, as MCP and OpenAI-style function calling both carry it. */
export const JsonSchemaObject = lazySchema(() => z.object({ type: z.literal("object") }).loose());
export type JsonSchemaObject = z.infer<typeof JsonSchemaObject>;

/** Where a tool comes from on its Node: `builtin`, or `mcp:<server name>`. */
export const ToolSource = lazySchema(() => z.string().regex(TOOL_SOURCE_PATTERN));

export const ToolDescriptor = lazySchema(() =>
  z.object({
    name: z.string().min(1).max(128),
    description: z.string().max(8192).default(""),
    inputSchema: JsonSchemaObject,
    source: ToolSource,
  }),
);
export type ToolDescriptor = z.infer<typeof ToolDescriptor>;

/** MCP's content blocks; FabriCore produces text and passes the others through untouched. */
export const ContentBlock = lazySchema(() =>
  z.union([
    z.object({ type: z.literal("text"), text: z.string() }).loose(),
    z.object({ type: z.literal("image"), data: z.string(), mimeType: z.string() }).loose(),
    z.object({ type: z.string() }).loose(),
  ]),
);
export type ContentBlock = z.infer<typeof ContentBlock>;

/** A tool's result, shaped like MCP's CallToolResult so MCP results cross the socket unchanged. */
export const ToolResult = lazySchema(() =>
  z.object({
    content: z.array(ContentBlock),
    structuredContent: z.record(z.string(), z.unknown()).optional(),
    isError: z.boolean().default(false),
    durationMs: z.number().nonnegative(),
  }),
);
export type ToolResult = z.infer<typeof ToolResult>;

// ---- Built-in tools -------------------------------------------------------------------------

export const BUILTIN_TOOLS = ["read_file", "exec_command", "system_stats"] as const;
export type BuiltinToolName = (typeof BUILTIN_TOOLS)[number];

export const ReadFileArgs = lazySchema(() =>
  z.strictObject({
    path: z.string().min(1).max(4096).describe("Absolute path of the file to read"),
    maxBytes: z
      .number()
      .int()
      .positive()
      .max(16 * 1024 * 1024)
      .optional()
      .describe("Read at most this many bytes"),
  }),
);
export type ReadFileArgs = z.infer<typeof ReadFileArgs>;

export const ExecCommandArgs = lazySchema(() =>
  z.strictObject({
    command: z.string().min(1).max(65536).describe("Shell command line, run with /bin/sh -c"),
    timeoutMs: z.number().int().positive().max(3_600_000).optional().describe("Kill the command after this long"),
    cwd: z.string().min(1).max(4096).optional().describe("Working directory"),
  }),
);
export type ExecCommandArgs = z.infer<typeof ExecCommandArgs>;

export const ExecCommandResult = lazySchema(() =>
  z.object({
    exitCode: z.number().int().nullable(),
    signal: z.string().nullable().optional(),
    stdout: z.string(),
    stderr: z.string(),
    truncated: z.boolean().optional(),
    timedOut: z.boolean().optional(),
  }),
);
export type ExecCommandResult = z.infer<typeof ExecCommandResult>;

export const SystemStatsArgs = lazySchema(() => z.strictObject({}));

export const DiskStats = lazySchema(() =>
  z.object({
    mount: z.string(),
    device: z.string(),
    fsType: z.string(),
    sizeBytes: z.number(),
    usedBytes: z.number(),
    availableBytes: z.number(),
    usedPercent: z.number(),
  }),
);
export const SystemStats = lazySchema(() =>
  z.object({
    hostname: z.string(),
    os: z.string(),
    arch: z.string(),
    uptimeSeconds: z.number(),
    loadAverage: z.tuple([z.number(), z.number(), z.number()]),
    cpu: z.object({ count: z.number().int(), model: z.string(), usagePercent: z.number().optional() }),
    memory: z.object({
      totalBytes: z.number(),
      freeBytes: z.number(),
      availableBytes: z.number(),
      usedBytes: z.number(),
    }),
    disks: z.array(DiskStats),
  }),
);
export type SystemStats = z.infer<typeof SystemStats>;

/** The input schemas offered to models, as JSON Schema (derived from the zod schemas above). */
export const builtinToolDescriptors: Record<BuiltinToolName, Omit<ToolDescriptor, "source">> = {
  read_file: {
    name: "read_file",
    description: "Read a text file on this server. Only paths below the Node's read roots are allowed.",
    inputSchema: z.toJSONSchema(ReadFileArgs) as JsonSchemaObject,
  },
  exec_command: {
    name: "exec_command",
    description: "Run a shell command on this server and return its exit code, stdout and stderr.",
    inputSchema: z.toJSONSchema(ExecCommandArgs) as JsonSchemaObject,
  },
  system_stats: {
    name: "system_stats",
    description: "Hostname, uptime, load, CPU, memory, and every disk's mount, size, used and available space.",
    inputSchema: z.toJSONSchema(SystemStatsArgs) as JsonSchemaObject,
  },
};
