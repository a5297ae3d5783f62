/**
 * Who is speaking, in a real mesh (@roamhq/wrtc peers over the real server): one peer sends a
 * 440 Hz tone, another silence; a third (and the silent one) read their levels from `getStats()`
 * and name the tone's sender the active speaker.
 */
import { afterAll, afterEach, beforeAll, describe, expect, test } from "vitest";
import type { RunningServer } from "../../server/server.ts";
import { HeadlessPeer } from "../../client/headless/peers.ts";
import { SPEAKING_LEVEL, type PeerAudioLevel } from "../../client/core/index.ts";
import { idOf, isFullMesh, leaveAll, startTestServer, waitFor } from "./helpers.ts";

let server: RunningServer;
const opened: HeadlessPeer[] = [];

beforeAll(async () => {
  server = await startTestServer();
});

afterEach(async () => {
  await leaveAll(opened.splice(0));
});

afterAll(async () => {
  await server.close();
});

/** Joins one headless peer into "speak" and keeps it for cleanup. */
async function join(username: string, audio: "tone" | "silence" | undefined): Promise<HeadlessPeer> {
  const peer = new HeadlessPeer({ url: server.wsUrl, room: "speak", username, audioLevelIntervalMs: 250, ...(audio ? { audio } : {}) });
  opened.push(peer);
  await peer.join();
  return peer;
}

describe("active speaker in a mesh, happy path", () => {
  test("the peer sending a tone is the active speaker for a listener and for the silent peer; levels tell the tone from silence", async () => {
    const speaker = await join("speaker", "tone");
    const silent = await join("silent", "silence");
    const listener = await join("listener", undefined);
    await waitFor("all 3 pairs connected", () => isFullMesh([speaker, silent, listener]));

    const activeSpeakers: Array<string | undefined> = [];
    let lastLevels: PeerAudioLevel[] = [];
    listener.session.on("active-speaker", ({ peerId }) => activeSpeakers.push(peerId));
    listener.session.on("levels", ({ levels }) => {
      lastLevels = levels;
    });

    await waitFor("the listener names the speaker active", () => listener.session.activeSpeakerId === idOf(speaker));
    await waitFor("the silent peer names the speaker active", () => silent.session.activeSpeakerId === idOf(speaker));
    expect(activeSpeakers).toEqual([idOf(speaker)]);

    await waitFor("levels for both senders", () => lastLevels.length === 2);
    const levelOf = (peer: HeadlessPeer) => lastLevels.find((entry) => entry.peerId === idOf(peer));
    expect(levelOf(speaker)?.speaking).toBe(true);
    expect(levelOf(speaker)?.level).toBeGreaterThan(SPEAKING_LEVEL);
    expect(levelOf(silent)?.speaking).toBe(false);
    expect(levelOf(silent)?.level).toBeLessThan(SPEAKING_LEVEL);
    // The speaker hears no one speak.
    expect(speaker.session.activeSpeakerId).toBeUndefined();
  });

  test("the active speaker goes when it leaves", async () => {
    const speaker = await join("speaker", "tone");
    const listener = await join("listener", undefined);
    await waitFor("the listener names the speaker active", () => listener.session.activeSpeakerId === idOf(speaker));
    const changes: Array<{ peerId: string | undefined; previousId: string | undefined }> = [];
    listener.session.on("active-speaker", (change) => changes.push(change));

    speaker.leave();
    await waitFor("no active speaker once it left", () => listener.session.activeSpeakerId === undefined);
    expect(changes).toEqual([{ peerId: undefined, previousId: idOf(speaker) }]);
  });
});
