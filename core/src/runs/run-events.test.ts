import { describe, expect, it } from "vitest";
import { LocalRunEventBus, type RunEvent } from "./run-events.ts";

describe("LocalRunEventBus.waiting", () => {
  const model: RunEvent = { type: "model", provider: "lms", model: "qwen", attempt: 1 };
  const loading: RunEvent = {
    type: "model_status",
    provider: "lms",
    model: "qwen",
    status: { state: "loading", how: "load_endpoint" },
  };
  const queued: RunEvent = {
    type: "model_status",
    provider: "lms",
    model: "qwen",
    status: { state: "queued", ahead: 2, limit: 1 },
  };

  it("keeps the model request and its latest status until the run does something else", () => {
    const bus = new LocalRunEventBus();
    bus.publish("r1", model);
    bus.publish("r1", loading);
    bus.publish("r1", queued);
    bus.publish("r1", { type: "status", status: "running" });
    expect(bus.waiting("r1")).toEqual([model, queued]);
    expect(bus.waiting("r2")).toEqual([]);
    bus.publish("r1", { type: "delta", text: "Hel" });
    expect(bus.waiting("r1")).toEqual([]);
  });

  it("a new model request starts the wait over; done forgets the run", () => {
    const bus = new LocalRunEventBus();
    bus.publish("r1", model);
    bus.publish("r1", queued);
    const fallback: RunEvent = { ...model, model: "gpt-4o-mini", attempt: 2 } as RunEvent;
    bus.publish("r1", fallback);
    expect(bus.waiting("r1")).toEqual([fallback]);
    bus.publish("r1", { type: "done", status: "failed" });
    expect(bus.waiting("r1")).toEqual([]);
  });
});
