/** One Server-Sent Event as the run stream sends it (`event:` and one JSON `data:` line). */
export interface SseEvent {
  event: string;
  data: unknown;
}

/**
 * Reads a run's Server-Sent Events with a bearer token until `until` holds for one of them (or
 * the stream ends, or `timeoutMs` passes: then the fetch aborts and this throws), and stops
 * reading. Returns every event read, the matching one last.
 */
export async function readEvents(
  url: string,
  token: string,
  until: (event: string, data: unknown) => boolean,
  timeoutMs = 5_000,
): Promise<SseEvent[]> {
  const res = await fetch(url, {
    headers: { authorization: `Bearer ${token}` },
    signal: AbortSignal.timeout(timeoutMs),
  });
  if (!res.ok || !res.body) throw new Error(`event stream answered ${res.status}`);
  const reader = res.body.getReader();
  const decoder = new TextDecoder();
  const events: SseEvent[] = [];
  let text = "";
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return events;
      text += decoder.decode(value, { stream: true });
      let end = text.indexOf("\n\n");
      while (end >= 0) {
        const block = text.slice(0, end);
        text = text.slice(end + 2);
        end = text.indexOf("\n\n");
        const event = /^event: (.*)$/m.exec(block)?.[1];
        const data = /^data: (.*)$/m.exec(block)?.[1];
        if (!event || data === undefined) continue;
        const parsed: unknown = JSON.parse(data);
        events.push({ event, data: parsed });
        if (until(event, parsed)) return events;
      }
    }
  } finally {
    await reader.cancel().catch(() => {});
  }
}
