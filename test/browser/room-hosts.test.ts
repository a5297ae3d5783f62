/**
 * `<webrtc-room>`'s host controls in real Chromium against a real open-mode server, where the
 * first participant of a new room hosts it: only the host sees the room settings and the tile
 * menus; the lobby holds a newcomer on a waiting screen (nothing sent to anyone) until the host
 * admits it; a host's mute request shows on the muted page; a removed page shows why and, the
 * room locked, rejoining (or a new page) is refused as locked. One long story, since every page
 * costs real encoding on two cores.
 * Video is Chromium's fake camera; "decodes video" means `inbound-rtp` `framesDecoded > 0`.
 */
import type { Page } from "playwright-core";
import { describe, expect, test } from "vitest";
import {
  CHROMIUM_INSTALL,
  CHROMIUM_PATH,
  connectionsDecodingVideo,
  joinRoomPage,
  waitForRoomState,
} from "../support/chromium.ts";
import { requireBinary } from "../support/system-binary.ts";
import { useBrowserSuite } from "../support/browser-suite.ts";

const hasChromium = requireBinary("chromium", CHROMIUM_PATH, CHROMIUM_INSTALL);

/** Generous bounds: three Chromium pages encoding and decoding video share two CPU cores. */
const DEADLINE_MS = 90_000;
const TEST_TIMEOUT_MS = 300_000;
const POLL = { timeout: DEADLINE_MS, interval: 250 };

const remoteTiles = (page: Page) => page.locator('[part~="tile-remote"]');
const remoteTile = (page: Page, name: string) => remoteTiles(page).filter({ hasText: name });
const localTile = (page: Page) => page.locator('[part~="tile-local"]');
const settingsButton = (page: Page) => page.locator('[data-control="settings"]');

/** Runs in a page before its scripts: keeps every track `getUserMedia` returned in `window.__capturedTracks`. */
function recordCapturedTracks(): void {
  const devices = navigator.mediaDevices;
  const getUserMedia = devices.getUserMedia.bind(devices);
  const tracks: MediaStreamTrack[] = [];
  Object.defineProperty(window, "__capturedTracks", { value: tracks });
  devices.getUserMedia = async (constraints) => {
    const stream = await getUserMedia(constraints);
    tracks.push(...stream.getTracks());
    return stream;
  };
}

/**
 * How many camera and microphone tracks the page holds open. `/r/<room>` opens them for its
 * pre-join preview, so a refused join must close them again.
 */
const liveCapturedTracks = (page: Page): Promise<number> =>
  page.evaluate(() => (window as unknown as { __capturedTracks: MediaStreamTrack[] }).__capturedTracks.filter((track) => track.readyState === "live").length);

/** How many peer connections the page made. */
const peerConnections = (page: Page): Promise<number> => page.evaluate(() => (window as unknown as { __peerConnections: RTCPeerConnection[] }).__peerConnections.length);

/** Opens `/r/<room>`, enters `name` and asks to join, without waiting for any outcome. */
async function askToJoin(page: Page, baseUrl: string, room: string, name: string): Promise<void> {
  await page.goto(`${baseUrl}/r/${room}`);
  await page.locator("#name").fill(name);
  await page.getByRole("button", { name: "Join room" }).click();
}

/** Opens `host`'s room settings (when closed) and flips the switch named `name` to `on`, waiting for the server's confirmation. */
async function setSwitch(host: Page, name: "Lock room" | "Lobby", on: boolean): Promise<void> {
  if ((await settingsButton(host).getAttribute("aria-expanded")) !== "true") {
    await settingsButton(host).click();
  }
  const toggle = host.getByRole("switch", { name: new RegExp(`^${name}`) });
  await toggle.click();
  // The switch shows the room state the server broadcast, so this waits for the real change.
  await expect.poll(() => toggle.isChecked(), POLL).toBe(on);
}

/** Opens the host menu on `name`'s tile in `host`'s page and clicks `action`. */
async function tileAction(host: Page, name: string, action: string): Promise<void> {
  const tile = remoteTile(host, name);
  await tile.getByRole("button", { name: `Host actions for ${name}` }).click();
  await tile.getByRole("button", { name: action, exact: true }).click();
}

describe.skipIf(!hasChromium)("<webrtc-room> host controls in Chromium", () => {
  const suite = useBrowserSuite({ setupTimeoutMs: TEST_TIMEOUT_MS });

  /** A page in its own context recording its captured tracks; its uncaught errors fail the test. */
  async function newPage(): Promise<Page> {
    const page = await suite.newPage();
    await page.addInitScript(recordCapturedTracks);
    return page;
  }

  test("the first page hosts: it alone gets settings and tile menus, admits a waiting page from the lobby, mutes and removes another, and locks the room against newcomers", async () => {
    const room = "hosted";
    const [ada, bob, cy] = [await newPage(), await newPage(), await newPage()];
    if (!ada || !bob || !cy) {
      throw new Error("pages not opened");
    }

    // Ada is first, so she hosts; Bob is not a host and sees the Host badge on her tile only.
    await joinRoomPage(ada, suite.baseUrl, room, "Ada");
    await joinRoomPage(bob, suite.baseUrl, room, "Bob");
    await expect(settingsButton(ada).isVisible()).resolves.toBe(true);
    await expect.poll(() => remoteTile(ada, "Bob").getByRole("button", { name: "Host actions for Bob" }).count(), POLL).toBe(1);
    await expect(settingsButton(bob).count()).resolves.toBe(0);
    await expect(bob.locator('[part~="tile-actions"]').count()).resolves.toBe(0);
    await expect.poll(() => remoteTile(bob, "Ada").locator('[part="host-badge"]').count(), POLL).toBe(1);
    await expect(localTile(bob).locator('[part="host-badge"]').count()).resolves.toBe(0);
    await expect(localTile(ada).locator('[part="host-badge"]').count()).resolves.toBe(1);

    // Lobby on: Cy waits, sending nothing to anyone, until Ada admits her; then everyone decodes everyone.
    await setSwitch(ada, "Lobby", true);
    await askToJoin(cy, suite.baseUrl, room, "Cy");
    await waitForRoomState(cy, "waiting");
    await expect(cy.getByRole("heading", { name: "Waiting for a host to let you in" }).isVisible()).resolves.toBe(true);
    await expect(cy.getByText("Nobody sees or hears you until then.").isVisible()).resolves.toBe(true);
    await expect(cy.getByRole("button", { name: "Leave" }).isVisible()).resolves.toBe(true);
    const admit = ada.getByRole("button", { name: "Admit Cy" });
    await admit.waitFor({ timeout: DEADLINE_MS });
    // The live region's announcer gathers bursts, so the sentence may come a moment after the list.
    await expect.poll(() => ada.getByRole("status").filter({ hasText: "Cy is waiting in the lobby" }).count(), POLL).toBe(1);
    await expect(settingsButton(ada).getAttribute("aria-label")).resolves.toBe("Room settings, 1 waiting");
    await expect(peerConnections(cy)).resolves.toBe(0);
    await admit.click();
    await waitForRoomState(cy, "joined");
    await expect.poll(() => ada.getByRole("button", { name: "Admit Cy" }).count(), POLL).toBe(0);
    for (const page of [ada, bob, cy]) {
      await expect.poll(() => connectionsDecodingVideo(page), POLL).toBe(2);
    }
    await expect(settingsButton(cy).count()).resolves.toBe(0);

    // A mute request: Bob is told, his microphone switch shows muted, and the others see it off.
    await tileAction(ada, "Bob", "Mute microphone");
    await bob.getByText("A host muted your microphone").waitFor({ timeout: DEADLINE_MS });
    await expect(bob.locator('[data-control="audio"]').getAttribute("aria-pressed")).resolves.toBe("true");
    await expect.poll(() => remoteTile(ada, "Bob").getAttribute("data-audio"), POLL).toBe("off");
    await expect.poll(() => remoteTile(cy, "Bob").getAttribute("data-audio"), POLL).toBe("off");

    // Removal, by keyboard: the menu opens from its button, asks first (the focus on Cancel), and
    // Bob lands on a panel saying so and leaves everyone's grid.
    const bobOnAda = remoteTile(ada, "Bob");
    await bobOnAda.getByRole("button", { name: "Host actions for Bob" }).focus();
    await ada.keyboard.press("Enter");
    for (let tab = 0; tab < 3; tab += 1) {
      await ada.keyboard.press("Tab");
    }
    await expect(bobOnAda.getByRole("button", { name: "Remove from room" }).evaluate((button) => button.matches(":focus"))).resolves.toBe(true);
    await ada.keyboard.press("Enter");
    const cancel = bobOnAda.getByRole("button", { name: "Cancel" });
    await expect.poll(() => cancel.evaluate((button) => button.matches(":focus")), POLL).toBe(true);
    await ada.keyboard.press("Shift+Tab");
    await ada.keyboard.press("Enter");
    await waitForRoomState(bob, "failed");
    await expect(bob.getByRole("heading", { name: "A host removed you from the room" }).isVisible()).resolves.toBe(true);
    await expect(bob.locator('[part="panel"]').getAttribute("data-reason")).resolves.toBe("removed");
    for (const page of [ada, cy]) {
      await expect.poll(() => remoteTiles(page).count(), POLL).toBe(1);
    }

    // Locked: everyone sees it; Bob's Rejoin and a new page are both refused as locked.
    await setSwitch(ada, "Lock room", true);
    for (const page of [ada, cy]) {
      await expect.poll(() => page.locator('[part="locked"]').count(), POLL).toBe(1);
    }
    await bob.getByRole("button", { name: "Rejoin" }).click();
    await bob.getByRole("heading", { name: "This room is locked" }).waitFor({ timeout: DEADLINE_MS });
    const dee = await newPage();
    await askToJoin(dee, suite.baseUrl, room, "Dee");
    await waitForRoomState(dee, "failed");
    await expect(dee.getByRole("heading", { name: "This room is locked" }).isVisible()).resolves.toBe(true);
    // The pre-join preview's camera and microphone are closed again.
    await expect.poll(() => liveCapturedTracks(dee), POLL).toBe(0);
  }, TEST_TIMEOUT_MS);
});
