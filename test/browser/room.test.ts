/**
 * `<webrtc-room>` in real Chromium against the real server: the join page, the embed example,
 * media toggles seen by the others, leave and rejoin, a denied camera and an unreachable server;
 * against a token-mode server: joining with a join token (property or attribute), the "not allowed
 * to join" panel without a valid one (the camera never asked for), a viewer without camera and
 * microphone controls, and the invitation page at `/r/<room>`; a room whose host (a headless
 * RoomSession, the first participant in open mode) set a password: the password field, a wrong
 * password, the right one. Point 8 of issue 13: a denied camera tried again from its button
 * without a rejoin, a rename that keeps the microphone and camera off and never passes through
 * `idle`, an invalid room name explained in words without a connection, the first
 * `connection-state` heard by the page's own script, the copied link on the page's host name.
 * Video is Chromium's fake camera; "decodes video" means `inbound-rtp` `framesDecoded > 0`.
 */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import type { Browser, Page } from "playwright-core";
import { afterAll, afterEach, beforeAll, describe, expect, test } from "vitest";
import { buildBundle } from "../../scripts/build.ts";
import type { RoomErrorEvent } from "../../client/elements/index.ts";
import { startServer, type RunningServer } from "../../server/server.ts";
import { mintToken, type JoinGrants } from "../../server/tokens.ts";
import { HeadlessPeer, settleWebRtc } from "../../client/headless/peers.ts";
import {
  CHROMIUM_INSTALL,
  CHROMIUM_PATH,
  connectionsDecodingVideo,
  joinRoomPage,
  launchChromium,
  openPage,
  unblockCamera,
  waitForRoomState,
  type OpenPageOptions,
} from "../support/chromium.ts";
import { requireBinary } from "../support/system-binary.ts";
import { LOOPBACK_TEST_LIMITS } from "../support/loopback-limits.ts";

const hasChromium = requireBinary("chromium", CHROMIUM_PATH, CHROMIUM_INSTALL);

/** Generous bounds: three Chromium pages encoding and decoding video share two CPU cores. */
const DEADLINE_MS = 90_000;
const TEST_TIMEOUT_MS = 240_000;
const POLL = { timeout: DEADLINE_MS, interval: 250 };

const remoteTiles = (page: Page) => page.locator('[part~="tile-remote"]');
const remoteTile = (page: Page, name: string) => remoteTiles(page).filter({ hasText: name });
const control = (page: Page, name: "audio" | "video" | "leave") => page.locator(`[data-control="${name}"]`);

/** Runs in a page before its scripts: counts `getUserMedia` calls in `window.__getUserMediaCalls`. */
function countGetUserMedia(): void {
  const devices = navigator.mediaDevices;
  const getUserMedia = devices.getUserMedia.bind(devices);
  const counter = { calls: 0 };
  Object.defineProperty(window, "__getUserMediaCalls", { get: () => counter.calls });
  devices.getUserMedia = (constraints) => {
    counter.calls += 1;
    return getUserMedia(constraints);
  };
}

/** How many times the page called `getUserMedia`. */
const getUserMediaCalls = (page: Page): Promise<number> => page.evaluate(() => (window as unknown as { __getUserMediaCalls: number }).__getUserMediaCalls);

/** Opens the embed example, types `name` and joins; resolves once the element is in the room. */
async function joinEmbedExample(page: Page, baseUrl: string, name: string): Promise<void> {
  await page.goto(`${baseUrl}/embed-example.html`);
  await page.locator("#name").fill(name);
  await page.getByRole("button", { name: "Join" }).click();
  await waitForRoomState(page, "joined");
}

/** Every `connection-state` the page's `<webrtc-room>` fired since {@link recordStates} started, as `previous→state`. */
const recordedStates = (page: Page): Promise<string[]> => page.evaluate(() => (window as unknown as { __states: string[] }).__states);

/** How `<webrtc-room>` gets its join token from the host page. */
type TokenDelivery = { via: "property" | "attribute"; token: string } | undefined;

/**
 * Loads the bundle into `page` (already on the server's origin) and mounts `<webrtc-room>` for
 * `room` as `name`, handing it `delivery`'s token the way a host page would.
 */
async function mountRoom(page: Page, room: string, name: string, delivery: TokenDelivery): Promise<void> {
  await page.addScriptTag({ url: "/assets/webrtc-room.js", type: "module" });
  await page.evaluate(
    async ({ room, name, delivery }) => {
      await customElements.whenDefined("webrtc-room");
      const element = document.createElement("webrtc-room");
      element.setAttribute("room", room);
      element.setAttribute("name", name);
      if (delivery?.via === "attribute") {
        element.setAttribute("token", delivery.token);
      } else if (delivery?.via === "property") {
        element.token = delivery.token;
      }
      element.style.height = "600px";
      document.body.replaceChildren(element);
    },
    { room, name, delivery },
  );
}

describe.skipIf(!hasChromium)("<webrtc-room> in Chromium", () => {
  let server: RunningServer;
  let browser: Browser;
  let baseUrl: string;
  const pages: Page[] = [];
  const pageErrors: string[] = [];

  /** A page in its own context; its uncaught errors and unhandled rejections fail the test. */
  async function newPage(options: OpenPageOptions = {}): Promise<Page> {
    const page = await openPage(browser, options);
    page.on("pageerror", (error) => pageErrors.push(`${error.name}: ${error.message}`));
    pages.push(page);
    return page;
  }

  beforeAll(async () => {
    await buildBundle();
    server = await startServer({ ...LOOPBACK_TEST_LIMITS, host: "127.0.0.1", port: 0, iceServers: [] });
    browser = await launchChromium();
    // `localhost`, not 127.0.0.1: only a secure context may call getUserMedia.
    baseUrl = `http://localhost:${server.port}`;
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
  });

  describe("happy path", () => {
    test("three pages in one room each decode video from both others and show two remote tiles; when one closes the other two show one", async () => {
      const names = ["Ada", "Grace", "Linus"];
      const [ada, grace, linus] = await Promise.all(names.map(() => newPage()));
      if (!ada || !grace || !linus) {
        throw new Error("pages not opened");
      }
      for (const [index, page] of [ada, grace, linus].entries()) {
        await joinRoomPage(page, baseUrl, "three", names[index] ?? "");
      }

      for (const [index, page] of [ada, grace, linus].entries()) {
        await expect.poll(() => connectionsDecodingVideo(page), POLL).toBe(2);
        await expect.poll(() => remoteTiles(page).count(), POLL).toBe(2);
        for (const other of names.filter((_, otherIndex) => otherIndex !== index)) {
          await expect.poll(() => remoteTile(page, other).getAttribute("data-state"), POLL).toBe("connected");
          await expect.poll(() => remoteTile(page, other).getAttribute("data-video"), POLL).toBe("on");
        }
      }

      await linus.close();
      for (const page of [ada, grace]) {
        await expect.poll(() => remoteTiles(page).count(), POLL).toBe(1);
      }
      await expect(remoteTiles(ada).textContent()).resolves.toContain("Grace");
      await expect(remoteTiles(grace).textContent()).resolves.toContain("Ada");
    }, TEST_TIMEOUT_MS);

    test("turning the camera and microphone off on one page shows both states on the other's tile", async () => {
      const ada = await newPage();
      const grace = await newPage();
      await joinRoomPage(ada, baseUrl, "mute", "Ada");
      await joinRoomPage(grace, baseUrl, "mute", "Grace");
      const adaOnGrace = remoteTile(grace, "Ada");
      await expect.poll(() => adaOnGrace.getAttribute("data-video"), POLL).toBe("on");

      await control(ada, "video").click();
      await expect.poll(() => adaOnGrace.getAttribute("data-video"), POLL).toBe("off");
      await expect(adaOnGrace.locator('[part="avatar"]').isVisible()).resolves.toBe(true);
      await expect(control(ada, "video").getAttribute("aria-pressed")).resolves.toBe("true");

      await control(ada, "audio").click();
      await expect.poll(() => adaOnGrace.getAttribute("data-audio"), POLL).toBe("off");
      await expect(adaOnGrace.locator('[part="muted-icon"]').isVisible()).resolves.toBe(true);

      await control(ada, "video").click();
      await control(ada, "audio").click();
      await expect.poll(() => adaOnGrace.getAttribute("data-video"), POLL).toBe("on");
      await expect.poll(() => adaOnGrace.getAttribute("data-audio"), POLL).toBe("on");
    }, TEST_TIMEOUT_MS);

    test("a page that leaves disappears from the other and, after rejoin, both decode each other's video again", async () => {
      const ada = await newPage();
      const grace = await newPage();
      await joinRoomPage(ada, baseUrl, "rejoin", "Ada");
      await joinRoomPage(grace, baseUrl, "rejoin", "Grace");
      await expect.poll(() => connectionsDecodingVideo(grace), POLL).toBe(1);

      await control(ada, "leave").click();
      await waitForRoomState(ada, "left");
      await expect(ada.getByRole("heading", { name: "You left the room" }).isVisible()).resolves.toBe(true);
      await expect.poll(() => remoteTiles(grace).count(), POLL).toBe(0);

      await ada.getByRole("button", { name: "Rejoin" }).click();
      await waitForRoomState(ada, "joined");
      for (const page of [ada, grace]) {
        await expect.poll(() => remoteTiles(page).count(), POLL).toBe(1);
        await expect.poll(() => connectionsDecodingVideo(page), POLL).toBe(1);
      }
    }, TEST_TIMEOUT_MS);

    test("the join page remembers the name typed last and copies the room's link", async () => {
      const page = await newPage();
      await page.context().grantPermissions(["clipboard-read", "clipboard-write"], { origin: baseUrl });
      await joinRoomPage(page, baseUrl, "remember", "Ada");

      await page.goto(`${baseUrl}/r/remember`);
      await expect(page.locator("#name").inputValue()).resolves.toBe("Ada");
      await page.getByRole("button", { name: "Copy link" }).click();
      await expect.poll(() => page.locator("#copy-link").textContent(), POLL).toBe("Link copied");
      await expect(page.evaluate(() => navigator.clipboard.readText())).resolves.toBe(`${baseUrl}/r/remember`);
    }, TEST_TIMEOUT_MS);

    test("the copied link carries the host name the page was opened with, not localhost", async () => {
      const page = await newPage();
      const otherHost = `http://127.0.0.1:${server.port}`;
      await page.context().grantPermissions(["clipboard-read", "clipboard-write"], { origin: otherHost });
      await page.goto(`${otherHost}/r/hosts`);
      await page.getByRole("button", { name: "Copy link" }).click();
      await expect.poll(() => page.locator("#copy-link").textContent(), POLL).toBe("Link copied");
      await expect(page.evaluate(() => navigator.clipboard.readText())).resolves.toBe(`${otherHost}/r/hosts`);
    }, TEST_TIMEOUT_MS);

    test("renaming in the room rejoins under the new name with the microphone and camera still off, straight from joined to joining", async () => {
      const ada = await newPage();
      const grace = await newPage();
      await joinRoomPage(ada, baseUrl, "rename", "Ada");
      await joinRoomPage(grace, baseUrl, "rename", "Grace");
      await control(ada, "audio").click();
      await control(ada, "video").click();
      await expect.poll(() => remoteTile(grace, "Ada").getAttribute("data-audio"), POLL).toBe("off");
      await ada.evaluate(() => {
        const room = document.querySelector("webrtc-room");
        const states: string[] = [];
        Object.defineProperty(window, "__states", { value: states });
        room?.addEventListener("connection-state", ({ detail }) => states.push(`${detail.previous}→${detail.state}`));
        room?.setAttribute("name", "Ada L.");
      });
      await expect.poll(() => remoteTile(grace, "Ada L.").count(), POLL).toBe(1);
      await waitForRoomState(ada, "joined");
      await expect(recordedStates(ada)).resolves.toEqual(["joined→joining", "joining→joined"]);
      await expect.poll(() => control(ada, "audio").getAttribute("aria-pressed"), POLL).toBe("true");
      await expect(control(ada, "video").getAttribute("aria-pressed")).resolves.toBe("true");
      await expect.poll(() => remoteTile(grace, "Ada L.").getAttribute("data-audio"), POLL).toBe("off");
      await expect.poll(() => remoteTile(grace, "Ada L.").getAttribute("data-video"), POLL).toBe("off");
    }, TEST_TIMEOUT_MS);

    test("Rejoin after leaving goes from left straight to joining", async () => {
      const page = await newPage();
      await joinRoomPage(page, baseUrl, "phases", "Ada");
      await page.evaluate(() => {
        const states: string[] = [];
        Object.defineProperty(window, "__states", { value: states });
        document.querySelector("webrtc-room")?.addEventListener("connection-state", ({ detail }) => states.push(`${detail.previous}→${detail.state}`));
      });
      await control(page, "leave").click();
      await page.getByRole("button", { name: "Rejoin" }).click();
      await waitForRoomState(page, "joined");
      await expect(recordedStates(page)).resolves.toEqual(["joined→left", "left→joining", "joining→joined"]);
    }, TEST_TIMEOUT_MS);

    test("a page script hears the first connection-state, whether the element is in the parsed page or created by the script", async () => {
      // A page of another origin, as an embedder's: the bundle's module defines the element while
      // the page is parsed, and the page's own module script listens after it.
      const embedder = createServer((_request, response) => {
        response.writeHead(200, { "content-type": "text/html; charset=utf-8" });
        response.end(`<!doctype html>
          <script type="module" src="${baseUrl}/assets/webrtc-room.js"></script>
          <webrtc-room server="${baseUrl}" room="first-event" name="Ada"></webrtc-room>
          <script type="module">
            window.__states = [];
            document.querySelector("webrtc-room").addEventListener("connection-state", ({ detail }) => window.__states.push(detail.previous + "→" + detail.state));
          </script>`);
      });
      await new Promise<void>((resolve) => embedder.listen(0, "127.0.0.1", resolve));
      const page = await newPage();
      try {
        await page.goto(`http://localhost:${(embedder.address() as AddressInfo).port}/`);
        await waitForRoomState(page, "joined");
      } finally {
        await new Promise((resolve) => embedder.close(resolve));
      }
      await expect(recordedStates(page)).resolves.toEqual(["idle→joining", "joining→joined"]);

      const states = await page.evaluate(() => new Promise<string[]>((resolve) => {
        const seen: string[] = [];
        const room = document.createElement("webrtc-room");
        room.setAttribute("server", document.querySelector("webrtc-room")?.getAttribute("server") ?? "");
        room.setAttribute("room", "first-event");
        room.setAttribute("name", "Grace");
        document.body.append(room);
        // Listening only after appending: the element has not started yet.
        room.addEventListener("connection-state", ({ detail }) => {
          seen.push(`${detail.previous}→${detail.state}`);
          if (detail.state === "joined" || detail.state === "failed") {
            resolve(seen);
          }
        });
      }));
      expect(states).toEqual(["idle→joining", "joining→joined"]);
    }, TEST_TIMEOUT_MS);

    test("two pages on the embed example join each other, decode video and log the element's events", async () => {
      const first = await newPage();
      const second = await newPage();
      for (const [index, page] of [first, second].entries()) {
        await page.addInitScript(countGetUserMedia);
        await page.goto(`${baseUrl}/embed-example.html`);
        // Nothing happens before the visitor chose a name and pressed Join.
        await expect(page.locator("webrtc-room").count()).resolves.toBe(0);
        await expect(getUserMediaCalls(page)).resolves.toBe(0);
        await page.locator("#name").fill(index === 0 ? "Ada" : "Grace");
        await page.getByRole("button", { name: "Join" }).click();
        await waitForRoomState(page, "joined");
      }
      await expect.poll(() => remoteTiles(first).textContent(), POLL).toContain("Grace");
      for (const page of [first, second]) {
        await expect.poll(() => remoteTiles(page).count(), POLL).toBe(1);
        await expect.poll(() => connectionsDecodingVideo(page), POLL).toBe(1);
      }
      await expect(first.locator("#events").textContent()).resolves.toContain("peer-joined");
    }, TEST_TIMEOUT_MS);
  });

  describe("a room with a password", () => {
    const PASSWORD = "open sesame";
    const passwordField = (page: Page) => page.getByLabel("Password");

    /** Types `password` into the page's password panel and sends it. */
    async function submitPassword(page: Page, password: string): Promise<void> {
      await passwordField(page).fill(password);
      await page.getByRole("button", { name: "Join again with password" }).click();
    }

    /** Opens the join page of `room` as `name` and waits for the password panel. */
    async function askedForPassword(room: string, name: string): Promise<Page> {
      const page = await newPage();
      await page.goto(`${baseUrl}/r/${room}`);
      await page.locator("#name").fill(name);
      await page.getByRole("button", { name: "Join room" }).click();
      await waitForRoomState(page, "failed");
      await expect(page.getByRole("heading", { name: "This room has a password" }).isVisible()).resolves.toBe(true);
      return page;
    }

    test("a second <webrtc-room> asks for the password the host set, refuses a wrong one, joins with the right one and decodes video", async () => {
      const room = "guarded";
      // The first participant of a new room hosts it (open mode); it sets the password and leaves
      // once Ada is in, which hands the room (and its password) over to her.
      const host = new HeadlessPeer({ url: `ws://127.0.0.1:${server.port}/ws`, room, username: "Hal" });
      let ada: Page;
      try {
        await host.join();
        expect(host.session.grants?.host).toBe(true);
        const passwordSet = new Promise<void>((resolve) => {
          host.session.on("room-state", ({ roomState }) => roomState.passwordSet && resolve());
        });
        host.session.setRoomPassword(PASSWORD);
        await passwordSet;

        ada = await askedForPassword(room, "Ada");
        await submitPassword(ada, "open sesame?");
        await ada.getByRole("heading", { name: "Wrong password" }).waitFor({ timeout: DEADLINE_MS });
        await expect(ada.locator('[part="panel"]').getAttribute("data-reason")).resolves.toBe("wrong_password");
        await submitPassword(ada, PASSWORD);
        await waitForRoomState(ada, "joined");
      } finally {
        host.leave();
        await settleWebRtc();
      }

      const grace = await askedForPassword(room, "Grace");
      await submitPassword(grace, PASSWORD);
      await waitForRoomState(grace, "joined");
      for (const [page, other] of [[ada, "Grace"], [grace, "Ada"]] as const) {
        await expect.poll(() => remoteTiles(page).count(), POLL).toBe(1);
        await expect(remoteTiles(page).textContent()).resolves.toContain(other);
        await expect.poll(() => connectionsDecodingVideo(page), POLL).toBe(1);
      }
    }, TEST_TIMEOUT_MS);
  });

  describe("token mode", () => {
    const SECRET = "browser-test-secret-of-at-least-32-bytes";
    const PUBLISHER: Partial<JoinGrants> = { publish: true, data: true };
    let tokenServer: RunningServer;
    let tokenBase: string;

    beforeAll(async () => {
      tokenServer = await startServer({ ...LOOPBACK_TEST_LIMITS, host: "127.0.0.1", port: 0, iceServers: [], auth: "token", authSecret: SECRET });
      tokenBase = `http://localhost:${tokenServer.port}`;
    }, TEST_TIMEOUT_MS);

    afterAll(async () => {
      await tokenServer?.close();
    });

    /** A page on the token-mode server's origin that counts its `getUserMedia` calls. */
    async function tokenPage(): Promise<Page> {
      const page = await newPage();
      await page.addInitScript(countGetUserMedia);
      // The invitation page: same origin (a secure context on localhost), no script of its own.
      await page.goto(`${tokenBase}/r/lobby`);
      return page;
    }

    function joinToken(room: string, name: string, grants: Partial<JoinGrants>, ttlSeconds = 600): Promise<string> {
      return mintToken({ kind: "join", userId: name.toLowerCase(), room, name, grants }, SECRET, ttlSeconds);
    }

    test("<webrtc-room> given a join token by property or by attribute joins and decodes the other's video", async () => {
      const ada = await tokenPage();
      const grace = await tokenPage();
      await mountRoom(ada, "invited", "Ada", { via: "property", token: await joinToken("invited", "Ada", PUBLISHER) });
      await waitForRoomState(ada, "joined");
      await mountRoom(grace, "invited", "Grace", { via: "attribute", token: await joinToken("invited", "Grace", PUBLISHER) });
      await waitForRoomState(grace, "joined");
      for (const page of [ada, grace]) {
        await expect.poll(() => connectionsDecodingVideo(page), POLL).toBe(1);
        await expect.poll(() => remoteTiles(page).count(), POLL).toBe(1);
        await expect(control(page, "video").count()).resolves.toBe(1);
        await expect(getUserMediaCalls(page)).resolves.toBeGreaterThan(0);
      }
      // The name is the token's, whatever the attribute says.
      await expect(remoteTiles(ada).textContent()).resolves.toContain("Grace");
    }, TEST_TIMEOUT_MS);

    test("without a token, or with an expired one, <webrtc-room> shows why it is not allowed to join and never asks for the camera", async () => {
      const missing = await tokenPage();
      const expired = await tokenPage();
      await mountRoom(missing, "invited-only", "Mallory", undefined);
      await mountRoom(expired, "invited-only", "Late", { via: "property", token: await joinToken("invited-only", "Late", PUBLISHER, -60) });
      for (const page of [missing, expired]) {
        await waitForRoomState(page, "failed");
        await expect(page.getByRole("heading", { name: "You are not allowed to join" }).isVisible()).resolves.toBe(true);
        await expect(page.locator('[part="panel"]').getAttribute("data-reason")).resolves.toBe("not_allowed");
        await expect(getUserMediaCalls(page)).resolves.toBe(0);
      }
      await expect(missing.locator('[part="panel"]').textContent()).resolves.toContain("by invitation only");
      await expect(expired.locator('[part="panel"]').textContent()).resolves.toContain("expired. Ask for a new link");
    }, TEST_TIMEOUT_MS);

    test("a viewer token joins without camera or microphone controls, never asks for the camera, and decodes the publisher's video", async () => {
      const ada = await tokenPage();
      const viewer = await tokenPage();
      await mountRoom(ada, "watched", "Ada", { via: "property", token: await joinToken("watched", "Ada", PUBLISHER) });
      await waitForRoomState(ada, "joined");
      await mountRoom(viewer, "watched", "Viewer", { via: "property", token: await joinToken("watched", "Viewer", {}) });
      await waitForRoomState(viewer, "joined");

      await expect.poll(() => connectionsDecodingVideo(viewer), POLL).toBe(1);
      await expect.poll(() => remoteTile(viewer, "Ada").getAttribute("data-video"), POLL).toBe("on");
      await expect(control(viewer, "audio").count()).resolves.toBe(0);
      await expect(control(viewer, "video").count()).resolves.toBe(0);
      await expect(control(viewer, "leave").isVisible()).resolves.toBe(true);
      await expect(getUserMediaCalls(viewer)).resolves.toBe(0);
      // The publisher shows the viewer, with neither camera nor microphone.
      await expect.poll(() => remoteTile(ada, "Viewer").getAttribute("data-state"), POLL).toBe("connected");
      await expect.poll(() => remoteTile(ada, "Viewer").getAttribute("data-video"), POLL).toBe("off");
      await expect(connectionsDecodingVideo(ada)).resolves.toBe(0);
    }, TEST_TIMEOUT_MS);

    test("/r/<room> explains that the room needs an invitation and shows no join form", async () => {
      const page = await newPage();
      await page.addInitScript(countGetUserMedia);
      await page.goto(`${tokenBase}/r/standup`);
      await expect(page.getByRole("heading", { name: "This room needs an invitation" }).isVisible()).resolves.toBe(true);
      await expect(page.locator("#invitation-needed").textContent()).resolves.toContain("application that hosts");
      await expect(page.locator("webrtc-room, form").count()).resolves.toBe(0);
      await expect(getUserMediaCalls(page)).resolves.toBe(0);
    }, TEST_TIMEOUT_MS);
  });

  describe("failure cases", () => {
    test("a page whose camera is denied joins anyway, says so, and decodes the others' video", async () => {
      const ada = await newPage();
      const grace = await newPage();
      const blocked = await newPage({ denyCamera: true });
      await joinRoomPage(ada, baseUrl, "denied", "Ada");
      await joinRoomPage(grace, baseUrl, "denied", "Grace");
      await joinRoomPage(blocked, baseUrl, "denied", "Blocked");

      await expect(blocked.locator('[part="notice"]').textContent()).resolves.toContain("Camera unavailable (access blocked)");
      await expect(control(blocked, "video").isDisabled()).resolves.toBe(false);
      await expect(control(blocked, "video").getAttribute("aria-label")).resolves.toBe("Try the camera again");
      await expect.poll(() => connectionsDecodingVideo(blocked), POLL).toBe(2);
      await expect.poll(() => remoteTiles(blocked).count(), POLL).toBe(2);
      for (const name of ["Ada", "Grace"]) {
        // Their cameras reach the page that joined without one through a later renegotiation.
        await expect.poll(() => remoteTile(blocked, name).getAttribute("data-video"), POLL).toBe("on");
      }
      for (const page of [ada, grace]) {
        await expect.poll(() => remoteTile(page, "Blocked").getAttribute("data-state"), POLL).toBe("connected");
        await expect.poll(() => remoteTile(page, "Blocked").getAttribute("data-video"), POLL).toBe("off");
      }

      // Still blocked: the retry says so again and stays available.
      await control(blocked, "video").click();
      await expect.poll(() => blocked.locator('[part="notice"]').count(), POLL).toBe(1);
      await expect(control(blocked, "video").isDisabled()).resolves.toBe(false);
      // Unblocked in the site settings: one click publishes the camera, no rejoin.
      await unblockCamera(blocked);
      await control(blocked, "video").click();
      await expect.poll(() => control(blocked, "video").getAttribute("aria-pressed"), POLL).toBe("false");
      await expect(blocked.locator('[part="notice"]').count()).resolves.toBe(0);
      await expect(waitForRoomState(blocked, "joined")).resolves.toBeUndefined();
      for (const page of [ada, grace]) {
        await expect.poll(() => remoteTile(page, "Blocked").getAttribute("data-video"), POLL).toBe("on");
        await expect.poll(() => connectionsDecodingVideo(page), POLL).toBe(2);
      }
    }, TEST_TIMEOUT_MS);

    test("an invalid room name is explained in words, with no pattern shown and no connection made", async () => {
      const page = await newPage();
      const sockets: string[] = [];
      page.on("websocket", (socket) => sockets.push(socket.url()));
      await page.goto(`${baseUrl}/embed-example.html`);
      const code = await page.evaluate(() => new Promise<string>((resolve) => {
        const room = document.createElement("webrtc-room");
        room.setAttribute("room", "no spaces please");
        room.setAttribute("name", "Ada");
        room.addEventListener("error", (event) => resolve((event as unknown as RoomErrorEvent).detail.code));
        document.body.replaceChildren(room);
      }));
      expect(code).toBe("invalid_room");
      await waitForRoomState(page, "failed");
      await expect(page.getByRole("heading", { name: "This room name cannot be used" }).isVisible()).resolves.toBe(true);
      const panel = await page.locator('[part="panel"]').textContent();
      expect(panel).toContain("letters, digits");
      expect(panel).not.toMatch(/[[\]{}^$]/);
      expect(sockets).toEqual([]);
    }, TEST_TIMEOUT_MS);

    test("an embedded <webrtc-room> refused with room_full says the room is full and never asks for the camera", async () => {
      const small = await startServer({ ...LOOPBACK_TEST_LIMITS, host: "127.0.0.1", port: 0, iceServers: [], roomCapacity: 1 });
      try {
        const smallBase = `http://localhost:${small.port}`;
        const ada = await newPage();
        const late = await newPage();
        await late.addInitScript(countGetUserMedia);
        await joinRoomPage(ada, smallBase, "single", "Ada");
        // Embedded without `prejoin` (the /r/<room> page opens the camera for its preview first).
        await late.goto(`${smallBase}/embed-example.html`);
        await late.evaluate(() => {
          const room = document.createElement("webrtc-room");
          room.setAttribute("room", "single");
          room.setAttribute("name", "Late");
          document.body.replaceChildren(room);
        });
        await waitForRoomState(late, "failed");
        await expect(late.getByRole("heading", { name: "This room is full" }).isVisible()).resolves.toBe(true);
        await expect(getUserMediaCalls(late)).resolves.toBe(0);
      } finally {
        await small.close();
      }
    }, TEST_TIMEOUT_MS);

    test("an unreachable server ends in a 'Cannot reach the server' panel and a signaling_unreachable error event", async () => {
      const page = await newPage();
      await joinEmbedExample(page, baseUrl, "Ada");
      const code = await page.evaluate(() => new Promise<string>((resolve) => {
        const room = document.querySelector("webrtc-room");
        if (!room) {
          throw new Error("no <webrtc-room> on the page");
        }
        room.addEventListener("error", (event) => {
          // `error` is the browser's ErrorEvent in the global event map; the element's is a RoomErrorEvent.
          const { code } = (event as unknown as RoomErrorEvent).detail;
          if (code !== "media_unavailable") {
            resolve(code);
          }
        });
        // Port 1 on loopback refuses connections at once.
        room.server = "http://localhost:1";
      }));
      expect(code).toBe("signaling_unreachable");
      await waitForRoomState(page, "failed");
      await expect(page.getByRole("heading", { name: "Cannot reach the server" }).isVisible()).resolves.toBe(true);
      await expect(page.getByRole("button", { name: "Try again" }).isVisible()).resolves.toBe(true);
    }, TEST_TIMEOUT_MS);
  });
});
