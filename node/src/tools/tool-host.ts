import type { ToolCallParams, ToolDescriptor, ToolProgressParams, ToolResult } from "@fabricore/protocol";

/**
 * What the connection manager needs from the tool side (the `ToolDispatcher` fits). Named apart
 * from the Core's `ToolRouter` (core/src/agent), which routes an agent's calls to Nodes: this one
 * hosts the tools a Node runs.
 */
export interface ToolHost {
  list(): ToolDescriptor[];
  onChange(listener: () => void): () => void;
  /** `signal` cancels the call; `detach` only stops waiting for it (see ToolDispatcher.call). */
  call(
    params: ToolCallParams,
    signal?: AbortSignal,
    detach?: AbortSignal,
    onOutput?: (stream: "stdout" | "stderr", text: string) => void,
    /** The call's progress, already coalesced to a few a second. */
    onProgress?: (progress: Omit<ToolProgressParams, "callId">) => void,
  ): Promise<ToolResult>;
  /** Aborts every running call. */
  cancelAll?(reason: string): void;
}
