/** Public surface of the Node package, for the Core's tests, e2e and bench. */
export { fullJitterDelay } from "./comms/backoff.ts";
export type {
  ConnectionManagerOptions,
  ConnectionState,
  HelloIdentity,
} from "./comms/connection-manager.ts";
export { ConnectionManager, NodeCloseCode } from "./comms/connection-manager.ts";
export { connectUrl, connectWebSocket, UpgradeRejectedError, WsClientTransport } from "./comms/ws-client-transport.ts";
export type { CommandLine } from "./env.ts";
export { loadNodeSettings, NodeSettings, SettingsError } from "./env.ts";
export { HELP_TEXT } from "./help-text.ts";
export type { Logger, LogLevel } from "./logger.ts";
export { createLogger, silentLogger } from "./logger.ts";
export type { McpFactory, RunningNode } from "./main.ts";
export { NODE_VERSION, startNode } from "./main.ts";
export { BuiltinTools } from "./tools/builtin-tools.ts";
export { ToolDispatcher } from "./tools/dispatcher.ts";
export { textResult } from "./tools/result.ts";
export type { ToolHost } from "./tools/tool-host.ts";
export type { McpFactoryOptions, McpProvider, ToolCallContext, ToolProvider } from "./tools/tool-provider.ts";
