/**
 * `<webrtc-phone>` on the `/call` page in real Chromium against the real server: a call that
 * connects and carries video both ways, then every way a call can fail to happen. Video is
 * Chromium's fake camera; "decodes video" means `inbound-rtp` `framesDecoded > 0`. Each user is a
 * page in its own browser context of one shared browser.
 */
import type { Browser, Page } from "playwright-core";
import { afterAll, afterEach, beforeAll, describe, expect, test } from "vitest";
import { buildBundle } from "../../scripts/build.ts";
import { startServer, type RunningServer } from "../../server/server.ts";
import { CHROMIUM_INSTALL, CHROMIUM_PATH, connectionsDecodingVideo, launchChromium, openPage } from "../support/chromium.ts";
import { requireBinary } from "../support/system-binary.ts";
import { LOOPBACK_TEST_LIMITS } from "../support/loopback-limits.ts";

const hasChromium = requireBinary("chromium", CHROMIUM_PATH, CHROMIUM_INSTALL);

/** Generous bounds: Chromium pages encoding and decoding video share two CPU cores. */
const DEADLINE_MS = 90_000;
const TEST_TIMEOUT_MS = 240_000;
const POLL = { timeout: DEADLINE_MS, interval: 250 };

/** Long enough that no test acting on a ring ever races the timeout on a slow machine. */
const RING_TIMEOUT_MS = 30_000;

/** The ring timeout of the server used by the timeout test only. */
const SHORT_RING_TIMEOUT_MS = 3_000;

let nameCounter = 0;

/** A user name no other test uses (the lobby is server-wide). */
function freshName(name: string): string {
  nameCounter += 1;
  return `${name}-${nameCounter}`;
}

/** Waits until the page's `<webrtc-phone>` shows `state`. */
async function waitForPhoneState(page: Page, state: string): Promise<void> {
  await page.waitForFunction((expected) => document.querySelector("webrtc-phone")?.state === expected, state, { timeout: DEADLINE_MS });
}

/** Opens `/call`, signs in as `name` and waits for the lobby. */
async function signIn(page: Page, baseUrl: string, name: string): Promise<void> {
  await page.goto(`${baseUrl}/call`);
  const defined = await page.evaluate(async () => {
    await Promise.race([customElements.whenDefined("webrtc-phone"), new Promise((resolve) => setTimeout(resolve, 10_000))]);
    return customElements.get("webrtc-phone") !== undefined;
  });
  if (!defined) {
    throw new Error('<webrtc-phone> is not in the bundle: client/elements/index.ts must import "./phone/webrtc-phone.ts"');
  }
  await page.getByLabel("Your name").fill(name);
  await page.getByRole("button", { name: "Sign in" }).click();
  await waitForPhoneState(page, "lobby");
}

/** The row of `name` in the page's list of people online. */
const person = (page: Page, name: string) => page.locator(`[data-user-id="${name}"]`);

/** Clicks the Call button of `name` once the page lists it with `status`. */
async function callFrom(page: Page, name: string, status = "online"): Promise<void> {
  await expect.poll(() => person(page, name).getAttribute("data-status"), POLL).toBe(status);
  await person(page, name).getByRole("button", { name: `Call ${name}` }).click();
}

/** The lobby notice (outcome of the last call) or missed-call banners containing `text`. */
const banner = (page: Page, text: string) => page.getByRole("status").filter({ hasText: text });

describe.skipIf(!hasChromium)("<webrtc-phone> in Chromium", () => {
  let server: RunningServer;
  let shortRingServer: RunningServer;
  let browser: Browser;
  const pages: Page[] = [];
  const pageErrors: string[] = [];

  /** `localhost`, not 127.0.0.1: only a secure context may call getUserMedia. */
  const baseUrlOf = (running: RunningServer): string => `http://localhost:${running.port}`;

  /** A page in its own context; its uncaught errors and unhandled rejections fail the test. */
  async function newPage(): Promise<Page> {
    const page = await openPage(browser);
    page.on("pageerror", (error) => pageErrors.push(`${error.name}: ${error.message}`));
    pages.push(page);
    return page;
  }

  /** Opens one signed-in page per name on `running`, in order. */
  async function signedIn(running: RunningServer, ...names: string[]): Promise<Page[]> {
    const opened: Page[] = [];
    for (const name of names) {
      const page = await newPage();
      await signIn(page, baseUrlOf(running), name);
      opened.push(page);
    }
    return opened;
  }

  beforeAll(async () => {
    await buildBundle();
    server = await startServer({ ...LOOPBACK_TEST_LIMITS, host: "127.0.0.1", port: 0, iceServers: [], ringTimeoutMs: RING_TIMEOUT_MS });
    shortRingServer = await startServer({ ...LOOPBACK_TEST_LIMITS, host: "127.0.0.1", port: 0, iceServers: [], ringTimeoutMs: SHORT_RING_TIMEOUT_MS });
    browser = await launchChromium();
  }, TEST_TIMEOUT_MS);

  afterEach(async () => {
    for (const page of pages.splice(0)) {
      await page.close();
    }
    expect(pageErrors.splice(0)).toEqual([]);
  });

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    await shortRingServer?.close();
  });

  describe("happy path", () => {
    test("A calls B and B accepts: both decode the other's video; A hangs up and B sees the call end", async () => {
      const [alice, bob] = [freshName("Alice"), freshName("Bob")];
      const [a, b] = await signedIn(server, alice, bob);
      if (!a || !b) {
        throw new Error("pages not opened");
      }
      await callFrom(a, bob);
      await waitForPhoneState(a, "calling");
      await waitForPhoneState(b, "ringing");
      await expect.poll(() => b.getByRole("alertdialog").textContent(), POLL).toContain(alice);
      await b.getByRole("button", { name: "Accept" }).click();

      await waitForPhoneState(a, "in_call");
      await waitForPhoneState(b, "in_call");
      await expect.poll(() => connectionsDecodingVideo(a), POLL).toBe(1);
      await expect.poll(() => connectionsDecodingVideo(b), POLL).toBe(1);
      await expect.poll(() => a.evaluate(() => document.querySelector("webrtc-phone")?.callState), POLL).toBe("active");

      await a.locator('[data-control="hang-up"]').click();
      await waitForPhoneState(a, "lobby");
      await waitForPhoneState(b, "lobby");
      await expect(banner(b, `${alice} ended the call`).isVisible()).resolves.toBe(true);
      // Both free again: the directory shows them online once the short ending period is over.
      await expect.poll(() => person(b, alice).getAttribute("data-status"), POLL).toBe("online");
    }, TEST_TIMEOUT_MS);

    test("the lobby lists who is online with their status, and drops a user who closes the page", async () => {
      const [ann, ben, cat] = [freshName("Ann"), freshName("Ben"), freshName("Cat")];
      const [a, b, c] = await signedIn(server, ann, ben, cat);
      if (!a || !b || !c) {
        throw new Error("pages not opened");
      }
      await expect.poll(() => person(a, ben).getAttribute("data-status"), POLL).toBe("online");
      await expect.poll(() => person(a, cat).getAttribute("data-status"), POLL).toBe("online");
      await expect(person(a, ann).count()).resolves.toBe(0);

      await callFrom(b, cat);
      await expect.poll(() => person(a, ben).getAttribute("data-status"), POLL).toBe("connecting");
      await expect.poll(() => person(a, cat).getAttribute("data-status"), POLL).toBe("connecting");

      await c.close();
      await expect.poll(() => person(a, cat).count(), POLL).toBe(0);
      await waitForPhoneState(b, "lobby");
      await expect.poll(() => person(a, ben).getAttribute("data-status"), POLL).toBe("online");
    }, TEST_TIMEOUT_MS);
  });

  describe("calls that do not connect", () => {
    test("B declines: A is back in the lobby with a notice that B declined", async () => {
      const [alice, bob] = [freshName("Alice"), freshName("Bob")];
      const [a, b] = await signedIn(server, alice, bob);
      if (!a || !b) {
        throw new Error("pages not opened");
      }
      await callFrom(a, bob);
      await waitForPhoneState(b, "ringing");
      await b.getByRole("button", { name: "Decline" }).click();
      await waitForPhoneState(b, "lobby");
      await waitForPhoneState(a, "lobby");
      await expect(banner(a, `${bob} declined the call`).isVisible()).resolves.toBe(true);
      await expect(b.locator("[data-missed-from]").count()).resolves.toBe(0);
    }, TEST_TIMEOUT_MS);

    test("A cancels while ringing: B's ring stops and B sees a missed call from A", async () => {
      const [alice, bob] = [freshName("Alice"), freshName("Bob")];
      const [a, b] = await signedIn(server, alice, bob);
      if (!a || !b) {
        throw new Error("pages not opened");
      }
      await callFrom(a, bob);
      await waitForPhoneState(b, "ringing");
      await expect.poll(() => a.evaluate(() => document.querySelector("webrtc-phone")?.callState), POLL).toBe("ringing");
      await a.getByRole("button", { name: "Cancel" }).click();
      await waitForPhoneState(a, "lobby");
      await waitForPhoneState(b, "lobby");
      await expect(b.locator(`[data-missed-from="${alice}"]`).isVisible()).resolves.toBe(true);
      await expect(banner(b, `Missed call from ${alice}`).isVisible()).resolves.toBe(true);
    }, TEST_TIMEOUT_MS);

    test("nobody answers: when the ring times out A is told B did not answer and B sees a missed call", async () => {
      const [alice, bob] = [freshName("Alice"), freshName("Bob")];
      const [a, b] = await signedIn(shortRingServer, alice, bob);
      if (!a || !b) {
        throw new Error("pages not opened");
      }
      await callFrom(a, bob);
      await waitForPhoneState(b, "ringing");
      await waitForPhoneState(a, "lobby");
      await waitForPhoneState(b, "lobby");
      await expect(banner(a, `${bob} did not answer`).isVisible()).resolves.toBe(true);
      await expect(b.locator(`[data-missed-from="${alice}"]`).isVisible()).resolves.toBe(true);
    }, TEST_TIMEOUT_MS);

    test("C calls A during the A–B call: C is told A is busy and the A–B call goes on", async () => {
      const [alice, bob, carol] = [freshName("Alice"), freshName("Bob"), freshName("Carol")];
      const [a, b, c] = await signedIn(server, alice, bob, carol);
      if (!a || !b || !c) {
        throw new Error("pages not opened");
      }
      await callFrom(a, bob);
      await waitForPhoneState(b, "ringing");
      await b.getByRole("button", { name: "Accept" }).click();
      await expect.poll(() => connectionsDecodingVideo(a), POLL).toBe(1);
      await expect.poll(() => connectionsDecodingVideo(b), POLL).toBe(1);

      await callFrom(c, alice, "in_call");
      await waitForPhoneState(c, "lobby");
      await expect.poll(() => banner(c, `${alice} is busy`).isVisible(), POLL).toBe(true);
      await expect(a.evaluate(() => document.querySelector("webrtc-phone")?.state)).resolves.toBe("in_call");
      await expect(b.evaluate(() => document.querySelector("webrtc-phone")?.state)).resolves.toBe("in_call");
      await expect(connectionsDecodingVideo(a)).resolves.toBe(1);
    }, TEST_TIMEOUT_MS);
  });

  describe("failure cases", () => {
    test("a second tab of the same browser signing in with a name already online takes it over (its reclaim key is in localStorage): the first tab says it was signed in elsewhere", async () => {
      const name = freshName("Twice");
      const [first] = await signedIn(server, name);
      if (!first) {
        throw new Error("page not opened");
      }
      const second = await first.context().newPage();
      second.on("pageerror", (error) => pageErrors.push(`${error.name}: ${error.message}`));
      pages.push(second);
      await signIn(second, baseUrlOf(server), name);
      await waitForPhoneState(first, "failed");
      await expect(first.getByRole("alert").textContent()).resolves.toContain("signed in with this name");
      await expect(second.evaluate(() => document.querySelector("webrtc-phone")?.state)).resolves.toBe("lobby");
    }, TEST_TIMEOUT_MS);

    test("another browser signing in with a name already online is refused: it says the user is signed in elsewhere, and the first stays in the lobby", async () => {
      const name = freshName("Taken");
      const [first] = await signedIn(server, name);
      const stranger = await newPage();
      if (!first) {
        throw new Error("page not opened");
      }
      await stranger.goto(`${baseUrlOf(server)}/call`);
      await stranger.getByLabel("Your name").fill(name);
      await stranger.getByRole("button", { name: "Sign in" }).click();
      await waitForPhoneState(stranger, "failed");
      await expect(stranger.locator("webrtc-phone h2").textContent()).resolves.toBe("This user is signed in elsewhere");
      await expect(first.evaluate(() => document.querySelector("webrtc-phone")?.state)).resolves.toBe("lobby");
    }, TEST_TIMEOUT_MS);
  });
});
