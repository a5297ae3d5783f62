/**
 * Who is speaking, in Chromium: three pages run the client core (`RoomSession`, built for the page
 * here) with Chromium's fake microphone, one of them muted (`track.enabled = false`). The third
 * page, which sends no audio, names the live one the active speaker (`active-speaker` event), never
 * the muted one, and its `levels` tell them apart.
 */
import { build } from "esbuild";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { startServer, type RunningServer } from "../../server/server.ts";
import { CHROMIUM_INSTALL, CHROMIUM_PATH, launchChromium, openPage } from "../support/chromium.ts";
import { requireBinary } from "../support/system-binary.ts";
import { LOOPBACK_TEST_LIMITS } from "../support/loopback-limits.ts";

const hasChromium = requireBinary("chromium", CHROMIUM_PATH, CHROMIUM_INSTALL);

const DEADLINE_MS = 60_000;
const TEST_TIMEOUT_MS = 180_000;
const POLL = { timeout: DEADLINE_MS, interval: 250 };

/** The client core as one script that sets `window.webrtcRoomCore` (the element bundle does not expose it). */
async function coreScript(): Promise<string> {
  const result = await build({
    entryPoints: ["client/core/index.ts"],
    bundle: true,
    format: "iife",
    globalName: "webrtcRoomCore",
    platform: "browser",
    target: "es2022",
    tsconfig: "tsconfig.json",
    inject: ["scripts/shims/node-globals.js"],
    alias: { debug: "./scripts/shims/debug.cjs" },
    define: { global: "globalThis", "process.env.NODE_ENV": '"production"', "process.env.NODE_DEBUG": "undefined", "process.env.DEBUG": "undefined" },
    logLevel: "warning",
    write: false,
  });
  return result.outputFiles[0]?.text ?? "";
}

/** What a page's session saw, read by the test. */
interface SpeakingLog {
  activeSpeakers: Array<string | undefined>;
  levels: Array<{ peerId: string; level: number }>;
}

describe.skipIf(!hasChromium)("active speaker in Chromium", () => {
  let server: RunningServer;
  let browser: Browser;
  let baseUrl: string;
  let core: string;

  beforeAll(async () => {
    core = await coreScript();
    server = await startServer({ ...LOOPBACK_TEST_LIMITS, host: "127.0.0.1", port: 0, iceServers: [] });
    browser = await launchChromium();
    // `localhost`: only a secure context may call getUserMedia.
    baseUrl = `http://localhost:${server.port}`;
  }, TEST_TIMEOUT_MS);

  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  /** A page whose session joined `room`: `microphone` live, muted, or none. Resolves with its id. */
  async function joinedSession(room: string, name: string, microphone: "live" | "muted" | "none"): Promise<{ page: Page; id: string }> {
    const page = await openPage(browser);
    await page.goto(`${baseUrl}/embed-example.html`, { timeout: DEADLINE_MS });
    await page.addScriptTag({ content: core });
    const id = await page.evaluate(
      async ({ url, room, name, microphone }) => {
        type Core = typeof import("../../client/core/index.ts");
        const { RoomSession } = (window as unknown as { webrtcRoomCore: Core }).webrtcRoomCore;
        const stream = microphone === "none" ? undefined : await navigator.mediaDevices.getUserMedia({ audio: true });
        for (const track of stream?.getAudioTracks() ?? []) {
          track.enabled = microphone === "live";
        }
        const session = new RoomSession({ url, room, username: name, ...(stream ? { stream } : {}) });
        const log: SpeakingLog = { activeSpeakers: [], levels: [] };
        session.on("active-speaker", ({ peerId }) => log.activeSpeakers.push(peerId));
        // Chromium measures received audio as it plays it out: play it, as a room's tiles do.
        session.on("peer-stream", ({ stream: remote }) => {
          const audio = new Audio();
          audio.srcObject = remote;
          document.body.append(audio);
          void audio.play().catch(() => undefined);
        });
        session.on("levels", ({ levels }) => log.levels.push(...levels.map(({ peerId, level }) => ({ peerId, level }))));
        Object.assign(window, { __speaking: log, __session: session });
        return (await session.join()).id;
      },
      { url: `ws://localhost:${server.port}/ws`, room, name, microphone },
    );
    return { page, id };
  }

  /** What `page`'s session saw so far. */
  const speakingLog = (page: Page): Promise<SpeakingLog> => page.evaluate(() => (window as unknown as { __speaking: SpeakingLog }).__speaking);

  test("a third page names the live microphone the active speaker, never the muted one, and its levels tell them apart", async () => {
    const live = await joinedSession("speak", "Live", "live");
    const muted = await joinedSession("speak", "Muted", "muted");
    const listener = await joinedSession("speak", "Listener", "none");
    try {
      await expect.poll(async () => (await speakingLog(listener.page)).activeSpeakers, POLL).toContain(live.id);
      const log = await speakingLog(listener.page);
      expect(log.activeSpeakers).not.toContain(muted.id);
      const loudest = (id: string) => Math.max(0, ...log.levels.filter((entry) => entry.peerId === id).map((entry) => entry.level));
      console.log(`loudest levels seen: live ${loudest(live.id).toFixed(3)}, muted ${loudest(muted.id).toFixed(3)}`);
      expect(loudest(live.id)).toBeGreaterThan(loudest(muted.id));
    } finally {
      for (const { page } of [live, muted, listener]) {
        await page.close();
      }
    }
  }, TEST_TIMEOUT_MS);
});
