/**
 * `<webrtc-room>` and the join page for people who use a keyboard, a screen reader, reduced motion
 * or a light theme, in real Chromium against the real server: axe-core finds no violation on
 * `/r/<room>` before joining and once joined (host settings and the shortcuts panel open, dark
 * and light; the chat opened with its key); tiles and videos are named after their participant;
 * a keyboard alone joins, mutes,
 * opens the shortcuts panel (modal: focus inside and kept there, Escape closes), leaves after a
 * confirmation and rejoins, the focus always on a sensible control; reduced motion stops
 * transitions.
 */
import type { Page } from "playwright-core";
import { describe, expect, test } from "vitest";
import {
  CHROMIUM_INSTALL,
  CHROMIUM_PATH,
  axeViolations,
  joinRoomPage,
  waitForRoomState,
} from "../support/chromium.ts";
import { requireBinary } from "../support/system-binary.ts";
import { useBrowserSuite } from "../support/browser-suite.ts";

const hasChromium = requireBinary("chromium", CHROMIUM_PATH, CHROMIUM_INSTALL);

/** Generous bounds: Chromium pages encoding and decoding video share two CPU cores. */
const DEADLINE_MS = 90_000;
const TEST_TIMEOUT_MS = 240_000;
const POLL = { timeout: DEADLINE_MS, interval: 250 };

const control = (page: Page, name: string) => page.locator(`[data-control="${name}"]`);

/** What has the focus: `data-control` of the element's focused control, else its text, else the page's focused tag. */
function focused(page: Page): Promise<string> {
  return page.evaluate(() => {
    let active = document.activeElement;
    while (active?.shadowRoot?.activeElement) {
      active = active.shadowRoot.activeElement;
    }
    if (!(active instanceof HTMLElement)) {
      return "nothing";
    }
    return active.dataset["control"] ?? (active.textContent?.trim() || active.tagName.toLowerCase());
  });
}

/** True while the element's modal dialog is open and the focus is inside it. */
function focusInDialog(page: Page): Promise<boolean> {
  return page.evaluate(() => {
    const root = document.querySelector("webrtc-room")?.shadowRoot;
    const dialog = root?.querySelector("dialog");
    return dialog?.open === true && dialog.contains(root?.activeElement ?? null);
  });
}

describe.skipIf(!hasChromium)("<webrtc-room> accessibility in Chromium", () => {
  const suite = useBrowserSuite({ setupTimeoutMs: TEST_TIMEOUT_MS });
  const newPage = (): Promise<Page> => suite.newPage();

  describe("axe-core", () => {
    test("/r/<room> has an h1 and no violation before joining, in the dark and the light theme", async () => {
      const page = await newPage();
      await page.goto(`${suite.baseUrl}/r/axe-lobby`);
      await expect(page.getByRole("heading", { level: 1 }).textContent()).resolves.toContain("axe-lobby");
      await expect(axeViolations(page)).resolves.toEqual([]);
      await page.emulateMedia({ colorScheme: "light" });
      await expect(axeViolations(page)).resolves.toEqual([]);
    }, TEST_TIMEOUT_MS);

    test("a joined host sees no violation with the room settings open, nor with the shortcuts panel open, dark or light; tiles and videos carry the participants' names", async () => {
      const host = await newPage();
      const guest = await newPage();
      await joinRoomPage(host, suite.baseUrl, "axe-joined", "Ada");
      await joinRoomPage(guest, suite.baseUrl, "axe-joined", "Grace");
      await expect.poll(() => host.locator('[part~="tile-remote"] video').count(), POLL).toBe(1);
      await expect(host.getByRole("figure", { name: /Grace/ }).count()).resolves.toBe(1);
      await expect(host.getByRole("figure", { name: /Ada/ }).count()).resolves.toBe(1);
      await expect(host.locator('[part~="tile-remote"] video').getAttribute("aria-label")).resolves.toBe("Grace's camera");
      await expect(host.getByRole("heading", { level: 1 }).textContent()).resolves.toContain("axe-joined");

      await control(host, "settings").click();
      await expect(host.locator('[part="settings"]').isVisible()).resolves.toBe(true);
      await expect(axeViolations(host)).resolves.toEqual([]);
      await host.emulateMedia({ colorScheme: "light" });
      await expect(axeViolations(host)).resolves.toEqual([]);

      await control(host, "settings").click();
      await control(host, "help").click();
      await expect.poll(() => focusInDialog(host), POLL).toBe(true);
      await expect(axeViolations(host)).resolves.toEqual([]);
      await host.emulateMedia({ colorScheme: "dark" });
      await expect(axeViolations(host)).resolves.toEqual([]);
      await host.keyboard.press("Escape");
      await expect.poll(() => host.locator("dialog").count(), POLL).toBe(0);

      // The chat, opened from the keyboard, with a message in it.
      await host.keyboard.press("c");
      await expect.poll(() => focused(host), POLL).toBe("textarea");
      await host.keyboard.type("Hello");
      await host.keyboard.press("Enter");
      await expect.poll(() => host.locator('[part="chat-messages"]').textContent(), POLL).toContain("Hello");
      await expect.poll(() => control(guest, "chat").getAttribute("aria-label"), POLL).toBe("Chat, 1 unread");
      await expect(axeViolations(host)).resolves.toEqual([]);
      await host.emulateMedia({ colorScheme: "light" });
      await expect(axeViolations(host)).resolves.toEqual([]);
      await expect(axeViolations(guest)).resolves.toEqual([]);
    }, TEST_TIMEOUT_MS);
  });

  describe("keyboard", () => {
    test("keys alone join, mute, open the shortcuts (modal, Escape closes), leave after a confirmation and rejoin; the focus lands on the microphone, then on Rejoin", async () => {
      const page = await newPage();
      await page.goto(`${suite.baseUrl}/r/keys`);
      await page.keyboard.type("Ada");
      await page.keyboard.press("Enter");
      await waitForRoomState(page, "joined");
      await expect.poll(() => focused(page), POLL).toBe("audio");

      await page.keyboard.press("Space");
      await expect.poll(() => control(page, "audio").getAttribute("aria-pressed"), POLL).toBe("true");
      await page.keyboard.press("m");
      await expect.poll(() => control(page, "audio").getAttribute("aria-pressed"), POLL).toBe("false");
      await page.keyboard.press("v");
      await expect.poll(() => control(page, "video").getAttribute("aria-pressed"), POLL).toBe("true");

      await page.keyboard.press("?");
      await expect.poll(() => focusInDialog(page), POLL).toBe(true);
      await expect(page.getByRole("dialog", { name: "Keyboard shortcuts" }).isVisible()).resolves.toBe(true);
      for (let press = 0; press < 4; press += 1) {
        await page.keyboard.press("Tab");
        await expect(focusInDialog(page)).resolves.toBe(true);
      }
      // The shortcuts do not act behind the dialog.
      await page.keyboard.press("m");
      await expect(control(page, "audio").getAttribute("aria-pressed")).resolves.toBe("false");
      await page.keyboard.press("Escape");
      await expect.poll(() => page.locator("dialog").count(), POLL).toBe(0);
      await expect.poll(() => focused(page), POLL).toBe("audio");

      await page.keyboard.press("l");
      await expect(page.getByRole("dialog", { name: "Leave the room?" }).isVisible()).resolves.toBe(true);
      await expect.poll(() => focused(page), POLL).toBe("Stay");
      await page.keyboard.press("Tab");
      await expect(focused(page)).resolves.toBe("Leave");
      await page.keyboard.press("Enter");
      await waitForRoomState(page, "left");
      await expect.poll(() => focused(page), POLL).toBe("Rejoin");

      await page.keyboard.press("Enter");
      await waitForRoomState(page, "joined");
      await expect.poll(() => focused(page), POLL).toBe("audio");
    }, TEST_TIMEOUT_MS);

    test("shortcut keys typed into a text field stay text", async () => {
      const page = await newPage();
      await joinRoomPage(page, suite.baseUrl, "typing", "Ada");
      await control(page, "settings").click();
      await page.locator("#room-password").focus();
      await page.keyboard.type("mvl?");
      await expect(page.locator("#room-password").inputValue()).resolves.toBe("mvl?");
      await expect(control(page, "audio").getAttribute("aria-pressed")).resolves.toBe("false");
      await expect(page.locator("dialog").count()).resolves.toBe(0);
    }, TEST_TIMEOUT_MS);
  });

  describe("preferences", () => {
    test("reduced motion stops the controls' transitions; the light theme follows prefers-color-scheme and yields to the custom properties", async () => {
      const page = await newPage();
      await joinRoomPage(page, suite.baseUrl, "prefs", "Ada");
      const transition = () => control(page, "leave").evaluate((button) => getComputedStyle(button).transitionDuration);
      const background = () => page.locator("webrtc-room").evaluate((room) => getComputedStyle(room).backgroundColor);
      await expect(transition()).resolves.not.toBe("0s");
      await page.emulateMedia({ reducedMotion: "reduce" });
      await expect(transition()).resolves.toBe("0s");

      await page.emulateMedia({ colorScheme: "dark" });
      await expect(background()).resolves.toBe("rgb(11, 13, 18)");
      await page.emulateMedia({ colorScheme: "light" });
      await expect(background()).resolves.toBe("rgb(244, 246, 250)");
      await page.locator("webrtc-room").evaluate((room) => room.style.setProperty("--webrtc-room-background", "rgb(1, 2, 3)"));
      await expect(background()).resolves.toBe("rgb(1, 2, 3)");
    }, TEST_TIMEOUT_MS);
  });
});
