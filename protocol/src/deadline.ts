/**
 * How long a tool call may still run, counted from `now`, when progress extends its deadline
 * (`ToolCallParams.maxDeadlineMs`): `deadlineMs` from the latest progress, never past
 * `maxDeadlineMs` from the start. Without a maximum, the deadline is fixed from the start. The
 * Node's dispatcher and the Core's wait on the Node both use it, so they agree on the same instant
 * (the Core adds its grace for the round trip).
 */
export function remainingDeadlineMs(
  call: { deadlineMs: number; maxDeadlineMs?: number | undefined },
  startedAt: number,
  lastProgressAt: number | undefined,
  now: number,
): number {
  const fixedEnd = startedAt + call.deadlineMs;
  if (call.maxDeadlineMs === undefined || lastProgressAt === undefined) return Math.max(0, fixedEnd - now);
  const ceiling = startedAt + Math.max(call.maxDeadlineMs, call.deadlineMs);
  const end = Math.min(ceiling, Math.max(fixedEnd, lastProgressAt + call.deadlineMs));
  return Math.max(0, end - now);
}
