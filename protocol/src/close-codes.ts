/** WebSocket close codes between Core and Node, both directions, one value one meaning.
 * 4000-4999 are private-use codes (RFC 6455 7.4.2). */
export const NodeCloseCode = {
  normal: 1000,
  /** The Core is shutting down. */
  shuttingDown: 1001,
  /** Too many frames that were not valid JSON-RPC. */
  invalidFrames: 1007,
  /** A frame over MAX_FRAME_BYTES (`ws` closes with it itself). */
  tooLarge: 1009,
  /** The Core heard nothing from the Node for several heartbeat intervals. */
  heartbeatTimeout: 4000,
  /** The Node's token or key was revoked or replaced: its work is no longer wanted. */
  revoked: 4001,
  /** A newer connection of the same Node took over. */
  replaced: 4002,
  versionMismatch: 4003,
  /** The Node connected but sent no hello in time. */
  helloTimeout: 4004,
  /** The Node heard nothing from the Core for several heartbeat intervals (it used 4000 before,
   * which the Core uses for the opposite case). */
  coreSilent: 4005,
} as const;
export type NodeCloseCode = (typeof NodeCloseCode)[keyof typeof NodeCloseCode];
