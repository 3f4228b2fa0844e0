export interface BackoffOptions {
  /** First ceiling; doubles on every failed attempt. */
  baseMs?: number;
  /** The ceiling never grows past this. */
  capMs?: number;
}

/**
 * "Full jitter" (AWS architecture blog, Exponential Backoff and Jitter): a uniformly random delay
 * between 0 and min(cap, base * 2^attempt). After a Core restart ten thousand Nodes spread out over
 * the window instead of arriving in waves at the same instants.
 */
export function fullJitterDelay(
  attempt: number,
  options: BackoffOptions = {},
  random: () => number = Math.random,
): number {
  const base = options.baseMs ?? 500;
  const cap = options.capMs ?? 30_000;
  // 2^attempt overflows to Infinity long after it passed the cap; Math.min handles that.
  const ceiling = Math.min(cap, base * 2 ** Math.min(attempt, 62));
  return Math.floor(random() * ceiling);
}
