import type { FetchLike } from "./types.ts";

/**
 * llama.cpp's server reports a failure inside a started stream as an SSE field of its own,
 * `error: {"code":400,"message":"the request exceeds the available context size…"}`, followed by
 * `data: [DONE]`. SSE parsers ignore unknown fields, so the SDK saw a stream that simply ended and
 * the real reason was lost. This fetch wrapper rewrites such a line into the `data: {"error": …}`
 * form the SDK already raises as an APIError; every other byte passes through untouched.
 */
export function surfaceSseErrorLines(inner: FetchLike): FetchLike {
  return async (input, init) => {
    const response = await inner(input, init);
    const type = response.headers.get("content-type") ?? "";
    if (!response.body || !type.includes("text/event-stream")) return response;
    return new Response(response.body.pipeThrough(errorLineRewriter()), {
      status: response.status,
      statusText: response.statusText,
      headers: response.headers,
    });
  };
}

function errorLineRewriter(): TransformStream<Uint8Array, Uint8Array> {
  const decoder = new TextDecoder();
  const encoder = new TextEncoder();
  let pending = "";
  const rewrite = (line: string): string => {
    if (!line.startsWith("error:")) return line;
    const value = line.slice("error:".length).trim();
    let error: unknown;
    try {
      error = JSON.parse(value);
    } catch {
      error = { message: value };
    }
    return `data: ${JSON.stringify({ error })}`;
  };
  return new TransformStream({
    transform(chunk, controller) {
      pending += decoder.decode(chunk, { stream: true });
      const lastBreak = Math.max(pending.lastIndexOf("\n"), pending.lastIndexOf("\r"));
      if (lastBreak < 0) return;
      const complete = pending.slice(0, lastBreak + 1);
      pending = pending.slice(lastBreak + 1);
      // Fast path: most chunks have no error line at all.
      if (!complete.includes("error:")) return controller.enqueue(encoder.encode(complete));
      controller.enqueue(encoder.encode(complete.replace(/^[^\r\n]*/gm, rewrite)));
    },
    flush(controller) {
      pending += decoder.decode();
      if (pending) controller.enqueue(encoder.encode(rewrite(pending)));
    },
  });
}
