import type { Redis } from "ioredis";

export type MessageHandler = (message: string) => void;

/**
 * One subscribed connection per replica, shared by the event bus, node presence and replica RPC
 * (a subscribed ioredis connection can do nothing else, and each connection costs Redis a client).
 */
export class RedisSubscriber {
  private readonly redis: Redis;
  private readonly handlers = new Map<string, MessageHandler>();

  constructor(redis: Redis) {
    this.redis = redis;
    redis.on("message", (channel: string, message: string) => {
      const handler = this.handlers.get(channel);
      if (!handler) return;
      try {
        handler(message);
      } catch {
        // A handler that throws must not take the connection's other channels with it.
      }
    });
  }

  /** Resolves once Redis confirmed the subscription: messages published after that arrive. */
  async subscribe(channel: string, handler: MessageHandler): Promise<void> {
    this.handlers.set(channel, handler);
    await this.redis.subscribe(channel);
  }

  async close(): Promise<void> {
    this.handlers.clear();
    this.redis.disconnect();
  }
}
