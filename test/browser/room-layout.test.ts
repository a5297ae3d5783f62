/**
 * `<webrtc-room>`'s layout in real Chromium at a desktop (1280×800), a phone held upright
 * (390×844) and a phone on its side or a short window (844×390): on a bare page holding nothing
 * but the README's two-line snippet (served from another origin, as an embedder would) the tiles
 * have a size and the toolbar is inside the window; so on `/r/<room>`, where phone portrait
 * tiles use the height; the embed example is no wider than a phone.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { Browser, Page } from "playwright-core";
import { afterAll, afterEach, beforeAll, describe, expect, test } from "vitest";
import { buildBundle } from "../../scripts/build.ts";
import { startServer, type RunningServer } from "../../server/server.ts";
import { CHROMIUM_INSTALL, CHROMIUM_PATH, joinRoomPage, launchChromium, openPage, waitForRoomState } from "../support/chromium.ts";
import { requireBinary } from "../support/system-binary.ts";
import { LOOPBACK_TEST_LIMITS } from "../support/loopback-limits.ts";

const hasChromium = requireBinary("chromium", CHROMIUM_PATH, CHROMIUM_INSTALL);

const TEST_TIMEOUT_MS = 240_000;

const SIZES = [
  { name: "desktop", width: 1280, height: 800 },
  { name: "phone portrait", width: 390, height: 844 },
  { name: "phone landscape", width: 844, height: 390 },
];

/** Boxes of the element's parts, in CSS pixels of the window. */
interface Layout {
  toolbar: { x: number; y: number; width: number; height: number };
  controls: Array<{ x: number; y: number; width: number; height: number }>;
  tiles: Array<{ width: number; height: number }>;
  stage: { width: number; height: number };
  /** The page's scrollable width. */
  scrollWidth: number;
  /** How far the page is scrolled down (the focus moving to a control scrolls it into view). */
  scrollY: number;
}

function layoutOf(page: Page): Promise<Layout> {
  return page.evaluate(() => {
    const root = document.querySelector("webrtc-room")?.shadowRoot;
    const box = (element: Element | null | undefined) => {
      const { x, y, width, height } = element?.getBoundingClientRect() ?? new DOMRect();
      return { x, y, width, height };
    };
    return {
      toolbar: box(root?.querySelector('[part="toolbar"]')),
      controls: [...(root?.querySelectorAll('[part~="control"]') ?? [])].map(box),
      tiles: [...(root?.querySelectorAll('[part~="tile"]') ?? [])].map(box),
      stage: box(root?.querySelector('[part="stage"]')),
      scrollWidth: document.documentElement.scrollWidth,
      scrollY: window.scrollY,
    };
  });
}

/** The toolbar and every control in it lie inside a `width`×`height` window (half a pixel of rounding allowed). */
function expectInsideWindow(layout: Layout, size: { width: number; height: number }): void {
  for (const box of [layout.toolbar, ...layout.controls]) {
    expect(box.x).toBeGreaterThanOrEqual(-0.5);
    expect(box.y).toBeGreaterThanOrEqual(-0.5);
    expect(box.x + box.width).toBeLessThanOrEqual(size.width + 0.5);
    expect(box.y + box.height).toBeLessThanOrEqual(size.height + 0.5);
  }
  expect(layout.controls.length).toBeGreaterThanOrEqual(3);
}

describe.skipIf(!hasChromium)("<webrtc-room> layout in Chromium", () => {
  let server: RunningServer;
  let embedder: Server;
  let browser: Browser;
  let baseUrl: string;
  let embedderUrl: string;
  const pages: Page[] = [];

  beforeAll(async () => {
    await buildBundle();
    server = await startServer({ ...LOOPBACK_TEST_LIMITS, host: "127.0.0.1", port: 0, iceServers: [] });
    baseUrl = `http://localhost:${server.port}`;
    // Another origin serving the README's snippet and nothing else.
    embedder = createServer((request, response) => {
      const room = new URL(request.url ?? "/", "http://localhost").searchParams.get("room") ?? "bare";
      response.writeHead(200, { "content-type": "text/html; charset=utf-8" });
      response.end(`<!doctype html>
<script type="module" src="${baseUrl}/assets/webrtc-room.js"></script>
<webrtc-room server="${baseUrl}" room="${room}" name="Ada"></webrtc-room>
`);
    });
    await new Promise<void>((resolve) => embedder.listen(0, "127.0.0.1", resolve));
    embedderUrl = `http://localhost:${(embedder.address() as AddressInfo).port}`;
    browser = await launchChromium();
  }, TEST_TIMEOUT_MS);

  afterEach(async () => {
    for (const page of pages.splice(0)) {
      await page.close();
    }
  });

  afterAll(async () => {
    await browser?.close();
    await new Promise((resolve) => embedder?.close(resolve));
    await server?.close();
  });

  test.each(SIZES)("on a bare page with the two-line snippet ($name, $width×$height) the tiles have a size and the toolbar is inside the window", async (size) => {
    const page = await openPage(browser, { viewport: size });
    pages.push(page);
    await page.goto(`${embedderUrl}/?room=bare-${size.width}`);
    await waitForRoomState(page, "joined");
    await page.locator('[data-control="audio"]:not(:disabled)').waitFor();
    const layout = await layoutOf(page);
    expect(layout.tiles).toHaveLength(1);
    for (const tile of layout.tiles) {
      expect(tile.width).toBeGreaterThan(100);
      expect(tile.height).toBeGreaterThan(100);
    }
    expectInsideWindow(layout, size);
    // Inside without scrolling: the element fits the window.
    expect(layout.scrollY).toBe(0);
    expect(layout.scrollWidth).toBeLessThanOrEqual(size.width);
  }, TEST_TIMEOUT_MS);

  test.each(SIZES)("on /r/<room> ($name, $width×$height) the toolbar is inside the window and the tile uses the stage", async (size) => {
    const page = await openPage(browser, { viewport: size });
    pages.push(page);
    await joinRoomPage(page, baseUrl, `page-${size.width}`, "Ada");
    await page.locator('[data-control="audio"]:not(:disabled)').waitFor();
    const layout = await layoutOf(page);
    expectInsideWindow(layout, size);
    const [tile] = layout.tiles;
    // The tile fills the stage in one direction at least (portrait: it takes the height up to 3:4).
    expect(Math.max((tile?.width ?? 0) / layout.stage.width, (tile?.height ?? 0) / layout.stage.height)).toBeGreaterThan(0.65);
    expect(layout.scrollWidth).toBeLessThanOrEqual(size.width);
  }, TEST_TIMEOUT_MS);

  test("the embed example is no wider than a phone, before and after joining", async () => {
    const size = { width: 390, height: 844 };
    const page = await openPage(browser, { viewport: size });
    pages.push(page);
    await page.goto(`${baseUrl}/embed-example.html`);
    await expect(layoutOf(page).then((layout) => layout.scrollWidth)).resolves.toBeLessThanOrEqual(size.width);
    await page.locator("#name").fill("Ada");
    await page.getByRole("button", { name: "Join" }).click();
    await waitForRoomState(page, "joined");
    const layout = await layoutOf(page);
    expect(layout.scrollWidth).toBeLessThanOrEqual(size.width);
    expect(layout.toolbar.x + layout.toolbar.width).toBeLessThanOrEqual(size.width);
  }, TEST_TIMEOUT_MS);
});
