import { useRef } from "react";
import { fieldErrors, fieldLabel } from "../../api/client.ts";
import type { FormState } from "./form-model.ts";

/** The form fields each API path is about; a path not listed is the Results section's. */
const FORM_KEYS: Array<[prefix: string, keys: Array<keyof FormState>]> = [
  ["name", ["name"]],
  ["prompt", ["prompt"]],
  ["webhook.slug", ["slug"]],
  ["webhook.secret", ["secret"]],
  ["webhook", ["webhookPublic", "secret", "webhookOn"]],
  ["schedule", ["cron", "timezone", "scheduled"]],
  ["model", ["model"]],
  ["fallbacks", ["fallbacks"]],
  ["nodes", ["nodes"]],
  ["fanOut", ["fanOut", "nodes", "selector"]],
  ["selector", ["selector"]],
  ["maxSteps", ["maxSteps"]],
  ["tools", ["tools"]],
];

/** The Core's errors the job form shows at a field (the rest go in the alert under the form). */
export const AT_FIELD = ["name", "prompt", "webhook.slug", "webhook.secret", "webhook", "model", "nodes", "maxSteps"];

function keysFor(path: string): Array<keyof FormState> {
  for (const [prefix, keys] of FORM_KEYS) if (path === prefix || path.startsWith(`${prefix}.`)) return keys;
  return ["results"];
}

/**
 * The Core's per-field answer to the last save, each error kept only while the fields it is
 * about still hold what was sent (issue 22.6: cleared when fixed, whichever control changed them).
 */
export function useSaveErrors(saveError: unknown, form: FormState) {
  const sent = useRef<{ error: unknown; form: FormState } | null>(null);
  if (sent.current?.error !== saveError) sent.current = { error: saveError, form };
  const snapshot = sent.current?.form ?? form;
  const open: Record<string, string> = {};
  for (const [path, message] of Object.entries(fieldErrors(saveError))) {
    if (keysFor(path).every((key) => form[key] === snapshot[key])) open[path] = message;
  }
  const atField = (path: string) => AT_FIELD.some((p) => path === p || (p !== "webhook" && path.startsWith(`${p}.`)));
  const elsewhere = Object.entries(open)
    .filter(([path]) => !atField(path))
    .map(([path, message]) => `${fieldLabel(path)}: ${message}`);
  return { errors: open, elsewhere, hasFieldErrors: Object.keys(fieldErrors(saveError)).length > 0 };
}
