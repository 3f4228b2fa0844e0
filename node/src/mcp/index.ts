/*
 * The MCP side of the Node, for tests and embedders. The Node's main.ts imports
 * create-mcp-manager.ts directly instead: the transports re-exported here bring the MCP SDK with
 * them, which mcp-manager.ts loads only once a server is asked for.
 */
export { ContainerStdioTransport, RingBuffer } from "./container-transport.ts";
export { type CreateMcpManagerOptions, createMcpManager, dockerSocketPath } from "./create-mcp-manager.ts";
export { McpManager, type McpManagerConfig } from "./mcp-manager.ts";
export { checkRemoteUrl, isLoopbackUrl } from "./remote.ts";
export { DEFAULT_RESTART_POLICY, type RestartPolicy } from "./restart-policy.ts";
