import { Cron } from "croner";
import cronstrue from "cronstrue";

export class CronError extends Error {
  readonly code = "invalid_cron";
}

export interface CronSpec {
  cron: string;
  timezone?: string | undefined;
}

/**
 * A paused croner instance for `spec`, validated, and SHARED: callers use it to compute fire times
 * only and must never stop() it. Shared because croner 11 allocates a 10,000-entry array for the
 * year field of every pattern (~80 KB): one instance per scheduled job made 1,000 jobs cost 76 MiB
 * of heap (found with a heap snapshot of the soak benchmark). Bounded: at most CACHE_SIZE patterns
 * are kept; an evicted one is compiled again when next needed (tens of microseconds).
 */
export function parseCron(spec: CronSpec): Cron {
  const key = `${spec.timezone ?? "UTC"}\u0000${spec.cron}`;
  const cached = patterns.get(key);
  if (cached) {
    // Most recently used last, so the first key is the one to evict.
    patterns.delete(key);
    patterns.set(key, cached);
    return cached;
  }
  const fields = spec.cron.trim().split(/\s+/);
  if (fields.length !== 5 && fields.length !== 6) {
    throw new CronError(
      `cron "${spec.cron}" has ${fields.length} fields; use 5 (min hour dom mon dow) or 6 (sec min …)`,
    );
  }
  if (spec.timezone !== undefined && !isValidTimezone(spec.timezone)) {
    throw new CronError(`unknown timezone "${spec.timezone}"`);
  }
  let cron: Cron;
  try {
    cron = new Cron(spec.cron, { timezone: spec.timezone ?? "UTC", paused: true });
  } catch (error) {
    throw new CronError(`invalid cron "${spec.cron}": ${error instanceof Error ? error.message : String(error)}`);
  }
  if (patterns.size >= CACHE_SIZE) patterns.delete(patterns.keys().next().value as string);
  patterns.set(key, cron);
  return cron;
}

const CACHE_SIZE = 128;
const patterns = new Map<string, Cron>();

/** The next `count` fire times strictly after `from`. */
export function nextFireTimes(spec: CronSpec, count: number, from: Date = new Date()): Date[] {
  return parseCron(spec).nextRuns(count, from);
}

/** The next fire time strictly after `from`, or null when the schedule never fires again. */
export function nextFireTime(spec: CronSpec, from: Date): Date | null {
  return parseCron(spec).nextRun(from);
}

export function describeCron(spec: CronSpec): string {
  parseCron(spec); // validates
  const text = cronstrue.toString(spec.cron, { use24HourTimeFormat: true, verbose: false });
  return spec.timezone ? `${text} (${spec.timezone})` : `${text} (UTC)`;
}

/** Zones already found valid: building an Intl.DateTimeFormat costs about a millisecond, and every
 * schedule of a fleet names the same few zones. */
const validTimezones = new Set<string>();

function isValidTimezone(timezone: string): boolean {
  if (validTimezones.has(timezone)) return true;
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: timezone });
    if (validTimezones.size < 1000) validTimezones.add(timezone);
    return true;
  } catch {
    return false;
  }
}
