import { type HelloParams, type HelloResult, type nodeToCore, RpcHandlers } from "@fabricore/protocol";
import type { Connection } from "./node-hub-connection.ts";
import { mcpStatusReported } from "./node-hub-mcp.ts";
import type { NodeToolCalls } from "./node-hub-tool-calls.ts";
import type { NodeToolLists } from "./node-hub-tool-lists.ts";
import type { NodeHubOptions } from "./node-hub-types.ts";
import { updateResultReported } from "./node-hub-updates.ts";

/** What the handler table reaches in the hub. */
export interface NodeHubHandlerDeps {
  options: NodeHubOptions;
  toolCalls: NodeToolCalls;
  toolLists: NodeToolLists;
  hello(conn: Connection, hello: HelloParams): Promise<HelloResult>;
  safely(what: string, fn: () => void): void;
}

/** The handlers of every Node connection, registered once; each finds its connection in `context`.
 * Anything but hello and tool output is ignored until the connection has said hello. */
export function nodeHubHandlers(deps: NodeHubHandlerDeps): RpcHandlers<typeof nodeToCore, Connection> {
  const { options, toolCalls, toolLists, safely } = deps;
  return new RpcHandlers<typeof nodeToCore, Connection>()
    .onRequest("fabricore/hello", (hello, { context: conn }) => deps.hello(conn, hello))
    .onNotification("fabricore/heartbeat", (params, conn) => {
      if (!conn.online) return;
      if (params.stats) conn.stats = { ...conn.stats, ...params.stats };
      safely("onHeartbeat", () => options.onHeartbeat?.(conn.nodeId, params));
    })
    .onNotification("notifications/tools/list_changed", ({ tools }, conn) => {
      if (!conn.online) return;
      toolLists.changed(conn, tools);
    })
    .onNotification("fabricore/node/update-result", (result, conn) =>
      updateResultReported(options, safely, conn, result),
    )
    .onNotification("fabricore/tool/output", (params, conn) => toolCalls.output(conn, params))
    .onNotification("fabricore/tool/progress", (params, conn) => toolCalls.progress(conn, params))
    .onNotification("fabricore/mcp/status", ({ servers }, conn) => mcpStatusReported(options, safely, conn, servers));
}
