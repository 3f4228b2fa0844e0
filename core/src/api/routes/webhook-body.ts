import { CoreError } from "../../errors.ts";

/**
 * A webhook body as the run's input. JSON bodies are parsed; `application/x-www-form-urlencoded`
 * bodies with a `payload` field (GitHub's "form" content type) are that field's JSON, other form
 * bodies become an object of their fields; anything else stays text. Empty → null.
 */
export function decodeWebhookBody(raw: Buffer, contentType: string): unknown {
  if (raw.length === 0) return null;
  const text = raw.toString("utf8");
  const type = contentType.split(";")[0]!.trim().toLowerCase();
  if (type === "application/x-www-form-urlencoded") {
    const form = new URLSearchParams(text);
    const payload = form.get("payload");
    if (payload !== null) return parseJson(payload, "the form field `payload` is not valid JSON");
    return Object.fromEntries(form);
  }
  if (type.includes("json")) return parseJson(text, "the body is not valid JSON");
  return text;
}

function parseJson(text: string, message: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new CoreError("bad_request", message);
  }
}
