/** The tools a simulated Node offers: the built-in descriptors a real Node announces (so the Core holds
 * the same tool registry per Node as in production) plus `noop`; every call answers at once. Calls are
 * counted per callId so a benchmark or test can prove none ran twice. */
import type { ToolCallContext, ToolProvider } from "@fabricore/node";
import { builtinToolDescriptors, type ToolDescriptor, type ToolResult } from "@fabricore/protocol";

export const NOOP_TOOL: ToolDescriptor = {
  name: "noop",
  description: "Does nothing and answers at once (benchmarks).",
  inputSchema: { type: "object", properties: {} },
  source: "builtin",
};

/** One shared instance per process: the descriptors are the same objects for every simulated Node. */
export const SIM_TOOLS: ToolDescriptor[] = [
  { ...builtinToolDescriptors.read_file, source: "builtin" },
  { ...builtinToolDescriptors.system_stats, source: "builtin" },
  NOOP_TOOL,
];

export class SimTools implements ToolProvider {
  /** callId → times executed, over every simulated Node of the process. */
  static readonly executions = new Map<string, number>();
  static duplicates = 0;
  static total = 0;
  private readonly hostname: string;

  constructor(hostname: string) {
    this.hostname = hostname;
  }

  list(): ToolDescriptor[] {
    return SIM_TOOLS;
  }

  async call(name: string, _args: Record<string, unknown>, ctx: ToolCallContext): Promise<ToolResult> {
    const seen = SimTools.executions.get(ctx.callId) ?? 0;
    if (seen > 0) SimTools.duplicates += 1;
    SimTools.executions.set(ctx.callId, seen + 1);
    SimTools.total += 1;
    // Bounded memory in long soaks: forget the oldest ids beyond 200,000.
    if (SimTools.executions.size > 200_000) {
      const oldest = SimTools.executions.keys().next().value;
      if (oldest !== undefined) SimTools.executions.delete(oldest);
    }
    const text = name === "noop" ? "ok" : JSON.stringify({ hostname: this.hostname, tool: name, simulated: true });
    return { content: [{ type: "text", text }], isError: false, durationMs: 0 };
  }

  onChange(): () => void {
    return () => {};
  }
}
