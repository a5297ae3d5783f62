/**
 * `npm run screenshot`: builds the bundle, starts a server, puts three people in one room in
 * headless Chromium (fake cameras; the third with camera and microphone off, to show those
 * states) and saves what the first one sees at three window sizes: `docs/room.png` (1280×800),
 * `docs/room-phone.png` (a phone held upright, 390×844) and `docs/room-landscape.png` (on its
 * side, or a short window, 844×390).
 */
import { mkdir } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import type { Page } from "playwright-core";
import { startServer } from "../server/server.ts";
import { connectionsDecodingVideo, joinRoomPage, launchChromium, openPage } from "../test/support/chromium.ts";
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
const browser = await launchChromium();
try {
  const baseUrl = `http://localhost:${server.port}`;
  const pages: Page[] = [];
  for (const name of NAMES) {
    const page = await openPage(browser);
    await joinRoomPage(page, baseUrl, ROOM, name);
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
} finally {
  await browser.close();
  await server.close();
}
