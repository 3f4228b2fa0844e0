import type { Redis } from "ioredis";
import { z } from "zod";
import { LocalRunEventBus, type RunEvent, type RunEventBus, type RunEventListener } from "../runs/run-events.ts";
import type { ClusterKeys } from "./redis.ts";
import type { RedisSubscriber } from "./redis-subscriber.ts";

const Envelope = z.object({ runId: z.string(), event: z.object({ type: z.string() }).loose() });

/**
 * Live run events across replicas: `publish` goes to Redis, every replica receives every event on
 * one channel and hands it to its own subscribers. A browser connected to replica B sees the steps
 * of a run executing on A.
 *
 * One channel for the whole cluster (not one per run) on purpose: the SSE route subscribes and then
 * reads the stored steps, synchronously; a per-run SUBSCRIBE would be confirmed only later, and a
 * step published in between would be lost. The one channel is subscribed (and confirmed) at start.
 * The price is that every replica receives every event, model text deltas included — fine for a
 * handful of replicas.
 */
export class RedisRunEventBus implements RunEventBus {
  private readonly local = new LocalRunEventBus();
  private readonly publisher: Redis;
  private readonly keys: ClusterKeys;
  private readonly onError: (error: unknown) => void;

  constructor(options: { publisher: Redis; keys: ClusterKeys; onError?: (error: unknown) => void }) {
    this.publisher = options.publisher;
    this.keys = options.keys;
    this.onError = options.onError ?? (() => {});
  }

  async start(subscriber: RedisSubscriber): Promise<void> {
    await subscriber.subscribe(this.keys.runEvents, (message) => {
      let parsed: z.infer<typeof Envelope>;
      try {
        parsed = Envelope.parse(JSON.parse(message));
      } catch (error) {
        this.onError(error);
        return;
      }
      this.local.publish(parsed.runId, parsed.event as RunEvent);
    });
  }

  publish(runId: string, event: RunEvent): void {
    // Delivered locally too through Redis (not directly), so every subscriber sees one order.
    this.publisher.publish(this.keys.runEvents, JSON.stringify({ runId, event })).catch(this.onError);
  }

  subscribe(runId: string, listener: RunEventListener): () => void {
    return this.local.subscribe(runId, listener);
  }

  waiting(runId: string): RunEvent[] {
    return this.local.waiting(runId);
  }

  /** Known on every replica: each one receives every event through the one channel. */
  inFlight(runId: string): RunEvent[] {
    return this.local.inFlight(runId);
  }
}
