/**
 * The uplink budget in Chromium, where `setParameters` takes effect: a room of six, two `<webrtc-room
 * uplink-budget>` pages (Chromium's fake camera, 640×480 at 30 frames/s) and four headless peers
 * (@roamhq/wrtc in this process, synthetic 160×120 video: they only need to send and receive, and
 * cost a fraction of a page). Each page's summed outbound video bitrate, from `getStats()`
 * `bytesSent` over a 10-second window, stays within the budget (+10%) while every one of the 30
 * directed pairs keeps receiving frames; when two peers leave, the pages raise the `maxBitrate` of
 * every sender, still within the budget (read back with `getParameters()`). Headless peers fit too but @roamhq/wrtc
 * refuses `setParameters` (see docs/architecture-mesh.md), so the budget is measured on the pages.
 */
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { buildBundle } from "../../scripts/build.ts";
import { fitVideoSenders } from "../../client/core/bandwidth.ts";
import { startServer, type RunningServer } from "../../server/server.ts";
import { HeadlessPeer, settleWebRtc } from "../../client/headless/peers.ts";
import { CHROMIUM_INSTALL, CHROMIUM_PATH, connectionsDecodingVideo, launchChromium, openPage, waitForRoomState } from "../support/chromium.ts";
import { requireBinary } from "../support/system-binary.ts";
import { LOOPBACK_TEST_LIMITS } from "../support/loopback-limits.ts";

const hasChromium = requireBinary("chromium", CHROMIUM_PATH, CHROMIUM_INSTALL);

/**
 * The budget under test, in kbit/s: 150 kbit/s (the floor) to each of five peers, so that the
 * fake camera's stream, which takes more when allowed, is held down. `BANDWIDTH_TEST_BUDGET_KBPS`
 * overrides it, to measure the same room with another budget.
 */
const BUDGET_KBPS = Number(process.env.BANDWIDTH_TEST_BUDGET_KBPS ?? 750);
/** The window the bitrate is measured over. */
const WINDOW_MS = 10_000;
/** Pages encoding and decoding five streams each share two CPU cores with other work: generous bounds. */
const DEADLINE_MS = 120_000;
const TEST_TIMEOUT_MS = 300_000;
const POLL = { timeout: DEADLINE_MS, interval: 500 };

/**
 * Runs in a page before its scripts: `getUserMedia` answers a video request with a 640×480 canvas
 * at 15 frames/s whose lower half is noise moved to a random offset every frame, which the
 * encoder cannot predict: it takes every bit it is allowed (Chromium's fake camera compresses
 * so well that it stays under most budgets by itself). Audio comes from the fake microphone.
 */
function noisyCamera(): void {
  const devices = navigator.mediaDevices;
  const getUserMedia = devices.getUserMedia.bind(devices);
  devices.getUserMedia = async (constraints) => {
    const tracks: MediaStreamTrack[] = [];
    if (constraints?.audio) {
      tracks.push(...(await getUserMedia({ audio: constraints.audio })).getAudioTracks());
    }
    if (constraints?.video) {
      const noise = document.createElement("canvas");
      noise.width = 1024;
      noise.height = 512;
      const noiseContext = noise.getContext("2d");
      if (noiseContext) {
        const image = noiseContext.createImageData(noise.width, noise.height);
        // getRandomValues fills at most 65536 bytes at a time.
        for (let offset = 0; offset < image.data.length; offset += 65_536) {
          crypto.getRandomValues(image.data.subarray(offset, offset + 65_536));
        }
        noiseContext.putImageData(image, 0, 0);
      }
      const canvas = document.createElement("canvas");
      canvas.width = 640;
      canvas.height = 480;
      const context = canvas.getContext("2d");
      let frame = 0;
      setInterval(() => {
        if (!context) {
          return;
        }
        context.fillStyle = `hsl(${(frame += 7) % 360} 60% 50%)`;
        context.fillRect(0, 0, 640, 240);
        context.drawImage(noise, -Math.floor(Math.random() * 384), -Math.floor(Math.random() * 272), 1024, 512);
        context.fillRect(0, 0, 640, 240);
      }, 1000 / 15);
      tracks.push(...canvas.captureStream(15).getVideoTracks());
    }
    return new MediaStream(tracks);
  };
}

/** The `maxBitrate` (bit/s) the budget gives each camera sender of a page with `peers` peers. */
function fittedMaxBitrates(peers: number): number[] {
  const senders = Array.from({ length: peers }, (_, index) => ({ peerId: String(index), source: "camera" as const }));
  return fitVideoSenders(BUDGET_KBPS, senders).senders.map((sender) => sender.encoding.maxBitrate);
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
  async function joinedPage(room: string, name: string, camera: "fake" | "noisy" = "fake"): Promise<Page> {
    const page = await openPage(browser);
    if (camera === "noisy") {
      await page.context().addInitScript(noisyCamera);
    }
    page.on("pageerror", (error) => pageErrors.push(`${error.name}: ${error.message}`));
    await page.goto(`${baseUrl}/embed-example.html`, { timeout: DEADLINE_MS });
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

  test("a room of six (two pages, four headless peers) stays within the budget on the pages with all 30 pairs receiving, and the pages raise their senders' maxBitrate when two peers leave", async () => {
    const pages: Page[] = [];
    const headless: HeadlessPeer[] = [];
    try {
      for (let index = 0; index < 2; index += 1) {
        pages.push(await joinedPage("budget", `P${index + 1}`));
      }
      for (let index = 0; index < 4; index += 1) {
        const peer = new HeadlessPeer({ url: server.wsUrl, room: "budget", username: `H${index + 1}`, video: true, uplinkBudgetKbps: BUDGET_KBPS });
        headless.push(peer);
        await peer.join();
      }
      /** Frames each headless peer received from each of its five remotes. */
      const headlessFrames = (): number[][] => headless.map((peer) => [...peer.session.peers.keys()].map((id) => peer.framesFrom(id)));
      for (const page of pages) {
        await expect.poll(() => connectionsDecodingVideo(page), POLL).toBe(5);
        // Every sender has its share (the fit runs once a pair connects).
        await expect.poll(async () => (await pageCounters(page)).maxBitrates, POLL).toEqual(fittedMaxBitrates(5));
      }
      await expect.poll(() => headlessFrames().every((frames) => frames.length === 5 && frames.every((count) => count > 0)), POLL).toBe(true);

      const before = await Promise.all(pages.map(pageCounters));
      const headlessBefore = headlessFrames();
      const startedAtMs = Date.now();
      await new Promise((resolve) => setTimeout(resolve, WINDOW_MS));
      const after = await Promise.all(pages.map(pageCounters));
      const headlessAfter = headlessFrames();
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
      headlessAfter.forEach((frames, index) => frames.forEach((count, pair) => expect(count).toBeGreaterThan(headlessBefore[index]?.[pair] ?? 0)));

      const beforeLeaving = fittedMaxBitrates(5)[0] ?? 0;
      for (const peer of headless.splice(2)) {
        peer.leave();
      }
      expect(fittedMaxBitrates(3)[0]).toBeGreaterThan(beforeLeaving);
      // Every sender gets more than before; a page's sender to the other page may get less than an
      // even share (that page's tile hints ask for its size), the rest going to the others.
      for (const page of pages) {
        await expect.poll(() => connectionsDecodingVideo(page), POLL).toBe(3);
        await expect.poll(async () => {
          const { maxBitrates } = await pageCounters(page);
          return maxBitrates.length === 3 && maxBitrates.every((bitrate) => (bitrate ?? 0) > beforeLeaving);
        }, POLL).toBe(true);
        const { maxBitrates } = await pageCounters(page);
        // Each share is rounded to a whole kbit/s.
        expect(maxBitrates.reduce<number>((sum, bitrate) => sum + (bitrate ?? 0), 0)).toBeLessThanOrEqual((BUDGET_KBPS + maxBitrates.length) * 1000);
      }
    } finally {
      for (const page of pages) {
        await page.close();
      }
      for (const peer of headless) {
        peer.leave();
      }
      await settleWebRtc();
    }
    expect(pageErrors).toEqual([]);
  }, TEST_TIMEOUT_MS);

  test("one page with a camera that takes every bit, sending to five headless peers, stays within the budget while each of them decodes it", async () => {
    const page = await joinedPage("budget-one", "Sender", "noisy");
    const receivers: HeadlessPeer[] = [];
    try {
      for (let index = 0; index < 5; index += 1) {
        const receiver = new HeadlessPeer({ url: server.wsUrl, room: "budget-one", username: `R${index + 1}` });
        receivers.push(receiver);
        await receiver.join();
      }
      await expect.poll(async () => (await pageCounters(page)).maxBitrates, POLL).toEqual(fittedMaxBitrates(5));
      await expect.poll(() => receivers.every((receiver) => [...receiver.session.peers.values()].some((peer) => receiver.framesFrom(peer.id) > 0)), POLL).toBe(true);

      const before = await pageCounters(page);
      const framesBefore = receivers.map((receiver) => Math.max(...[...receiver.session.peers.keys()].map((id) => receiver.framesFrom(id))));
      const startedAtMs = Date.now();
      await new Promise((resolve) => setTimeout(resolve, WINDOW_MS));
      const after = await pageCounters(page);
      const seconds = (Date.now() - startedAtMs) / 1000;
      const sentKbps = ((after.videoBytesSent - before.videoBytesSent) * 8) / seconds / 1000;
      console.log(`budget ${BUDGET_KBPS} kbit/s; one page to five headless peers: ${sentKbps.toFixed(0)} kbit/s over ${seconds.toFixed(1)} s`);
      expect(sentKbps).toBeLessThanOrEqual(BUDGET_KBPS * 1.1);
      receivers.forEach((receiver, index) => {
        expect(Math.max(...[...receiver.session.peers.keys()].map((id) => receiver.framesFrom(id)))).toBeGreaterThan(framesBefore[index] ?? 0);
      });
    } finally {
      await page.close();
      for (const receiver of receivers) {
        receiver.leave();
      }
      await settleWebRtc();
    }
    expect(pageErrors).toEqual([]);
  }, TEST_TIMEOUT_MS);
});
