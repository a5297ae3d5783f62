/**
 * `<webrtc-room>` connection notices and chat in real Chromium against the real server.
 *
 * Connection: one page reaches the server through a TCP proxy that a test cuts (the other page
 * and a headless participant connect directly): the "Reconnecting…" banner with the grace
 * countdown, "Reconnected" after a short cut, the "You were disconnected" panel with Rejoin after
 * a cut longer than the server's (shortened) resume grace window, and a tile saying
 * "Reconnecting…" while its pair is rebuilt. How long the banner took to appear is printed, not
 * asserted. Chat: three pages, order, escaping, a clickable link, delivery to a newcomer whose
 * pair was still connecting, the size limit, the unread badge.
 */
import type { Browser, Page } from "playwright-core";
import { afterAll, afterEach, beforeAll, describe, expect, test } from "vitest";
import { buildBundle } from "../../scripts/build.ts";
import { startServer, type RunningServer } from "../../server/server.ts";
import { CHAT_MAX_CHARS } from "../../client/core/index.ts";
import { HeadlessPeer, settleWebRtc } from "../../client/headless/peers.ts";
import { CHROMIUM_INSTALL, CHROMIUM_PATH, joinRoomPage, launchChromium, openPage, waitForRoomState } from "../support/chromium.ts";
import { requireBinary } from "../support/system-binary.ts";
import { LOOPBACK_TEST_LIMITS } from "../support/loopback-limits.ts";
import { startTcpProxy, type TcpProxy } from "../support/tcp-proxy.ts";

const hasChromium = requireBinary("chromium", CHROMIUM_PATH, CHROMIUM_INSTALL);

const DEADLINE_MS = 90_000;
const TEST_TIMEOUT_MS = 240_000;
const POLL = { timeout: DEADLINE_MS, interval: 100 };

/**
 * Short, so that a cut past it keeps the test short (the default is 15 s), yet well above
 * {@link SHORT_CUT_MS} plus the reconnect backoff that follows it on a loaded machine.
 */
const RESUME_GRACE_MS = 8_000;

/** A cut the session survives: the backoff's next attempt after it lands within the grace window. */
const SHORT_CUT_MS = 1_000;

const remoteTile = (page: Page, name: string) => page.locator('[part~="tile-remote"]').filter({ hasText: name });
const reconnectedBanner = (page: Page) => page.locator('[part~="connection-notice"][data-connection="reconnected"]');
const disconnectedPanel = (page: Page) => page.locator('[part="panel"][data-reason="disconnected"]');
const chatMessages = (page: Page) => page.locator('[part="chat-messages"] li');
const connectionOf = (page: Page) => page.evaluate(() => document.querySelector("webrtc-room")?.connection);

/** Opens the chat panel of `page`. */
async function openChat(page: Page): Promise<void> {
  const toggle = page.locator('[data-control="chat"]');
  if ((await toggle.getAttribute("aria-expanded")) !== "true") {
    await toggle.click();
  }
}

/** Types `text` in the chat field of `page` and presses Enter. */
async function typeChat(page: Page, text: string): Promise<void> {
  await openChat(page);
  await page.locator('[part="chat"] textarea').fill(text);
  await page.locator('[part="chat"] textarea').press("Enter");
}

describe.skipIf(!hasChromium)("<webrtc-room> connection notices and chat in Chromium", () => {
  let server: RunningServer;
  let proxy: TcpProxy;
  let browser: Browser;
  let baseUrl: string;
  let proxiedUrl: string;
  const pages: Page[] = [];
  const headless: HeadlessPeer[] = [];
  const pageErrors: string[] = [];

  async function newPage(): Promise<Page> {
    const page = await openPage(browser);
    page.on("pageerror", (error) => pageErrors.push(`${error.name}: ${error.message}`));
    page.on("console", (message) => {
      if (message.text().startsWith("[notices-test]")) {
        console.log(message.text());
      }
    });
    pages.push(page);
    return page;
  }

  beforeAll(async () => {
    await buildBundle();
    server = await startServer({ ...LOOPBACK_TEST_LIMITS, host: "127.0.0.1", port: 0, iceServers: [], resumeGraceMs: RESUME_GRACE_MS });
    proxy = await startTcpProxy({ port: server.port });
    browser = await launchChromium();
    // `localhost`, not 127.0.0.1: only a secure context may call getUserMedia.
    baseUrl = `http://localhost:${server.port}`;
    proxiedUrl = `http://localhost:${proxy.port}`;
  }, TEST_TIMEOUT_MS);

  afterEach(async () => {
    for (const page of pages.splice(0)) {
      await page.close();
    }
    for (const peer of headless.splice(0)) {
      peer.leave();
    }
    await settleWebRtc();
    expect(pageErrors.splice(0)).toEqual([]);
  });

  afterAll(async () => {
    await browser?.close();
    await proxy?.close();
    await server?.close();
  });

  test("a cut signaling path shows Reconnecting… with the countdown, then Reconnected; past the grace window the Disconnected panel, and back in; a rebuilt pair's tile says Reconnecting…", async () => {
    const ada = await newPage();
    const grace = await newPage();
    await joinRoomPage(ada, proxiedUrl, "cut", "Ada");
    await joinRoomPage(grace, baseUrl, "cut", "Grace");
    // Every `connection-state` of Ada's element, in order.
    await ada.evaluate(() => {
      const seen: string[] = [];
      Object.defineProperty(window, "__connections", { value: seen });
      const startedAtMs = performance.now();
      document.querySelector("webrtc-room")?.addEventListener("connection-state", (event) => {
        seen.push(event.detail.connection);
        console.log(`[notices-test] Ada ${event.detail.state}/${event.detail.connection} at ${Math.round(performance.now() - startedAtMs)} ms`);
      });
    });
    const linus = new HeadlessPeer({ url: server.wsUrl, room: "cut", username: "Linus", peerRebuildDelayMs: () => 50 });
    headless.push(linus);
    await linus.join();
    await expect.poll(() => remoteTile(ada, "Grace").getAttribute("data-state"), POLL).toBe("connected");
    await expect.poll(() => remoteTile(ada, "Linus").getAttribute("data-state"), POLL).toBe("connected");

    // A pair rebuilt by Linus (he joined last, so he offers): Ada's tile for him says so meanwhile.
    await ada.evaluate(() => {
      const room = document.querySelector("webrtc-room");
      const observer = new MutationObserver(() => {
        if (room?.shadowRoot?.querySelector("[data-reconnecting]")?.textContent?.includes("Reconnecting…")) {
          Object.defineProperty(window, "__tileReconnecting", { value: true });
          observer.disconnect();
        }
      });
      if (room?.shadowRoot) {
        observer.observe(room.shadowRoot, { subtree: true, childList: true, attributes: true, characterData: true });
      }
    });
    const adaId = [...linus.session.peers.values()].find((peer) => peer.username === "Ada")?.id ?? "";
    expect(linus.session.debugFailPeer(adaId)).toBe(true);
    await expect.poll(() => ada.evaluate(() => "__tileReconnecting" in window), POLL).toBe(true);
    await expect.poll(() => remoteTile(ada, "Linus").getAttribute("data-state"), POLL).toBe("connected");

    // A cut shorter than the grace window: the banner, its countdown, then "Reconnected".
    const cutAtMs = performance.now();
    const shortCut = proxy.cut(SHORT_CUT_MS);
    // One snapshot as soon as the banner shows: its countdown, and no green dot on the own tile.
    const reconnecting = await ada.waitForFunction(() => {
      const root = document.querySelector("webrtc-room")?.shadowRoot;
      const shown = root?.querySelector('[data-connection="reconnecting"]');
      return shown ? { banner: shown.textContent?.replace(/\s+/g, " ").trim(), local: root?.querySelector('[part~="tile-local"]')?.getAttribute("data-state") } : undefined;
    }, undefined, { timeout: DEADLINE_MS }).then((handle) => handle.jsonValue());
    console.log(`[notices-test] "Reconnecting…" appeared ${Math.round(performance.now() - cutAtMs)} ms after the cut`);
    expect(reconnecting?.banner).toMatch(/^Connection lost\. Reconnecting… \d+ s left to get back in$/);
    expect(reconnecting?.local).toBe("connecting");
    await shortCut;
    await reconnectedBanner(ada).waitFor({ timeout: DEADLINE_MS });
    await expect.poll(() => connectionOf(ada), POLL).toBe("connected");
    await expect(remoteTile(grace, "Ada").count()).resolves.toBe(1);

    // A cut past the grace window: the panel, "Disconnected" in the toolbar, the others drop Ada.
    await ada.evaluate(() => console.log("[notices-test] long cut"));
    const longCut = proxy.cut(RESUME_GRACE_MS + 3_000);
    await disconnectedPanel(ada).waitFor({ timeout: DEADLINE_MS });
    await expect(ada.locator(".status").textContent()).resolves.toBe("Disconnected");
    console.log(await ada.locator('[part~="tile-local"]').evaluate((element) => element.outerHTML.slice(0, 400)), await ada.locator(".status").textContent());
    await expect(ada.locator('[part~="tile-local"]').getAttribute("data-state")).resolves.toBe("closed");
    await expect.poll(() => remoteTile(grace, "Ada").count(), POLL).toBe(0);
    await longCut;
    // The session gets back in by itself; Rejoin does it at once if it has not yet.
    const rejoin = disconnectedPanel(ada).getByRole("button", { name: "Rejoin" });
    await rejoin.click({ timeout: 1_000 }).catch(() => undefined);
    await waitForRoomState(ada, "joined");
    await expect.poll(() => connectionOf(ada), POLL).toBe("connected");
    await expect(disconnectedPanel(ada).count()).resolves.toBe(0);
    await expect.poll(() => remoteTile(grace, "Ada").getAttribute("data-state"), POLL).toBe("connected");
    await expect.poll(() => remoteTile(ada, "Grace").getAttribute("data-state"), POLL).toBe("connected");

    const connections = await ada.evaluate(() => (window as unknown as { __connections: string[] }).__connections);
    expect(connections.slice(0, 4)).toEqual(["reconnecting", "reconnected", "connected", "reconnecting"]);
    expect(connections).toContain("disconnected");
  }, TEST_TIMEOUT_MS);

  test("chat between three pages: in order, HTML shown as text, links clickable, a newcomer gets what was sent while its pair connected, the size limit refused inline", async () => {
    const [ada, grace, linus] = [await newPage(), await newPage(), await newPage()];
    await joinRoomPage(ada, baseUrl, "chat", "Ada");
    await joinRoomPage(grace, baseUrl, "chat", "Grace");
    await expect.poll(() => remoteTile(ada, "Grace").getAttribute("data-state"), POLL).toBe("connected");

    // Grace greets whoever joins, at once: the pair with the newcomer is still connecting.
    await grace.evaluate(() => {
      const room = document.querySelector("webrtc-room");
      room?.addEventListener("peer-joined", (event) => {
        const state = room.shadowRoot?.querySelector(`[data-peer-id="${CSS.escape(event.detail.peer.id)}"]`)?.getAttribute("data-state");
        console.log(`[notices-test] Grace greets ${event.detail.peer.username}; their tile is ${state ?? "not drawn yet"}`);
        room.sendChat(`Welcome, ${event.detail.peer.username}`);
      });
    });
    await joinRoomPage(linus, baseUrl, "chat", "Linus");
    await expect.poll(() => linus.locator('[data-control="chat"]').getAttribute("aria-label"), POLL).toBe("Chat, 1 unread");
    await openChat(linus);
    await expect(chatMessages(linus).first().textContent()).resolves.toMatch(/Grace.*Welcome, Linus/s);
    await expect(linus.locator('[data-control="chat"]').getAttribute("aria-label")).resolves.toBe("Chat");
    await expect.poll(() => remoteTile(linus, "Ada").getAttribute("data-state"), POLL).toBe("connected");
    await expect.poll(() => remoteTile(ada, "Linus").getAttribute("data-state"), POLL).toBe("connected");

    const texts = ["first", "<img src=x onerror=\"window.__pwned = true\"><b>not bold</b>", `see ${baseUrl}/r/chat, please`];
    for (const text of texts) {
      await typeChat(ada, text);
    }
    for (const page of [grace, linus]) {
      await openChat(page);
      const received = chatMessages(page).filter({ hasText: "Ada" });
      await expect.poll(() => received.count(), POLL).toBe(3);
      const shown = await received.locator("p").allTextContents();
      expect(shown).toEqual(texts);
      await expect(page.locator('[part="chat"] img, [part="chat"] b').count()).resolves.toBe(0);
      await expect(page.evaluate(() => "__pwned" in window)).resolves.toBe(false);
      const link = received.nth(2).locator("a");
      await expect(link.getAttribute("href")).resolves.toBe(`${baseUrl}/r/chat`);
      await expect(link.getAttribute("rel")).resolves.toBe("noopener noreferrer");
      await expect(link.getAttribute("target")).resolves.toBe("_blank");
    }
    const [opened] = await Promise.all([linus.context().waitForEvent("page"), chatMessages(linus).filter({ hasText: "see" }).locator("a").click()]);
    await opened.waitForLoadState();
    expect(opened.url()).toBe(`${baseUrl}/r/chat`);
    await opened.close();
    // Her own messages are shown to Ada as "You".
    await expect(chatMessages(ada).filter({ hasText: "You" }).count()).resolves.toBe(3);

    // Too long: refused inline, nothing sent, the text kept for shortening.
    const tooLong = "x".repeat(CHAT_MAX_CHARS + 1);
    await typeChat(ada, tooLong);
    await expect(ada.locator('[part="chat-error"]').textContent()).resolves.toContain(`at most ${CHAT_MAX_CHARS}`);
    await expect(ada.locator('[part="chat"] textarea').inputValue()).resolves.toBe(tooLong);
    await typeChat(ada, "short again");
    await expect(ada.locator('[part="chat-error"]').textContent()).resolves.toBe("");
    await expect.poll(() => chatMessages(grace).last().textContent(), POLL).toContain("short again");
    await expect(chatMessages(grace).filter({ hasText: "xxxxxxxx" }).count()).resolves.toBe(0);
    // Screen readers hear it through the one polite live region.
    await expect.poll(() => grace.locator("[data-live-region]").textContent(), POLL).toContain("Ada says: short again");
  }, TEST_TIMEOUT_MS);
});
