/**
 * Debian's Chromium driven by playwright-core, with a fake camera and microphone. Shared by the
 * browser tests and `npm run screenshot`.
 */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
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

/** Options of {@link launchChromium}. */
export interface LaunchOptions {
  /** How many fake cameras Chromium lists (`fake_device_0`, `fake_device_1`, …); one by default. */
  fakeCameras?: number;
}

/** Launches headless Chromium with {@link CHROMIUM_ARGS}. */
export function launchChromium(options: LaunchOptions = {}): Promise<Browser> {
  const cameras = options.fakeCameras;
  const args = cameras === undefined ? CHROMIUM_ARGS
    : CHROMIUM_ARGS.map((arg) => (arg === "--use-fake-device-for-media-stream" ? `${arg}=device-count=${cameras}` : arg));
  return chromium.launch({ executablePath: CHROMIUM_PATH, args, headless: true });
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
  /**
   * Make `getUserMedia` refuse the camera (NotAllowedError), as if the user had blocked it, until
   * {@link unblockCamera}.
   */
  denyCamera?: boolean;
  /** Window size; {@link VIEWPORT} by default. */
  viewport?: { width: number; height: number };
}

/** Runs in a page whose camera is "blocked": camera requests fail like a refused permission while `window.__cameraBlocked`. */
function denyCamera(): void {
  const devices = navigator.mediaDevices;
  const getUserMedia = devices.getUserMedia.bind(devices);
  const state = { blocked: true };
  Object.defineProperty(window, "__cameraBlocked", { get: () => state.blocked, set: (blocked: boolean) => (state.blocked = blocked) });
  devices.getUserMedia = (constraints) =>
    constraints?.video && state.blocked
      ? Promise.reject(new DOMException("Permission denied", "NotAllowedError"))
      : getUserMedia(constraints);
}

/** Lets a page opened with `denyCamera` have its camera from now on, as if the user unblocked it in the site settings. */
export async function unblockCamera(page: Page): Promise<void> {
  await page.evaluate(() => {
    (window as unknown as { __cameraBlocked: boolean }).__cameraBlocked = false;
  });
}

/** A page in its own browser context (own storage, own WebRTC stack), recording its peer connections. */
export async function openPage(browser: Browser, options: OpenPageOptions = {}): Promise<Page> {
  const context: BrowserContext = await browser.newContext({ viewport: options.viewport ?? VIEWPORT });
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

/** Opens `/call` on `baseUrl`, signs in as `name` from the form and waits for the lobby. */
export async function signInToPhone(page: Page, baseUrl: string, name: string, timeoutMs = 90_000): Promise<void> {
  await page.goto(`${baseUrl}/call`);
  await page.evaluate(() => customElements.whenDefined("webrtc-phone"));
  await page.getByLabel("Your name").fill(name);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.waitForFunction(() => document.querySelector("webrtc-phone")?.state === "lobby", undefined, { timeout: timeoutMs });
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

/** The source of axe-core (the devDependency), read once. */
let axeSource: string | undefined;

/** One axe-core rule broken on a page: the rule, what it says, and the offending elements. */
export interface AxeViolation {
  id: string;
  help: string;
  targets: string[];
}

/**
 * Runs axe-core (every rule of its default set, WCAG 2.x A/AA and best practices, through open
 * shadow roots) on `page` as it is now and returns the violations, empty when there are none.
 */
export async function axeViolations(page: Page): Promise<AxeViolation[]> {
  axeSource ??= readFileSync(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8");
  if (!(await page.evaluate(() => "axe" in window))) {
    await page.addScriptTag({ content: axeSource });
  }
  return page.evaluate(async () => {
    const axe = (window as unknown as { axe: { run(context: Document, options: object): Promise<{ violations: Array<{ id: string; help: string; nodes: Array<{ target: unknown[] }> }> }> } }).axe;
    const { violations } = await axe.run(document, { resultTypes: ["violations"] });
    return violations.map((violation) => ({ id: violation.id, help: violation.help, targets: violation.nodes.map((node) => JSON.stringify(node.target)) }));
  });
}
