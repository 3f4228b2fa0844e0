import type { JobBudget } from "../api/types.ts";
import { formatNumber } from "./format.ts";

/** The Core's defaults and limits for a job's `budget` (core/src/api/schemas.ts RunBudgetBody). */
export const DEFAULT_BUDGET: JobBudget = { maxTokens: 1_000_000, maxSeconds: 3600 };
export const MAX_BUDGET_TOKENS = 1_000_000_000;
export const MAX_BUDGET_SECONDS = 7 * 86400;

export type TimeUnit = "minutes" | "seconds";
export const UNIT_SECONDS: Record<TimeUnit, number> = { minutes: 60, seconds: 1 };

/** Whole minutes when the seconds allow it (the default 3600 s shows as 60 minutes). */
export function timeUnitFor(seconds: number): TimeUnit {
  return seconds % 60 === 0 ? "minutes" : "seconds";
}

/** Why a budget value would be refused by the Core, or null. Empty means "not a number". */
export function budgetError(value: number | string, min: number, max: number, unit: string): string | null {
  if (typeof value !== "number" || !Number.isFinite(value)) return "Enter a whole number";
  if (!Number.isInteger(value)) return "Whole numbers only";
  if (value < min || value > max) return `Between ${formatNumber(min)} and ${formatNumber(max)} ${unit}`;
  return null;
}

/** "1 h", "90 min", "45 s", "1 h 30 min" — a budget's time in the unit it was likely set in. */
export function formatBudgetSeconds(seconds: number): string {
  if (seconds % 60 !== 0) return seconds < 60 ? `${seconds} s` : `${Math.floor(seconds / 60)} min ${seconds % 60} s`;
  const minutes = seconds / 60;
  if (minutes < 60 || minutes % 60 !== 0) {
    return minutes >= 60 ? `${Math.floor(minutes / 60)} h ${minutes % 60} min` : `${minutes} min`;
  }
  return `${minutes / 60} h`;
}

/** The budget fields that differ from the saved ones, for a PATCH that sends only changes. */
export function changedBudget(saved: Partial<JobBudget> | undefined, next: JobBudget): Partial<JobBudget> | undefined {
  const before = { ...DEFAULT_BUDGET, ...saved };
  const patch: Partial<JobBudget> = {};
  if (next.maxTokens !== before.maxTokens) patch.maxTokens = next.maxTokens;
  if (next.maxSeconds !== before.maxSeconds) patch.maxSeconds = next.maxSeconds;
  return Object.keys(patch).length ? patch : undefined;
}

/** Which budget stopped a run, from the Core's error text ("token budget exceeded: …"). */
export function budgetStop(error: string | null | undefined): "tokens" | "time" | null {
  const text = error?.trim().toLowerCase() ?? "";
  if (text.startsWith("token budget exceeded")) return "tokens";
  if (text.startsWith("time budget exceeded")) return "time";
  return null;
}
