import { describe, expect, it } from "vitest";
import { clientForProvider } from "./client-for-provider.ts";
import { createLlmClient } from "./create-llm-client.ts";
import { OpenAiCompatibleClient } from "./openai-compatible-client.ts";
import type { ProviderConfig } from "./types.ts";

interface Stored {
  id: string;
  kind: ProviderConfig["kind"];
  baseUrl: string;
}

describe("clientForProvider", () => {
  it("builds the client from the config the provider opens to", async () => {
    const opened: string[] = [];
    const seen: ProviderConfig[] = [];
    const clientFor = clientForProvider(
      async (provider: Stored) => {
        opened.push(provider.id);
        return { kind: provider.kind, baseUrl: provider.baseUrl, apiKey: "sk-opened", name: provider.id };
      },
      (config) => {
        seen.push(config);
        return createLlmClient(config);
      },
    );
    const client = await clientFor({ id: "p1", kind: "openai-compatible", baseUrl: "http://127.0.0.1:9/v1" });
    expect(opened).toEqual(["p1"]);
    expect(seen).toEqual([
      { kind: "openai-compatible", baseUrl: "http://127.0.0.1:9/v1", apiKey: "sk-opened", name: "p1" },
    ]);
    expect(client).toBeInstanceOf(OpenAiCompatibleClient);
  });

  it("passes an error of opening through and builds nothing", async () => {
    let built = 0;
    const clientFor = clientForProvider(
      async (_provider: Stored) => {
        throw new Error("the API key of provider p2 does not open");
      },
      (config) => {
        built++;
        return createLlmClient(config);
      },
    );
    await expect(clientFor({ id: "p2", kind: "openai", baseUrl: "" })).rejects.toThrow(/p2 does not open/);
    expect(built).toBe(0);
  });

  it("passes an error of building through (an openai-compatible provider without a baseUrl)", async () => {
    const clientFor = clientForProvider(
      async (provider: Stored) => ({ kind: provider.kind, baseUrl: provider.baseUrl }),
      createLlmClient,
    );
    await expect(clientFor({ id: "p3", kind: "openai-compatible", baseUrl: "" })).rejects.toThrow(/needs a baseUrl/);
  });
});
