export * from "./errors.ts";
export * from "./jsonrpc.ts";
export * from "./mcp.ts";
export * from "./messages.ts";
export * from "./rpc-peer.ts";
export * from "./tools.ts";
export * from "./transport.ts";
export * from "./version.ts";
