// "ws-npm" is the npm `ws` package under a second name (node/package.json: "npm:ws@…"). Bun's bundler
// swaps the specifier "ws" for its built-in stand-in, which exposes no socket; the Node's liveness
// check needs the socket's byte counter (ws-client-transport.ts). Same package, same types.
declare module "ws-npm" {
  import WebSocket from "ws";
  export default WebSocket;
  export * from "ws";
}
