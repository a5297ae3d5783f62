/**
 * `<webrtc-phone>` around a call, in real Chromium against the real server: the ring (a Web Audio
 * tone, the flashing title), modal dialogs answered from the keyboard, axe-core on the lobby, the
 * ringing dialog and the call, the other party's camera off (avatar and name) and microphone off
 * (an icon), chat both ways over the call's data channel, and the connection notices while the
 * signaling path is cut through a TCP proxy during the call; cut past the grace window, the
 * "You were disconnected" panel while the others see the user leave, and the way back.
 *
 * The ring is observed through an init script that counts the oscillators started and keeps the
 * `AudioContext`s they belong to: the ringer closes its context when the ring stops, so "the ring
 * stopped" is "no context that rang is still open". How long the banner took to appear after the
 * cut is printed, not asserted.
 */
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { startServer, type RunningServer } from "../../server/server.ts";
import { axeViolations, CHROMIUM_INSTALL, CHROMIUM_PATH, signInToPhone } from "../support/chromium.ts";
import { useBrowserSuite } from "../support/browser-suite.ts";
import { LOOPBACK_TEST_LIMITS } from "../support/loopback-limits.ts";
import { requireBinary } from "../support/system-binary.ts";
import { startTcpProxy, type TcpProxy } from "../support/tcp-proxy.ts";

const hasChromium = requireBinary("chromium", CHROMIUM_PATH, CHROMIUM_INSTALL);

const DEADLINE_MS = 90_000;
const TEST_TIMEOUT_MS = 240_000;
const POLL = { timeout: DEADLINE_MS, interval: 100 };

/** The server's resume grace window: short, yet far above the short cut plus the reconnect backoff. */
const RESUME_GRACE_MS = 8_000;

/** A cut the session survives. */
const SHORT_CUT_MS = 1_000;

/** The ring timeout of the server of the timeout story only. */
const SHORT_RING_TIMEOUT_MS = 3_000;

/** The `/call` page's own title, restored after a ring. */
const PAGE_TITLE = "Calls · webrtc-room";

/** Runs in every page: counts oscillators started and remembers their `AudioContext`s. */
function instrumentAudio(): void {
  const ring = { started: 0, contexts: new Set<BaseAudioContext>() };
  Object.defineProperty(window, "__ring", { value: ring });
  const start = OscillatorNode.prototype.start;
  OscillatorNode.prototype.start = function (this: OscillatorNode, ...args: Parameters<OscillatorNode["start"]>) {
    ring.started += 1;
    ring.contexts.add(this.context);
    return start.apply(this, args);
  };
}

/** Oscillators started so far, and how many of the contexts they played in are still open. */
function ringOf(page: Page): Promise<{ started: number; open: number }> {
  return page.evaluate(() => {
    const ring = (window as unknown as { __ring: { started: number; contexts: Set<BaseAudioContext> } }).__ring;
    return { started: ring.started, open: [...ring.contexts].filter((context) => context.state !== "closed").length };
  });
}

let nameCounter = 0;

/** A user name no other test uses (the lobby is server-wide). */
function freshName(name: string): string {
  nameCounter += 1;
  return `${name}-${nameCounter}`;
}

const phoneState = (page: Page) => page.evaluate(() => document.querySelector("webrtc-phone")?.state);
const callState = (page: Page) => page.evaluate(() => document.querySelector("webrtc-phone")?.callState);
const chatMessages = (page: Page) => page.locator('[part="chat-messages"] li');

/** Calls `name` from `page` once it is listed as available. */
async function call(page: Page, name: string): Promise<void> {
  const row = page.locator(`[data-user-id="${name}"]`);
  await expect.poll(() => row.getAttribute("data-status"), POLL).toBe("online");
  await row.getByRole("button", { name: `Call ${name}` }).click();
}

/** Waits until `page` rings: the dialog, the title, at least one oscillator started. */
async function waitForRing(page: Page, caller: string): Promise<void> {
  await page.locator('dialog[data-dialog="ringing"][open]').waitFor({ timeout: DEADLINE_MS });
  await page.waitForFunction((expected) => document.title === expected, `Incoming call from ${caller}`, { timeout: DEADLINE_MS });
  await expect.poll(async () => (await ringOf(page)).open, POLL).toBe(1);
}

/** Waits until the ring of `page` is over: no context open, the title back. */
async function waitForSilence(page: Page): Promise<void> {
  await expect.poll(async () => (await ringOf(page)).open, POLL).toBe(0);
  await expect.poll(() => page.title(), POLL).toBe(PAGE_TITLE);
}

/** Types `text` in the chat of `page` (opening it) and presses Enter. */
async function typeChat(page: Page, text: string): Promise<void> {
  const toggle = page.locator('[data-control="chat"]');
  if ((await toggle.getAttribute("aria-expanded")) !== "true") {
    await toggle.click();
  }
  await page.locator('[part="chat"] textarea').fill(text);
  await page.locator('[part="chat"] textarea').press("Enter");
}

describe.skipIf(!hasChromium)("<webrtc-phone> around a call in Chromium", () => {
  const suite = useBrowserSuite({ setupTimeoutMs: TEST_TIMEOUT_MS, server: { resumeGraceMs: RESUME_GRACE_MS } });
  let proxy: TcpProxy;

  beforeAll(async () => {
    proxy = await startTcpProxy({ port: suite.server.port });
  });

  afterAll(async () => {
    await proxy?.close();
  });

  /** A page that counts its oscillators. */
  async function newPage(): Promise<Page> {
    const page = await suite.newPage();
    await page.context().addInitScript(instrumentAudio);
    return page;
  }

  test("a call from ring to hang-up: tone and title, keyboard answer, axe clean, camera off and mute shown, chat both ways, the cut signaling path noticed", async () => {
    const [adaName, bobName] = [freshName("Ada"), freshName("Bob")];
    const [ada, bob] = [await newPage(), await newPage()];
    // Ada reaches the server through the proxy, so that her signaling path can be cut.
    await signInToPhone(ada, `http://localhost:${proxy.port}`, adaName);
    await signInToPhone(bob, suite.baseUrl, bobName);
    await expect(ada.locator("h1").textContent()).resolves.toBe("Calls");
    expect(await axeViolations(ada)).toEqual([]);

    await call(ada, bobName);
    await waitForRing(bob, adaName);
    // Modal: the focus is on Accept, inside the dialog, and Enter answers. (axe on a ringing page
    // is in the next test: axe-core moves the focus while it runs.)
    await expect.poll(() => bob.evaluate(() => document.querySelector("webrtc-phone")?.shadowRoot?.activeElement?.outerHTML.replace(/\s+/g, " ")), POLL)
      .toMatch(/^<button class="action accept" autofocus="">/);
    await bob.keyboard.press("Enter");
    await waitForSilence(bob);
    await expect.poll(() => callState(ada), POLL).toBe("active");
    await expect.poll(() => callState(bob), POLL).toBe("active");
    expect(await axeViolations(bob)).toEqual([]);

    // Ada's camera and microphone off: Bob sees her avatar and name, and a muted icon.
    await expect(bob.locator('[data-remote-camera="off"]').count()).resolves.toBe(0);
    await ada.locator('[data-control="video"]').click();
    await ada.locator('[data-control="audio"]').click();
    await bob.locator('[data-remote-camera="off"]').filter({ hasText: adaName }).waitFor({ timeout: DEADLINE_MS });
    await bob.getByRole("img", { name: `${adaName} is muted` }).waitFor({ timeout: DEADLINE_MS });
    await ada.locator('[data-control="video"]').click();
    await expect.poll(() => bob.locator('[data-remote-camera="off"]').count(), POLL).toBe(0);

    // Chat both ways; HTML is shown as text.
    const html = `<img src=x onerror="window.__pwned = true"><b>not bold</b> see ${suite.baseUrl}/call`;
    await typeChat(ada, html);
    await expect.poll(() => bob.locator('[data-control="chat"]').getAttribute("aria-label"), POLL).toBe("Chat, 1 unread");
    await bob.locator('[data-control="chat"]').click();
    await expect(chatMessages(bob).first().locator("p").textContent()).resolves.toBe(html);
    await expect(bob.locator('[part="chat"] img, [part="chat"] b').count()).resolves.toBe(0);
    await expect(chatMessages(bob).first().locator("a").getAttribute("href")).resolves.toBe(`${suite.baseUrl}/call`);
    await expect(bob.evaluate(() => "__pwned" in window)).resolves.toBe(false);
    await typeChat(bob, "Hello Ada");
    await expect.poll(() => chatMessages(ada).filter({ hasText: bobName }).locator("p").allTextContents(), POLL).toEqual(["Hello Ada"]);
    await expect(chatMessages(ada).filter({ hasText: "You" }).count()).resolves.toBe(1);

    // Ada's signaling path cut: "Reconnecting…" with the countdown, then "Reconnected"; the call goes on.
    const cutAtMs = performance.now();
    const cut = proxy.cut(SHORT_CUT_MS);
    const banner = await ada
      .waitForFunction(() => document.querySelector("webrtc-phone")?.shadowRoot?.querySelector('[data-connection="reconnecting"]')?.textContent?.replace(/\s+/g, " ").trim(), undefined, { timeout: DEADLINE_MS })
      .then((handle) => handle.jsonValue());
    console.log(`[phone-ux] "Reconnecting…" appeared ${Math.round(performance.now() - cutAtMs)} ms after the cut`);
    expect(banner).toMatch(/^Connection lost\. Reconnecting… \d+ s left to get back in$/);
    await cut;
    await ada.locator('[part~="connection-notice"][data-connection="reconnected"]').waitFor({ timeout: DEADLINE_MS });
    await expect.poll(() => ada.evaluate(() => document.querySelector("webrtc-phone")?.connection), POLL).toBe("connected");
    expect(await callState(ada)).toBe("active");

    // Hang-up from the keyboard.
    await bob.locator('[data-control="hang-up"]').press("Enter");
    await expect.poll(() => phoneState(bob), POLL).toBe("lobby");
    await expect.poll(() => phoneState(ada), POLL).toBe("lobby");
  }, TEST_TIMEOUT_MS);

  test("the ring stops when the callee declines (Escape), the caller cancels (Escape); axe finds nothing while ringing; the ringtone switch silences the tone", async () => {
    const [adaName, bobName] = [freshName("Ada"), freshName("Bob")];
    const [ada, bob] = [await newPage(), await newPage()];
    await signInToPhone(ada, suite.baseUrl, adaName);
    await signInToPhone(bob, suite.baseUrl, bobName);

    // Declined with Escape.
    await call(ada, bobName);
    await waitForRing(bob, adaName);
    expect(await axeViolations(bob)).toEqual([]);
    await bob.keyboard.press("Escape");
    await waitForSilence(bob);
    await expect.poll(() => phoneState(ada), POLL).toBe("lobby");

    // Cancelled with Escape in the caller's dialog.
    await call(ada, bobName);
    await waitForRing(bob, adaName);
    await ada.locator('dialog[data-dialog="calling"][open]').waitFor({ timeout: DEADLINE_MS });
    await ada.keyboard.press("Escape");
    await waitForSilence(bob);
    await expect.poll(() => phoneState(bob), POLL).toBe("lobby");

    // The ringtone switched off: the title still flashes, no tone starts.
    await bob.getByRole("button", { name: "Ringtone" }).click();
    await expect(bob.getByRole("button", { name: "Ringtone" }).getAttribute("aria-pressed")).resolves.toBe("false");
    const before = await ringOf(bob);
    await call(ada, bobName);
    await bob.waitForFunction((expected) => document.title === expected, `Incoming call from ${adaName}`, { timeout: DEADLINE_MS });
    expect(await ringOf(bob)).toEqual({ started: before.started, open: 0 });
    await bob.getByRole("button", { name: "Decline" }).click();
    await expect.poll(() => bob.title(), POLL).toBe(PAGE_TITLE);
    await bob.getByRole("button", { name: "Ringtone" }).click();
  }, TEST_TIMEOUT_MS);

  test("a cut longer than the grace window: the banner, then the disconnected panel while the others see the user leave; back in the lobby once the path is back", async () => {
    const [adaName, bobName] = [freshName("Ada"), freshName("Bob")];
    const [ada, bob] = [await newPage(), await newPage()];
    await signInToPhone(ada, `http://localhost:${proxy.port}`, adaName);
    await signInToPhone(bob, suite.baseUrl, bobName);
    const adaOnBob = bob.locator(`[data-user-id="${adaName}"]`);
    await expect.poll(() => adaOnBob.getAttribute("data-status"), POLL).toBe("online");

    const cut = proxy.cut(RESUME_GRACE_MS + 4_000);
    await ada.locator('[part~="connection-notice"][data-connection="reconnecting"]').waitFor({ timeout: DEADLINE_MS });
    const panel = ada.locator('[data-reason="disconnected"]');
    await panel.waitFor({ timeout: DEADLINE_MS });
    await expect(panel.getByRole("heading").textContent()).resolves.toBe("You were disconnected");
    await expect(panel.getByRole("button").textContent()).resolves.toBe("Sign in again");
    await expect.poll(() => ada.evaluate(() => document.querySelector("webrtc-phone")?.connection), POLL).toBe("disconnected");
    await expect.poll(() => adaOnBob.count(), POLL).toBe(0);

    await cut;
    // The automatic attempts may beat the button to it; either way Ada is back and Bob sees her.
    const again = panel.getByRole("button", { name: "Sign in again" });
    if (await again.isVisible()) {
      await again.click();
    }
    await expect.poll(() => phoneState(ada), POLL).toBe("lobby");
    await expect.poll(() => ada.evaluate(() => document.querySelector("webrtc-phone")?.connection), POLL).toBe("connected");
    await expect(panel.count()).resolves.toBe(0);
    await expect.poll(() => adaOnBob.getAttribute("data-status"), POLL).toBe("online");
  }, TEST_TIMEOUT_MS);

  test("the ring stops when nobody answers in time", async () => {
    const shortRing: RunningServer = await startServer({ ...LOOPBACK_TEST_LIMITS, host: "127.0.0.1", port: 0, iceServers: [], ringTimeoutMs: SHORT_RING_TIMEOUT_MS });
    try {
      const [adaName, bobName] = [freshName("Ada"), freshName("Bob")];
      const [ada, bob] = [await newPage(), await newPage()];
      await signInToPhone(ada, `http://localhost:${shortRing.port}`, adaName);
      await signInToPhone(bob, `http://localhost:${shortRing.port}`, bobName);
      await call(ada, bobName);
      await bob.locator('dialog[data-dialog="ringing"][open]').waitFor({ timeout: DEADLINE_MS });
      await expect.poll(async () => (await ringOf(bob)).started, POLL).toBeGreaterThan(0);
      await waitForSilence(bob);
      await expect.poll(() => phoneState(bob), POLL).toBe("lobby");
      await bob.locator(`[data-missed-from="${adaName}"]`).waitFor({ timeout: DEADLINE_MS });
    } finally {
      await shortRing.close();
    }
  }, TEST_TIMEOUT_MS);
});
