import { z } from "zod";
import { lazySchema } from "./lazy-schema.ts";

/**
 * The kinds of model server the Core has a client for (core/src/llm). One list for the Core's API
 * schemas, its database rows, its model clients and the UI, so a new kind is added in one place.
 */
export const ProviderKind = lazySchema(() => z.enum(["lmstudio", "openai", "anthropic", "openai-compatible"]));
export type ProviderKind = z.infer<typeof ProviderKind>;
