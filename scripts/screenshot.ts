/**
 * `npm run screenshot`: builds the bundle, starts a server, puts three people in one room in
 * headless Chromium (fake cameras; the third with camera and microphone off, to show those
 * states) and saves what the first one sees at three window sizes: `docs/room.png` (1280×800),
 * `docs/room-phone.png` (a phone held upright, 390×844) and `docs/room-landscape.png` (on its
 * side, or a short window, 844×390). Then `docs/room-chat.png` (1280×800): the chat with a few
 * messages, and the "Reconnecting…" banner while the first one's signaling path is cut (it joined
 * through a TCP proxy for that).
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
const DEADLINE_MS = 60_000;

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
  for (const name of NAMES) {
    const page = await openPage(browser);
    // The viewer through the proxy, so that its signaling path can be cut for the last shot.
    await joinRoomPage(page, pages.length === 0 ? `http://localhost:${proxy.port}` : baseUrl, ROOM, name);
    pages.push(page);
  }
  const [viewer, , quiet] = pages;
  if (!viewer || !quiet) {
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
