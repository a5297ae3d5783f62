/**
 * `npm run screenshot`: builds the bundle, starts a server, puts three people in one room in
 * headless Chromium (fake cameras; the third with camera and microphone off, to show those
 * states) and saves what the first one sees at three window sizes: `docs/room.png` (1280×800),
 * `docs/room-phone.png` (a phone held upright, 390×844) and `docs/room-landscape.png` (on its
 * side, or a short window, 844×390). Then the second one shares a screen (a drawn slide stands in
 * for the fake capture's test pattern) for `docs/room-share.png`, stops, and the first switches
 * to the speaker layout, where the second (the one live microphone) is the active speaker, for
 * `docs/room-speaker.png`. Last, back in the grid, `docs/room-chat.png` (1280×800): the chat with
 * a few messages, and the "Reconnecting…" banner while the first one's signaling path is cut (it
 * joined through a TCP proxy for that).
 */
import { mkdir } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import type { Page } from "playwright-core";
import { startServer } from "../server/server.ts";
import { connectionsDecodingVideo, joinRoomPage, launchChromium, openPage } from "../test/support/chromium.ts";
import { startTcpProxy } from "../test/support/tcp-proxy.ts";
import { buildBundle, describeBundle } from "./build.ts";

/** Each screenshot: file under docs/ and window size. */
const SHOTS = [
  { file: "room.png", width: 1280, height: 800 },
  { file: "room-phone.png", width: 390, height: 844 },
  { file: "room-landscape.png", width: 844, height: 390 },
];
const ROOM = "design-review";
const NAMES = ["Ada Lovelace", "Grace Hopper", "Linus Torvalds"];
const DEADLINE_MS = 180_000;

/**
 * Runs in the presenter's page before its scripts: `getDisplayMedia` answers with a 1280×720
 * canvas showing a slide, redrawn twice a second (so that frames keep coming), instead of
 * Chromium's fake capture pattern.
 */
function slideScreen(): void {
  navigator.mediaDevices.getDisplayMedia = async () => {
    const canvas = document.createElement("canvas");
    canvas.width = 1280;
    canvas.height = 720;
    const context = canvas.getContext("2d");
    // No named function here: tsx would wrap it in a helper that does not exist in the page.
    setInterval(() => {
      if (!context) {
        return;
      }
      context.fillStyle = "#f6f7fb";
      context.fillRect(0, 0, 1280, 720);
      context.fillStyle = "#2f5bd3";
      context.fillRect(0, 0, 1280, 12);
      context.fillStyle = "#1d2330";
      context.font = "bold 64px sans-serif";
      context.fillText("Design review: onboarding", 80, 150);
      context.font = "40px sans-serif";
      ["1. Sign-up in one step", "2. Pick a room name or get one", "3. Invite by link, no account needed", "4. Camera check before joining"].forEach((line, index) => {
        context.fillText(line, 110, 280 + index * 80);
      });
      context.fillStyle = "#55607a";
      context.font = "28px sans-serif";
      context.fillText(new Date().toLocaleTimeString("en-GB"), 1080, 680);
    }, 500);
    return canvas.captureStream(5);
  };
}

async function waitUntil(description: string, condition: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + DEADLINE_MS;
  while (!(await condition())) {
    if (Date.now() > deadline) {
      throw new Error(`timed out waiting for ${description}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

console.log(describeBundle(await buildBundle()));
const server = await startServer({ host: "127.0.0.1", port: 0, iceServers: [] });
const proxy = await startTcpProxy({ port: server.port });
const browser = await launchChromium();
try {
  const baseUrl = `http://localhost:${server.port}`;
  const pages: Page[] = [];
  for (const [index, name] of NAMES.entries()) {
    const page = await openPage(browser);
    // A busy machine takes seconds per click and navigation.
    page.setDefaultTimeout(DEADLINE_MS);
    if (index === 1) {
      await page.context().addInitScript(slideScreen);
    }
    // The viewer through the proxy, so that its signaling path can be cut for the last shot.
    await joinRoomPage(page, pages.length === 0 ? `http://localhost:${proxy.port}` : baseUrl, ROOM, name);
    pages.push(page);
  }
  const [viewer, presenter, quiet] = pages;
  if (!viewer || !presenter || !quiet) {
    throw new Error("pages missing");
  }
  await quiet.locator('[data-control="video"]').click();
  await quiet.locator('[data-control="audio"]').click();
  await waitUntil("video from both others", async () => (await connectionsDecodingVideo(viewer)) === 2);
  await waitUntil("the third participant's camera-off state", async () =>
    (await viewer.locator('[part~="tile-remote"][data-video="off"]').count()) === 1);
  await mkdir(fileURLToPath(new URL("../docs/", import.meta.url)), { recursive: true });
  // The dark theme, whatever headless Chromium's default (light) says.
  await viewer.emulateMedia({ colorScheme: "dark" });
  for (const shot of SHOTS) {
    await viewer.setViewportSize({ width: shot.width, height: shot.height });
    // Let the fake camera's frames reach the screen and the layout settle.
    await viewer.waitForTimeout(1_500);
    const path = fileURLToPath(new URL(`../docs/${shot.file}`, import.meta.url));
    await viewer.screenshot({ path });
    console.log(`saved ${path}`);
  }
  await viewer.setViewportSize({ width: 1280, height: 800 });
  // No tile under the pointer: its Pin and Full screen buttons stay hidden.
  await viewer.mouse.move(0, 0);
  const stageShot = async (file: string): Promise<void> => {
    await viewer.waitForTimeout(1_500);
    const path = fileURLToPath(new URL(`../docs/${file}`, import.meta.url));
    await viewer.screenshot({ path });
    console.log(`saved ${path}`);
  };
  await presenter.locator('[data-control="share"]').click();
  await waitUntil("the shared screen on stage", () =>
    viewer.evaluate(() => {
      const video = document.querySelector("webrtc-room")?.shadowRoot?.querySelector<HTMLVideoElement>('[part~="tile-screen"][data-featured] video');
      return (video?.videoWidth ?? 0) > 0;
    }));
  await stageShot("room-share.png");
  await presenter.locator('[data-control="share"]').click();
  await viewer.locator('[data-control="layout"]').click();
  await waitUntil("the presenter as the active speaker", async () =>
    (await viewer.locator('[part~="tile-remote"][data-active-speaker][data-featured]').count()) === 1);
  await stageShot("room-speaker.png");
  await viewer.locator('[data-control="layout"]').click();

  // Chat, then the banner of a lost connection (a cut shorter than the grace window).
  await viewer.setViewportSize({ width: 1280, height: 800 });
  const [, grace] = pages;
  const say = async (page: Page | undefined, text: string): Promise<void> => {
    await page?.evaluate((message) => document.querySelector("webrtc-room")?.sendChat(message), text);
  };
  await say(quiet, "My microphone gave up, I'll type here.");
  await say(grace, "No problem. Slides: https://example.org/design-review");
  await say(viewer, "Thanks! Starting with page 3.");
  await viewer.locator('[data-control="chat"]').click();
  await waitUntil("three chat messages", async () => (await viewer.locator('[part="chat-messages"] li').count()) === 3);
  const cut = proxy.cut(8_000);
  await viewer.locator('[data-connection="reconnecting"]').waitFor({ timeout: DEADLINE_MS });
  await viewer.waitForTimeout(1_500);
  const chatPath = fileURLToPath(new URL("../docs/room-chat.png", import.meta.url));
  await viewer.screenshot({ path: chatPath });
  console.log(`saved ${chatPath}`);
  await cut;
} finally {
  await browser.close();
  await proxy.close();
  await server.close();
}
