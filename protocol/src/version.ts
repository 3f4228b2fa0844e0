/** Bumped on any incompatible change to the messages in this package. The Core refuses a Node
 * that speaks another major version at hello, with a clear error, instead of misreading it. */
export const PROTOCOL_VERSION = 1;

/** Largest WebSocket frame either side accepts. Tool results are capped well below this on the
 * Node (read_file, exec output), so only a broken or hostile peer ever reaches it. */
export const MAX_FRAME_BYTES = 4 * 1024 * 1024;

/** Path of the Node's WebSocket on the Core. */
export const NODE_CONNECT_PATH = "/api/nodes/connect";
