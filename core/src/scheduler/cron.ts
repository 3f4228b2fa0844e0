import { Cron } from "croner";
import cronstrue from "cronstrue";

export class CronError extends Error {
  readonly code = "invalid_cron";
}

export interface CronSpec {
  cron: string;
  timezone?: string | undefined;
}

/** Validates a 5-field (minute…) or 6-field (second…) expression and its IANA timezone. */
export function parseCron(spec: CronSpec): Cron {
  const fields = spec.cron.trim().split(/\s+/);
  if (fields.length !== 5 && fields.length !== 6) {
    throw new CronError(
      `cron "${spec.cron}" has ${fields.length} fields; use 5 (min hour dom mon dow) or 6 (sec min …)`,
    );
  }
  if (spec.timezone !== undefined && !isValidTimezone(spec.timezone)) {
    throw new CronError(`unknown timezone "${spec.timezone}"`);
  }
  try {
    return new Cron(spec.cron, { timezone: spec.timezone ?? "UTC", paused: true });
  } catch (error) {
    throw new CronError(`invalid cron "${spec.cron}": ${error instanceof Error ? error.message : String(error)}`);
  }
}

/** The next `count` fire times strictly after `from`. */
export function nextFireTimes(spec: CronSpec, count: number, from: Date = new Date()): Date[] {
  const cron = parseCron(spec);
  try {
    return cron.nextRuns(count, from);
  } finally {
    cron.stop();
  }
}

export function describeCron(spec: CronSpec): string {
  parseCron(spec).stop();
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
