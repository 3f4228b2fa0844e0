/** One Server-Sent Event (the WHATWG event-stream format the Core's /api/runs/:id/events sends). */
export interface SseEvent {
  event: string;
  data: string;
  id?: string;
}

/** The events of a byte stream, as they arrive. `id` is set on the events that carry one (the
 * Core ids its stored steps by seq); the caller keeps the last for Last-Event-ID. Comment lines (`: keep-alive`) are skipped; a
 * field split across chunks is joined; CRLF, CR and LF all end a line. */
export async function* readSse(body: ReadableStream<Uint8Array>): AsyncGenerator<SseEvent> {
  const decoder = new TextDecoder();
  let buffer = "";
  let event = "";
  let data: string[] = [];
  let id: string | undefined;
  const reader = body.getReader();
  try {
    while (true) {
      const { value, done } = await reader.read();
      buffer += done ? decoder.decode() : decoder.decode(value, { stream: true });
      let match = /\r\n|\r|\n/.exec(buffer);
      // A lone CR at the end of the buffer may be the first half of a CRLF: wait for more.
      while (match && !(match[0] === "\r" && match.index === buffer.length - 1 && !done)) {
        const line = buffer.slice(0, match.index);
        buffer = buffer.slice(match.index + match[0].length);
        if (line === "") {
          if (data.length)
            yield { event: event || "message", data: data.join("\n"), ...(id !== undefined ? { id } : {}) };
          event = "";
          data = [];
          id = undefined;
        } else if (!line.startsWith(":")) {
          const colon = line.indexOf(":");
          const field = colon === -1 ? line : line.slice(0, colon);
          let value = colon === -1 ? "" : line.slice(colon + 1);
          if (value.startsWith(" ")) value = value.slice(1);
          if (field === "event") event = value;
          else if (field === "data") data.push(value);
          else if (field === "id") id = value;
        }
        match = /\r\n|\r|\n/.exec(buffer);
      }
      if (done) return;
    }
  } finally {
    reader.releaseLock();
  }
}
