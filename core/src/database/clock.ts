/** Repositories take their clock so tests can pin time (expiry, lockouts, stale runs). */
export type Clock = () => Date;

export const systemClock: Clock = () => new Date();

export function isoNow(clock: Clock): string {
  return clock().toISOString();
}
