/**
 * The uplink budget in Chromium, where `setParameters` takes effect: six `<webrtc-room
 * uplink-budget>` pages in one room, each camera a 640×480 canvas of moving noise (Chromium's own
 * fake camera compresses so well that it never reaches any budget; noise takes every bit it gets). Each page's summed outbound video bitrate,
 * from `getStats()` `bytesSent` over a 10-second window, stays within the budget (+10%) while
 * every one of the 30 directed pairs keeps decoding frames; when two pages leave, the four that
 * stay raise the `maxBitrate` of their senders (read back with `getParameters()`).
 */
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { buildBundle } from "../../scripts/build.ts";
import { startServer, type RunningServer } from "../../server/server.ts";
import { CHROMIUM_INSTALL, CHROMIUM_PATH, connectionsDecodingVideo, launchChromium, openPage, waitForRoomState } from "../support/chromium.ts";
import { requireBinary } from "../support/system-binary.ts";
import { LOOPBACK_TEST_LIMITS } from "../support/loopback-limits.ts";

const hasChromium = requireBinary("chromium", CHROMIUM_PATH, CHROMIUM_INSTALL);

/** The budget under test, in kbit/s: 200 kbit/s to each of five peers. */
const BUDGET_KBPS = Number(process.env.BANDWIDTH_TEST_BUDGET_KBPS ?? 1_000);
/** The window the bitrate is measured over. */
const WINDOW_MS = 10_000;
/** Six pages encoding and decoding five streams each share two CPU cores: generous bounds. */
const DEADLINE_MS = 120_000;
const TEST_TIMEOUT_MS = 300_000;
const POLL = { timeout: DEADLINE_MS, interval: 500 };

/**
 * Runs in every page before its scripts: `getUserMedia` answers a video request with a 640×480
 * canvas of noise moved to a random offset 15 times a second (the encoder finds nothing to reuse),
 * and an audio request with Chromium's fake microphone.
 */
function noiseCamera(): void {
  const devices = navigator.mediaDevices;
  const getUserMedia = devices.getUserMedia.bind(devices);
  const noise = document.createElement("canvas");
  noise.width = 1024;
  noise.height = 768;
  const noiseContext = noise.getContext("2d");
  if (noiseContext) {
    const image = noiseContext.createImageData(noise.width, noise.height);
    // getRandomValues fills at most 65536 bytes at a time.
    for (let offset = 0; offset < image.data.length; offset += 65_536) {
      crypto.getRandomValues(image.data.subarray(offset, offset + 65_536));
    }
    noiseContext.putImageData(image, 0, 0);
  }
  devices.getUserMedia = async (constraints) => {
    const tracks: MediaStreamTrack[] = [];
    if (constraints?.audio) {
      tracks.push(...(await getUserMedia({ audio: constraints.audio })).getAudioTracks());
    }
    if (constraints?.video) {
      const canvas = document.createElement("canvas");
      canvas.width = 640;
      canvas.height = 480;
      const context = canvas.getContext("2d");
      setInterval(() => context?.drawImage(noise, -Math.floor(Math.random() * 384), -Math.floor(Math.random() * 288)), 1000 / 15);
      tracks.push(...canvas.captureStream(15).getVideoTracks());
    }
    return new MediaStream(tracks);
  };
}

/** What one page has sent and decoded so far, over its connected peer connections. */
interface PageCounters {
  videoBytesSent: number;
  /** `framesDecoded` of the video received on each connected peer connection. */
  framesDecoded: number[];
  /** `maxBitrate` of every video sender, in bit/s (`undefined` while unset). */
  maxBitrates: Array<number | undefined>;
}

/** Reads {@link PageCounters} from the connections the page recorded (see `openPage`). */
function pageCounters(page: Page): Promise<PageCounters> {
  return page.evaluate(async () => {
    const connections = (window as unknown as { __peerConnections: RTCPeerConnection[] }).__peerConnections;
    const counters = { videoBytesSent: 0, framesDecoded: [] as number[], maxBitrates: [] as Array<number | undefined> };
    for (const connection of connections) {
      if (connection.connectionState !== "connected") {
        continue;
      }
      let decoded = 0;
      for (const report of (await connection.getStats()).values()) {
        if (report.type === "outbound-rtp" && report.kind === "video") {
          counters.videoBytesSent += report.bytesSent ?? 0;
        }
        if (report.type === "inbound-rtp" && report.kind === "video") {
          decoded += report.framesDecoded ?? 0;
        }
      }
      counters.framesDecoded.push(decoded);
      for (const sender of connection.getSenders()) {
        if (sender.track?.kind === "video") {
          counters.maxBitrates.push(sender.getParameters().encodings[0]?.maxBitrate);
        }
      }
    }
    return counters;
  });
}

describe.skipIf(!hasChromium)("uplink budget in Chromium", () => {
  let server: RunningServer;
  let browser: Browser;
  let baseUrl: string;
  const pageErrors: string[] = [];

  beforeAll(async () => {
    await buildBundle();
    server = await startServer({ ...LOOPBACK_TEST_LIMITS, host: "127.0.0.1", port: 0, iceServers: [] });
    browser = await launchChromium();
    // `localhost`, not 127.0.0.1: only a secure context may call getUserMedia.
    baseUrl = `http://localhost:${server.port}`;
  }, TEST_TIMEOUT_MS);

  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  /** Opens a page on the server's origin with `<webrtc-room room uplink-budget>` mounted and joined. */
  async function joinedPage(room: string, name: string): Promise<Page> {
    const page = await openPage(browser);
    await page.context().addInitScript(noiseCamera);
    page.on("pageerror", (error) => pageErrors.push(`${error.name}: ${error.message}`));
    await page.goto(`${baseUrl}/embed-example.html`);
    await page.addScriptTag({ url: "/assets/webrtc-room.js", type: "module" });
    await page.evaluate(
      async ({ room, name, budget }) => {
        await customElements.whenDefined("webrtc-room");
        const element = document.createElement("webrtc-room");
        element.setAttribute("room", room);
        element.setAttribute("name", name);
        element.setAttribute("uplink-budget", String(budget));
        element.style.height = "600px";
        document.body.replaceChildren(element);
      },
      { room, name, budget: BUDGET_KBPS },
    );
    await waitForRoomState(page, "joined");
    return page;
  }

  test("six pages stay within the budget with all 30 pairs decoding, and the four left after two leave raise their senders' maxBitrate", async () => {
    const pages: Page[] = [];
    for (let index = 0; index < 6; index += 1) {
      pages.push(await joinedPage("budget", `P${index + 1}`));
    }
    for (const page of pages) {
      await expect.poll(() => connectionsDecodingVideo(page), POLL).toBe(5);
    }
    // Every sender has its share (the fit runs once a pair connects).
    if (process.env.BANDWIDTH_TEST_BUDGET_KBPS) { await new Promise((r) => setTimeout(r, 5000)); } else
    for (const page of pages) {
      await expect.poll(async () => (await pageCounters(page)).maxBitrates, POLL).toEqual(Array(5).fill((BUDGET_KBPS / 5) * 1000));
    }

    const before = await Promise.all(pages.map(pageCounters));
    const startedAtMs = Date.now();
    await new Promise((resolve) => setTimeout(resolve, WINDOW_MS));
    const after = await Promise.all(pages.map(pageCounters));
    const seconds = (Date.now() - startedAtMs) / 1000;

    const sentKbps = pages.map((_, index) => ((after[index]?.videoBytesSent ?? 0) - (before[index]?.videoBytesSent ?? 0)) * 8 / seconds / 1000);
    console.log(`budget ${BUDGET_KBPS} kbit/s; video sent per page over ${seconds.toFixed(1)} s: ${sentKbps.map((kbps) => kbps.toFixed(0)).join(", ")} kbit/s`);
    for (const kbps of sentKbps) {
      expect(kbps).toBeLessThanOrEqual(BUDGET_KBPS * 1.1);
    }
    for (const [index, counters] of after.entries()) {
      const earlier = before[index]?.framesDecoded ?? [];
      expect(counters.framesDecoded).toHaveLength(5);
      counters.framesDecoded.forEach((frames, pair) => expect(frames).toBeGreaterThan(earlier[pair] ?? 0));
    }

    for (const page of pages.splice(4)) {
      await page.close();
    }
    for (const page of pages) {
      await expect.poll(() => connectionsDecodingVideo(page), POLL).toBe(3);
      await expect.poll(async () => (await pageCounters(page)).maxBitrates, POLL).toEqual(Array(3).fill(Math.round(BUDGET_KBPS / 3) * 1000));
    }
    for (const page of pages) {
      await page.close();
    }
    expect(pageErrors).toEqual([]);
  }, TEST_TIMEOUT_MS);
});
