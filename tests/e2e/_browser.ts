/**
 * Headless Chromium for the end-to-end tests that look at urocket's pages as
 * a person would: Debian's `chromium` (installed by .ci/run) driven by
 * `playwright-core`, which brings no browser of its own. Where Chromium is
 * not installed, {@link browserTest} registers the test as ignored and says
 * why, so that it is counted as skipped.
 *
 * @module
 */

import { type BrowserContext, chromium, type Page } from "npm:playwright-core@1.65.1";

/** Where Chromium is looked for: `CHROMIUM` when set, else Debian's package. */
const CANDIDATES = [Deno.env.get("CHROMIUM"), "/usr/bin/chromium", "/usr/bin/chromium-browser"];

/** The Chromium to drive, or why there is none. */
function findChromium(): { path: string } | { missing: string } {
  for (const path of CANDIDATES) {
    if (!path) continue;
    try {
      if (Deno.statSync(path).isFile) return { path };
    } catch {
      // Not there: the next one.
    }
  }
  return { missing: `no Chromium at ${CANDIDATES.filter(Boolean).join(" or ")}` };
}

const found = findChromium();

/**
 * Where screenshots are kept for people to look at: the folder named by
 * `UROCKET_SCREENSHOTS`, when set. Tests write only inside temporary folders
 * they remove, so without it a screenshot is taken (the page must render) and
 * not written anywhere.
 */
const SCREENSHOTS = Deno.env.get("UROCKET_SCREENSHOTS");

/**
 * Takes a full-page screenshot of `page`; saves it as `<name>.png` under
 * `UROCKET_SCREENSHOTS` when that is set, and returns its path (or undefined).
 */
export async function screenshot(page: Page, name: string): Promise<string | undefined> {
  if (!SCREENSHOTS) {
    await page.screenshot({ fullPage: true });
    return undefined;
  }
  await Deno.mkdir(SCREENSHOTS, { recursive: true });
  const path = `${SCREENSHOTS}/${name}.png`;
  await page.screenshot({ path, fullPage: true });
  return path;
}

/**
 * Registers a test that gets a fresh Chromium page (a new profile in a
 * temporary folder, removed afterwards), ignored with the reason printed
 * where there is no Chromium.
 */
export function browserTest(
  name: string,
  fn: (page: Page) => Promise<void>,
  options: { timeout?: number } = {},
): void {
  if ("missing" in found) {
    console.log(`skipped "${name}": ${found.missing} (apt-get install chromium)`);
  }
  Deno.test({
    name,
    ignore: "missing" in found,
    timeout: options.timeout ?? 60_000,
    async fn() {
      const profile = await Deno.makeTempDir({ prefix: "urocket-chromium-" });
      let context: BrowserContext | undefined;
      try {
        context = await chromium.launchPersistentContext(profile, {
          executablePath: (found as { path: string }).path,
          headless: true,
          viewport: { width: 1280, height: 800 },
          args: [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
          ],
        });
        const page = context.pages()[0] ?? await context.newPage();
        page.setDefaultTimeout(15_000);
        await fn(page);
      } finally {
        await context?.close();
        await Deno.remove(profile, { recursive: true });
      }
    },
  });
}
