import type { Browser, Page } from "playwright-core";
import { ADMIN_PASSWORD } from "./harness.ts";

/** Signs a page in through the login form, as a person would (the session cookie is the UI's own). */
export async function signIn(page: Page, coreUrl: string, password = ADMIN_PASSWORD): Promise<void> {
  await page.goto(`${coreUrl}/login`);
  await page.getByRole("textbox", { name: "Password" }).fill(password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.waitForURL((url) => !url.pathname.startsWith("/login"));
}

export interface SignedInPagesOptions {
  /** Where uncaught page errors are collected (a suite asserts it stays empty). */
  errors: string[];
  desktopHeight?: number;
  timeoutMs?: number;
}

/**
 * The two screens issue 22 is walked on: a 1280 px desktop page and a 390 px phone page (touch,
 * 2× pixels), each in its own context, both signed in as the admin and reporting page errors.
 */
export async function openSignedInPages(
  browser: Browser,
  coreUrl: string,
  { errors, desktopHeight = 900, timeoutMs = 10_000 }: SignedInPagesOptions,
): Promise<{ page: Page; phonePage: Page }> {
  const desktop = await browser.newContext({ viewport: { width: 1280, height: desktopHeight }, colorScheme: "light" });
  const phone = await browser.newContext({
    viewport: { width: 390, height: 844 },
    deviceScaleFactor: 2,
    isMobile: true,
    hasTouch: true,
    colorScheme: "light",
  });
  const page = await desktop.newPage();
  const phonePage = await phone.newPage();
  for (const p of [page, phonePage]) {
    p.setDefaultTimeout(timeoutMs);
    p.on("pageerror", (error) => errors.push(error.message));
  }
  await signIn(page, coreUrl);
  await signIn(phonePage, coreUrl);
  return { page, phonePage };
}
