/**
 * A camera whose source is down, as people see it in real Chromium: its tile in `<webrtc-room>`
 * says "Camera offline", and on `/call` it is listed as Unavailable and a watch view of it says
 * "Camera offline" too; `<webrtc-phone>` dispatches `watch-started` for that watch. The camera is
 * the real `Camera` (ffmpeg, @roamhq/wrtc) in this process, reading a file that does not exist,
 * so it is offline from the start. Lean by design: the states themselves are covered headless
 * (test/camera/).
 */
import type { Page } from "playwright-core";
import { describe, expect, test } from "vitest";
import { Camera } from "../../client/headless/camera.ts";
import { settleWebRtc } from "../../client/headless/peers.ts";
import { CHROMIUM_INSTALL, CHROMIUM_PATH, joinRoomPage, signInToPhone } from "../support/chromium.ts";
import { FFMPEG_PATH } from "../support/rtsp-server.ts";
import { requireBinary } from "../support/system-binary.ts";
import { useBrowserSuite } from "../support/browser-suite.ts";

const hasBinaries = requireBinary("chromium", CHROMIUM_PATH, CHROMIUM_INSTALL) && requireBinary("ffmpeg", FFMPEG_PATH, "apt-get install -y ffmpeg");

/** Generous bounds: Chromium pages share two CPU cores with the other suites. */
const DEADLINE_MS = 90_000;
const TEST_TIMEOUT_MS = 240_000;
const POLL = { timeout: DEADLINE_MS, interval: 250 };

describe.skipIf(!hasBinaries)("a camera offline in Chromium", () => {
  const suite = useBrowserSuite({ setupTimeoutMs: TEST_TIMEOUT_MS });

  test("its room tile and its watch view say Camera offline, and /call lists it as Unavailable", async () => {
    const camera = new Camera({
      url: suite.server.wsUrl,
      room: "camera-tiles",
      login: "gate-cam",
      name: "Gate",
      source: "/nonexistent/gate.mp4",
      audio: false,
      idleStopSeconds: 0,
      retryPolicy: () => 1_000,
      ffmpegPath: FFMPEG_PATH,
    });
    try {
      await camera.start();
      const [member, watcher] = [await suite.newPage(), await suite.newPage()];

      await joinRoomPage(member, suite.baseUrl, "camera-tiles", "Ada");
      const tile = member.getByRole("figure", { name: /Gate/ });
      await expect.poll(() => tile.textContent(), POLL).toContain("Camera offline");

      await signInToPhone(watcher, suite.baseUrl, "Ben");
      const entry = watcher.locator('[data-user-id="gate-cam"]');
      await expect.poll(() => entry.textContent(), POLL).toContain("Unavailable");
      await watcher.evaluate(() => {
        const started: unknown[] = [];
        Object.assign(window, { watchStarted: started });
        document.querySelector("webrtc-phone")?.addEventListener("watch-started", (event) => started.push(event.detail));
      });
      await entry.getByRole("button", { name: /Watch/ }).click();
      const view = watcher.getByRole("region", { name: "Watching Gate" });
      await expect.poll(() => view.getByRole("status").textContent(), POLL).toContain("Camera offline");
      await expect.poll(() => watcher.evaluate(() => (window as unknown as { watchStarted: unknown[] }).watchStarted), POLL)
        .toEqual([expect.objectContaining({ role: "watcher", remote: { userID: "gate-cam", username: "Gate" } })]);
    } finally {
      await camera.close();
      await settleWebRtc();
    }
  }, TEST_TIMEOUT_MS);
});
