/**
 * The stage of `<webrtc-room>` in Chromium with fake devices: screen sharing (headless Chromium's
 * `getDisplayMedia` answers with a fake 1280×720 screen and fake audio, no picker, with the suite's
 * usual flags), who is speaking, the speaker layout, pin, and the video hints that follow the
 * tiles' sizes.
 */
import type { Page } from "playwright-core";
import { describe, expect, test } from "vitest";
import { CHROMIUM_INSTALL, CHROMIUM_PATH, axeViolations, waitForRoomState } from "../support/chromium.ts";
import { requireBinary } from "../support/system-binary.ts";
import { useBrowserSuite } from "../support/browser-suite.ts";

const hasChromium = requireBinary("chromium", CHROMIUM_PATH, CHROMIUM_INSTALL);

/** Generous bounds: three Chromium pages encoding and decoding video share two CPU cores. */
const DEADLINE_MS = 150_000;
const TEST_TIMEOUT_MS = 600_000;
const POLL = { timeout: DEADLINE_MS, interval: 250 };

/** What a page's element reported, recorded from before it joined. */
interface StageLog {
  speakers: Array<string | null>;
  levelsSeen: number;
}

/**
 * Runs in a page before its scripts: keeps every stream `getDisplayMedia` returns in
 * `window.__screens` (to end one as the browser's own "Stop sharing" does) and records the
 * element's `active-speaker` events in `window.__stage`.
 */
function recordStage(): void {
  const devices = navigator.mediaDevices;
  const getDisplayMedia = devices.getDisplayMedia.bind(devices);
  const screens: MediaStream[] = [];
  const log: StageLog = { speakers: [], levelsSeen: 0 };
  Object.assign(window, { __screens: screens, __stage: log });
  devices.getDisplayMedia = async (options) => {
    const stream = await getDisplayMedia(options);
    screens.push(stream);
    return stream;
  };
  document.addEventListener("active-speaker", (event) => {
    const { speaker, levels } = (event as CustomEvent<{ speaker: { username: string } | null; levels: unknown[] }>).detail;
    log.speakers.push(speaker?.username ?? null);
    log.levelsSeen = Math.max(log.levelsSeen, levels.length);
  });
}

describe.skipIf(!hasChromium)("<webrtc-room> stage in Chromium", () => {
  const suite = useBrowserSuite({ setupTimeoutMs: TEST_TIMEOUT_MS });

  /** A page with `<webrtc-room room name …attributes>` mounted on the embed page and joined. */
  async function joinedPage(room: string, name: string, attributes: Record<string, string> = {}): Promise<Page> {
    const page = await suite.newPage();
    await page.context().addInitScript(recordStage);
    await page.goto(`${suite.baseUrl}/embed-example.html`, { timeout: DEADLINE_MS });
    await page.addScriptTag({ url: "/assets/webrtc-room.js", type: "module" });
    await page.evaluate(
      async ({ room, name, attributes }) => {
        await customElements.whenDefined("webrtc-room");
        const element = document.createElement("webrtc-room");
        for (const [key, value] of Object.entries({ room, name, ...attributes })) {
          element.setAttribute(key, value);
        }
        element.style.height = "700px";
        // A page with a main landmark and a heading, so that axe judges the element, not the page.
        const main = document.createElement("main");
        const heading = document.createElement("h1");
        heading.textContent = room;
        main.append(heading, element);
        document.body.replaceChildren(main);
      },
      { room, name, attributes },
    );
    await waitForRoomState(page, "joined");
    return page;
  }

  const control = (page: Page, name: string) => page.locator(`[data-control="${name}"]`);

  /** The captions of the screen tiles on `page`, and which of them is featured. */
  function screenTiles(page: Page): Promise<Array<{ caption: string; featured: boolean; decoding: boolean }>> {
    return page.evaluate(() => {
      const root = document.querySelector("webrtc-room")?.shadowRoot;
      return [...(root?.querySelectorAll<HTMLElement>('[part~="tile-screen"]') ?? [])].map((tile) => {
        const video = tile.querySelector("video");
        return {
          caption: tile.querySelector("figcaption .name")?.textContent?.trim() ?? "",
          featured: tile.dataset["featured"] !== undefined,
          decoding: video !== null && video.videoWidth > 0 && video.currentTime > 0,
        };
      });
    });
  }

  /** How many camera tiles on `page` are featured (the large one). */
  const featuredCameras = (page: Page): Promise<number> => page.locator('[part~="tile-local"][data-featured], [part~="tile-remote"][data-featured]').count();

  /** Ends `page`'s screen capture as the browser's own "Stop sharing" does: the track ends. */
  const endCapture = (page: Page): Promise<void> =>
    page.evaluate(() => {
      for (const stream of (window as unknown as { __screens: MediaStream[] }).__screens) {
        for (const track of stream.getVideoTracks()) {
          track.stop();
          track.dispatchEvent(new Event("ended"));
        }
      }
    });

  const liveRegion = (page: Page): Promise<string> => page.locator("[data-live-region]").innerText();

  test("a shared screen is everyone's stage tile, a late joiner gets it, a second sharer replaces the first (who is told), and the browser's Stop sharing removes it everywhere", async () => {
    const ada = await joinedPage("share", "Ada");
    const grace = await joinedPage("share", "Grace");
    await expect.poll(() => grace.locator('[part~="tile-remote"]').count(), POLL).toBe(1);

    await control(ada, "share").click({ timeout: DEADLINE_MS });
    await expect.poll(() => control(ada, "share").getAttribute("aria-pressed"), POLL).toBe("true");
    // Grace decodes Ada's screen as its own tile, featured, the cameras in the strip.
    await expect.poll(() => screenTiles(grace), POLL).toEqual([{ caption: "Ada's screen", featured: true, decoding: true }]);
    await expect(featuredCameras(grace)).resolves.toBe(0);
    await expect.poll(() => screenTiles(ada), POLL).toEqual([{ caption: "Your screen", featured: true, decoding: true }]);
    await expect.poll(() => liveRegion(grace), POLL).toContain("Ada is sharing their screen");

    const linus = await joinedPage("share", "Linus");
    await expect.poll(() => screenTiles(linus), POLL).toEqual([{ caption: "Ada's screen", featured: true, decoding: true }]);

    await control(grace, "share").click({ timeout: DEADLINE_MS });
    await expect.poll(() => liveRegion(ada), POLL).toContain("Grace is sharing now; your screen share stopped");
    await expect.poll(() => control(ada, "share").getAttribute("aria-pressed"), POLL).toBe("false");
    for (const page of [ada, linus]) {
      await expect.poll(() => screenTiles(page), POLL).toEqual([{ caption: "Grace's screen", featured: true, decoding: true }]);
    }

    await endCapture(grace);
    for (const page of [ada, grace, linus]) {
      await expect.poll(() => screenTiles(page), POLL).toEqual([]);
    }
    await expect.poll(() => control(grace, "share").getAttribute("aria-pressed"), POLL).toBe("false");
    await expect.poll(() => liveRegion(linus), POLL).toContain("Grace stopped sharing their screen");
  }, TEST_TIMEOUT_MS);

  test("the live microphone is the active speaker on a third page (highlight and event), and the speaker layout, pin and the tiles' video hints follow", async () => {
    const live = await joinedPage("speak", "Live");
    await joinedPage("speak", "Muted", { audio: "off" });
    const listener = await joinedPage("speak", "Listener", { audio: "off" });
    const tileOf = (name: string) => listener.locator('[part~="tile-remote"]', { hasText: name });

    await expect.poll(() => tileOf("Live").getAttribute("data-active-speaker"), POLL).toBe("");
    const log = await listener.evaluate(() => (window as unknown as { __stage: StageLog }).__stage);
    expect(log.speakers).toContain("Live");
    expect(log.speakers).not.toContain("Muted");
    expect(log.levelsSeen).toBe(2);
    await expect(tileOf("Muted").getAttribute("data-active-speaker")).resolves.toBeNull();

    // Speaker layout: the active speaker large, the others in the strip.
    await control(listener, "layout").click({ timeout: DEADLINE_MS });
    await expect(control(listener, "layout").getAttribute("aria-pressed")).resolves.toBe("true");
    await expect.poll(() => tileOf("Live").getAttribute("data-featured"), POLL).toBe("");
    const width = async (name: string): Promise<number> => (await tileOf(name).boundingBox())?.width ?? 0;
    expect(await width("Live")).toBeGreaterThan(2 * (await width("Muted")));
    // The strip asks Live's camera for less: Live scales its sender to the listener down.
    const senderScales = (): Promise<number[]> =>
      live.evaluate(() =>
        (window as unknown as { __peerConnections: RTCPeerConnection[] }).__peerConnections
          .filter((connection) => connection.connectionState === "connected")
          .flatMap((connection) => connection.getSenders().filter((sender) => sender.track?.kind === "video"))
          .map((sender) => sender.getParameters().encodings[0]?.scaleResolutionDownBy ?? 1),
      );
    await expect.poll(async () => Math.min(...(await senderScales())), POLL).toBe(1);

    // Pin Muted: it takes the large tile, Live goes to the strip and is sent smaller.
    await tileOf("Muted").hover({ timeout: DEADLINE_MS });
    await tileOf("Muted").locator('[data-tool="pin"]').click({ timeout: DEADLINE_MS });
    await expect.poll(() => tileOf("Muted").getAttribute("data-featured"), POLL).toBe("");
    expect(await width("Muted")).toBeGreaterThan(2 * (await width("Live")));
    await expect.poll(async () => Math.max(...(await senderScales())), POLL).toBeGreaterThan(2);
    await expect.poll(() => liveRegion(listener), POLL).toContain("Muted pinned");
    await expect(axeViolations(listener)).resolves.toEqual([]);

    // Unpinned and back to the grid: tiles alike again.
    await tileOf("Muted").locator('[data-tool="pin"]').click({ timeout: DEADLINE_MS });
    await control(listener, "layout").click({ timeout: DEADLINE_MS });
    await expect.poll(() => featuredCameras(listener), POLL).toBe(0);
    expect(Math.abs((await width("Muted")) - (await width("Live")))).toBeLessThan(2);
  }, TEST_TIMEOUT_MS);
});
