import { LlmError } from "./errors.ts";
import type { ProviderSlots } from "./provider-slots.ts";
import type { ChatOptions, ChatRequest, ChatResponse, LlmClient, ModelInfo, ModelStatus } from "./types.ts";

/**
 * A client whose chat requests take one of the server's slots (`ProviderSlots`, shared by the
 * process) and wait for one when all are taken, telling the run it is queued. Model lists and
 * loads do not take a slot: they are not predictions.
 */
export class ConcurrencyLimitedClient implements LlmClient {
  private readonly inner: LlmClient;
  private readonly slots: ProviderSlots;
  private readonly key: string;
  private readonly limit: () => number;

  constructor(inner: LlmClient, options: { slots: ProviderSlots; key: string; limit: () => number }) {
    this.inner = inner;
    this.slots = options.slots;
    this.key = options.key;
    this.limit = options.limit;
  }

  listModels(opts?: { signal?: AbortSignal }): Promise<ModelInfo[]> {
    return this.inner.listModels(opts);
  }

  prepare(model: string, opts: { signal: AbortSignal; onStatus?: (status: ModelStatus) => void }) {
    return this.inner.prepare ? this.inner.prepare(model, opts) : Promise.resolve(undefined);
  }

  async chat(request: ChatRequest, opts: ChatOptions): Promise<ChatResponse> {
    let release: () => void;
    try {
      release = await this.slots.acquire(this.key, this.limit(), opts.signal, (queued) =>
        opts.onStatus?.({ state: "queued", ...queued }),
      );
    } catch (err) {
      if (opts.signal.aborted) throw new LlmError("cancelled", "the request was cancelled while waiting for the model");
      throw err;
    }
    try {
      return await this.inner.chat(request, opts);
    } finally {
      release();
    }
  }
}
