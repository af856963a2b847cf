import { existsSync } from "node:fs";
import { type Browser, chromium } from "playwright-core";

/** Debian's chromium (test/env/ensure-packages.sh installs it); Playwright drives it, downloading no browser. */
export const CHROMIUM = process.env.FERRY_TEST_CHROMIUM ?? "/usr/bin/chromium";

export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM))
    throw new Error(`no Chromium at ${CHROMIUM}: run test/env/ensure-packages.sh (apt-get install chromium)`);
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    // Root (as in CI containers) cannot use Chromium's user-namespace sandbox.
    args: process.getuid?.() === 0 ? ["--no-sandbox"] : [],
  });
}

/** Starts `ferry ui` output parsing: the login URL it prints. */
export function loginUrlOf(stdout: string): string | undefined {
  return /log in: (\S+)/.exec(stdout)?.[1];
}
