/**
 * Watching in `<webrtc-phone>` on the `/call` page in real Chromium against the real server: one
 * page watches another (asked, allowed), decodes its fake camera, the watched page shows who is
 * watching, and Stop on the watcher's side ends it on both. Lean by design: the protocol cases are
 * covered headless (test/watch.test.ts).
 */
import type { Page } from "playwright-core";
import { describe, expect, test } from "vitest";
import { CHROMIUM_INSTALL, CHROMIUM_PATH, connectionsDecodingVideo, signInToPhone } from "../support/chromium.ts";
import { requireBinary } from "../support/system-binary.ts";
import { useBrowserSuite } from "../support/browser-suite.ts";

const hasChromium = requireBinary("chromium", CHROMIUM_PATH, CHROMIUM_INSTALL);

/** Generous bounds: Chromium pages encoding and decoding video share two CPU cores. */
const DEADLINE_MS = 90_000;
const TEST_TIMEOUT_MS = 240_000;
const POLL = { timeout: DEADLINE_MS, interval: 250 };

describe.skipIf(!hasChromium)("<webrtc-phone> watching in Chromium", () => {
  const suite = useBrowserSuite({ setupTimeoutMs: TEST_TIMEOUT_MS });

  test("B watches A once A allows it: B decodes A's camera, A sees B watching, and B's Stop ends it for both", async () => {
    const baseUrl = suite.baseUrl;
    const [a, b] = [await suite.newPage(), await suite.newPage()];
    await signInToPhone(a, baseUrl, "Ann");
    await signInToPhone(b, baseUrl, "Ben");

    await b.locator('[data-user-id="Ann"]').getByRole("button", { name: "Watch Ann" }).click();
    const request = a.getByRole("group", { name: "Ben asks to watch" });
    await request.getByRole("button", { name: "Allow" }).click();

    await expect.poll(() => connectionsDecodingVideo(b), POLL).toBe(1);
    await expect.poll(() => b.getByRole("region", { name: "Watching Ann" }).locator("video").count(), POLL).toBe(1);
    // The watcher sends nothing, so the watched page decodes nothing.
    expect(await connectionsDecodingVideo(a)).toBe(0);
    const watchers = a.getByRole("status", { name: "Watching you" });
    await expect.poll(() => watchers.textContent(), POLL).toContain("Ben");

    await b.getByRole("button", { name: "Stop watching Ann" }).click();
    await expect.poll(() => watchers.count(), POLL).toBe(0);
    await expect.poll(() => b.getByRole("region", { name: "Watching Ann" }).count(), POLL).toBe(0);
  }, TEST_TIMEOUT_MS);
});
