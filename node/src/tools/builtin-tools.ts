import {
  type BuiltinToolName,
  builtinToolDescriptors,
  ProtocolError,
  type ToolDescriptor,
  type ToolResult,
} from "@fabricore/protocol";
import { execCommandTool } from "./exec-command.ts";
import { readFileTool } from "./read-file.ts";
import { CpuSampler, systemStatsTool } from "./system-stats.ts";
import type { ToolCallContext, ToolProvider } from "./tool-provider.ts";

export interface BuiltinToolsOptions {
  /** Absolute directories `read_file` may read below; empty: `read_file` refuses. */
  readRoots: readonly string[];
  /** Never readable whatever the roots say: the Node's data dir. */
  readDenied?: readonly string[] | undefined;
  /** Without it `exec_command` is neither listed nor runs. */
  allowExec: boolean;
  /** exec_command through /bin/sh (--allow-shell); otherwise argv without a shell. */
  allowShell?: boolean | undefined;
  /** exec_command runs only commands matching one of these (anchored by env.ts); empty or unset: any. */
  execAllow?: readonly RegExp[] | undefined;
}

/** What the model is told when there is no shell, so it writes one plain command instead of a pipeline. */
const EXEC_ARGV_DESCRIPTION =
  "Run one program with its arguments on this server (no shell: no pipes, ;, &&, redirections, $VARS, " +
  "globs or $( ); quote arguments with spaces) and return its exit code, stdout and stderr.";

/** The Node's own tools (CONTRACT "Built-in Node tools"), source `builtin`. Their set is fixed at start. */
export class BuiltinTools implements ToolProvider {
  private readonly options: BuiltinToolsOptions;
  private readonly descriptors: ToolDescriptor[];
  // One sampler for the process: a second call reports usage since the first instead of sleeping.
  private readonly cpu = new CpuSampler();

  constructor(options: BuiltinToolsOptions) {
    this.options = options;
    const offered: BuiltinToolName[] = ["read_file", "system_stats"];
    if (options.allowExec) offered.splice(1, 0, "exec_command");
    this.descriptors = offered.map((name) => ({
      ...builtinToolDescriptors[name],
      ...(name === "exec_command" && !options.allowShell && { description: EXEC_ARGV_DESCRIPTION }),
      source: "builtin",
    }));
  }

  list(): ToolDescriptor[] {
    return this.descriptors;
  }

  async call(name: string, args: Record<string, unknown>, ctx: ToolCallContext): Promise<ToolResult> {
    switch (name) {
      case "read_file":
        return readFileTool(args, this.options.readRoots, { denied: this.options.readDenied });
      case "exec_command":
        // Refuses by itself when exec is off: the Core might call it from a stale tool list.
        return execCommandTool(args, {
          allowExec: this.options.allowExec,
          shell: this.options.allowShell,
          allow: this.options.execAllow,
          signal: ctx.signal,
          onOutput: ctx.onOutput,
        });
      case "system_stats":
        return systemStatsTool(args, this.cpu);
      default:
        throw new ProtocolError("tool_not_found", `this Node has no built-in tool named ${name}`);
    }
  }

  onChange(): () => void {
    return () => {};
  }
}
