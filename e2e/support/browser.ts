/**
 * What every browser suite (e2e/ui/*) shares: where Chromium is (a suite fails under CI=true
 * when it is missing, skips with a note elsewhere), the UI build the Core serves, Chromium started
 * with the flags it needs as root here, and full-page screenshots into docs/screenshots/ (the
 * README's pictures).
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { type Browser, chromium, type Page } from "playwright-core";
import { ROOT } from "./harness.ts";

export const CHROMIUM = process.env.FABRICORE_TEST_CHROMIUM ?? "/usr/bin/chromium";
export const SHOTS = join(ROOT, "docs/screenshots");
const UI_INDEX = join(ROOT, "core/ui/dist/index.html");

/** Whether `suite` can run; throws under CI=true when Chromium is missing. */
export function chromiumAvailable(suite: string): boolean {
  if (existsSync(CHROMIUM)) return true;
  if (process.env.CI === "true") throw new Error(`CI=true but there is no Chromium at ${CHROMIUM}`);
  console.warn(`${suite} skipped: no Chromium at ${CHROMIUM} (set FABRICORE_TEST_CHROMIUM)`);
  return false;
}

/** `make test` builds the UI first; this is for running one browser file alone. */
export function ensureUiBuilt(): void {
  if (!existsSync(UI_INDEX)) execFileSync("npm", ["run", "-w", "core/ui", "build"], { cwd: ROOT, stdio: "inherit" });
  mkdirSync(SHOTS, { recursive: true });
}

/** Chromium as root on these machines: no sandbox, no GPU, nothing that calls out. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
}

/** A full-page screenshot `docs/screenshots/<name>.png`, from the top (a shot of a scrolled page
 * paints the fixed header and navbar mid-page). */
export async function screenshot(page: Page, name: string): Promise<void> {
  await page.waitForLoadState("networkidle").catch(() => {});
  await page.evaluate("window.scrollTo(0, 0)");
  await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true, animations: "disabled" });
}
