/**
 * Tests that need a program from the operating system (chromium, coturn, redis-server…) use
 * {@link requireBinary} to decide whether to run: a developer without it gets a skip and the
 * command that installs it; CI (`CI=true`) gets a failure, so a missing package never turns a
 * red build green by skipping.
 */
import { accessSync, constants } from "node:fs";

/**
 * True when the executable at `path` exists. Otherwise prints `<name> missing: <install>` and
 * returns false, or throws when `process.env.CI === "true"`.
 *
 * ```ts
 * const hasChromium = requireBinary("chromium", "/usr/bin/chromium", "apt-get install -y chromium");
 * describe.skipIf(!hasChromium)("in Chromium", () => { … });
 * ```
 */
export function requireBinary(name: string, path: string, install: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    const message = `${name} missing: ${install}`;
    if (process.env.CI === "true") {
      throw new Error(`${message} (CI=true, so this is a failure, not a skip)`);
    }
    console.warn(`${message} (skipping the tests that need it)`);
    return false;
  }
}
