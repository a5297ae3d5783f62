/**
 * Debian's Chromium driven by playwright-core, with a fake camera and microphone. Shared by the
 * browser tests and `npm run screenshot`.
 */
import { chromium, type Browser, type BrowserContext, type Page } from "playwright-core";

/** Where Debian's `chromium` package installs the browser. */
export const CHROMIUM_PATH = "/usr/bin/chromium";

/** Command that installs {@link CHROMIUM_PATH}. */
export const CHROMIUM_INSTALL = "apt-get install -y chromium";

/**
 * Fake capture devices that need no prompt, and everything a headless test run does not need
 * switched off (GPU, QUIC, background traffic) to keep two CPU cores free for WebRTC.
 */
export const CHROMIUM_ARGS = [
  "--use-fake-device-for-media-stream",
  "--use-fake-ui-for-media-stream",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

/** Launches headless Chromium with {@link CHROMIUM_ARGS}. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS, headless: true });
}

/** Window size of the test pages (and of the screenshot). */
export const VIEWPORT = { width: 1280, height: 800 };

/**
 * Runs in every page before its scripts: keeps every `RTCPeerConnection` the page creates in
 * `window.__peerConnections`, so that tests can read `getStats()` without the element exposing
 * its connections. The connections themselves are the browser's own, unchanged.
 */
function recordPeerConnections(): void {
  const Native = window.RTCPeerConnection;
  const connections: RTCPeerConnection[] = [];
  Object.defineProperty(window, "__peerConnections", { value: connections });
  window.RTCPeerConnection = class extends Native {
    constructor(configuration?: RTCConfiguration) {
      super(configuration);
      connections.push(this);
    }
  };
}

/** Options of {@link openPage}. */
export interface OpenPageOptions {
  /** Make `getUserMedia` refuse the camera (NotAllowedError), as if the user had blocked it. */
  denyCamera?: boolean;
}

/** Runs in a page whose camera is "blocked": camera requests fail like a refused permission. */
function denyCamera(): void {
  const devices = navigator.mediaDevices;
  const getUserMedia = devices.getUserMedia.bind(devices);
  devices.getUserMedia = (constraints) =>
    constraints?.video
      ? Promise.reject(new DOMException("Permission denied", "NotAllowedError"))
      : getUserMedia(constraints);
}

/** A page in its own browser context (own storage, own WebRTC stack), recording its peer connections. */
export async function openPage(browser: Browser, options: OpenPageOptions = {}): Promise<Page> {
  const context: BrowserContext = await browser.newContext({ viewport: VIEWPORT });
  await context.addInitScript(recordPeerConnections);
  if (options.denyCamera) {
    await context.addInitScript(denyCamera);
  }
  const page = await context.newPage();
  // A closed page closes its context too, so that nothing lingers between tests.
  page.once("close", () => void context.close().catch(() => undefined));
  return page;
}

/**
 * How many of the page's connected peer connections have decoded at least one video frame
 * (`inbound-rtp` `framesDecoded > 0`): one per remote participant whose video arrives.
 */
export function connectionsDecodingVideo(page: Page): Promise<number> {
  return page.evaluate(async () => {
    const connections = (window as unknown as { __peerConnections: RTCPeerConnection[] }).__peerConnections;
    let decoding = 0;
    for (const connection of connections) {
      if (connection.connectionState !== "connected") {
        continue;
      }
      const stats = await connection.getStats();
      for (const report of stats.values()) {
        if (report.type === "inbound-rtp" && report.kind === "video" && report.framesDecoded > 0) {
          decoding += 1;
          break;
        }
      }
    }
    return decoding;
  });
}

/** Opens `/r/<room>` on `baseUrl`, enters `name` and joins; resolves once the element is in the room. */
export async function joinRoomPage(page: Page, baseUrl: string, room: string, name: string): Promise<void> {
  await page.goto(`${baseUrl}/r/${room}`);
  await page.locator("#name").fill(name);
  await page.getByRole("button", { name: "Join room" }).click();
  await waitForRoomState(page, "joined");
}

/**
 * Waits until the page's `<webrtc-room>` reports `state`. Fails at once, with the element's own
 * explanation, when the element lands in `failed` instead.
 */
export async function waitForRoomState(page: Page, state: string, timeoutMs = 90_000): Promise<void> {
  try {
    await page.waitForFunction(
      (expected) => {
        const current = document.querySelector("webrtc-room")?.state;
        return current === expected || current === "failed";
      },
      state,
      { timeout: timeoutMs },
    );
  } catch (error) {
    const current = await page.evaluate(() => document.querySelector("webrtc-room")?.state ?? "no element");
    throw new Error(`<webrtc-room> did not reach "${state}" within ${timeoutMs} ms; it is "${current}"`, { cause: error });
  }
  if (state !== "failed") {
    const current = await page.evaluate(() => document.querySelector("webrtc-room")?.state);
    if (current === "failed") {
      const panel = await page.locator('[part="panel"]').textContent();
      throw new Error(`<webrtc-room> failed instead of reaching "${state}": ${panel?.replace(/\s+/g, " ").trim()}`);
    }
  }
}
