/**
 * The uplink budget in a real mesh (@roamhq/wrtc peers over the real server): every sender divides
 * the budget the server announces among its peers, re-fits when peers leave, and fits a hinted
 * peer's stream to its tile, while every directed pair keeps receiving frames.
 *
 * @roamhq/wrtc refuses `setParameters` once a connection is negotiated (measured: InvalidStateError
 * for any change, even an unchanged `getParameters()` result), so in Node the fit is computed and
 * reported as `refused`; the bitrate it buys is measured in Chromium (test/browser/bandwidth.test.ts).
 */
import { afterAll, afterEach, beforeAll, describe, expect, test } from "vitest";
import type { RunningServer } from "../../server/server.ts";
import type { HeadlessPeer } from "../../client/headless/peers.ts";
import type { AppliedVideoFit } from "../../client/core/index.ts";
import { idOf, isFullMesh, joinPeers, leaveAll, startTestServer, waitFor } from "./helpers.ts";

/** What the test server announces: small, so that five peers get 200 kbit/s each. */
const SERVER_BUDGET_KBPS = 1_000;

let server: RunningServer;
const opened: HeadlessPeer[] = [];

beforeAll(async () => {
  server = await startTestServer({ uplinkBudgetKbps: SERVER_BUDGET_KBPS });
});

afterEach(async () => {
  await leaveAll(opened.splice(0));
});

afterAll(async () => {
  await server.close();
});

/** The kbit/s each of `peer`'s video senders got in its last fit, by receiving peer id. */
function fittedKbps(peer: HeadlessPeer): Map<string, number> {
  const fit: AppliedVideoFit | undefined = peer.session.videoFit;
  return new Map((fit?.senders ?? []).map((sender) => [sender.peerId, sender.encoding.maxBitrate / 1000]));
}

/** True when `peer`'s last fit gives each of `receivers` exactly `kbps`. */
function fittedTo(peer: HeadlessPeer, receivers: readonly HeadlessPeer[], kbps: number): boolean {
  const fitted = fittedKbps(peer);
  return fitted.size === receivers.length && receivers.every((receiver) => fitted.get(idOf(receiver)) === kbps);
}

/** Frames each directed pair has decoded so far, by "receiver<-sender". */
function framesByPair(peers: readonly HeadlessPeer[]): Map<string, number> {
  const frames = new Map<string, number>();
  for (const receiver of peers) {
    for (const sender of peers) {
      if (sender !== receiver) {
        frames.set(`${receiver.username}<-${sender.username}`, receiver.framesFrom(idOf(sender)));
      }
    }
  }
  return frames;
}

/** Waits until every directed pair among `peers` has decoded more frames than in `before`. */
async function framesRise(peers: readonly HeadlessPeer[], before: Map<string, number>): Promise<void> {
  await waitFor("frames rising on every directed pair", () =>
    [...framesByPair(peers)].every(([pair, frames]) => frames > (before.get(pair) ?? 0)));
}

describe("uplink budget in a mesh, happy path", () => {
  test("six peers divide the server's budget among five peers each, re-fit to three each when two leave, and every pair keeps decoding", async () => {
    const peers = await joinPeers(server.wsUrl, "budget", 6, { video: true });
    opened.push(...peers);
    await waitFor("all 15 pairs connected", () => isFullMesh(peers));
    await framesRise(peers, new Map());

    for (const peer of peers) {
      expect(peer.session.uplinkBudgetKbps).toBe(SERVER_BUDGET_KBPS);
    }
    await waitFor("every sender fitted 200 kbit/s to each of its 5 peers", () =>
      peers.every((peer) => fittedTo(peer, peers.filter((other) => other !== peer), SERVER_BUDGET_KBPS / 5)));
    for (const peer of peers) {
      const fit = peer.session.videoFit;
      expect(fit?.budgetKbps).toBe(SERVER_BUDGET_KBPS);
      expect(fit?.totalKbps).toBe(SERVER_BUDGET_KBPS);
      // 200 kbit/s is below the 300 kbit/s step: 320 pixels wide at 15 frames/s (a wrtc track says it is 640×480).
      expect(fit?.senders.map((sender) => sender.encoding)).toEqual(Array(5).fill({ maxBitrate: 200_000, scaleResolutionDownBy: 2, maxFramerate: 15 }));
      // Every sender exists on its connection; wrtc refuses the change, a browser applies it.
      expect(fit?.outcomes.every((outcome) => outcome === "refused" || outcome === "applied" || outcome === "unchanged")).toBe(true);
    }

    const leaving = peers.slice(4);
    const staying = peers.slice(0, 4);
    for (const peer of leaving) {
      peer.leave();
    }
    await waitFor("every remaining sender re-fitted 333 kbit/s to each of its 3 peers", () =>
      staying.every((peer) => fittedTo(peer, staying.filter((other) => other !== peer), 333)));
    for (const peer of staying) {
      expect(peer.session.videoFit?.senders.map((sender) => sender.encoding)).toEqual(Array(3).fill({ maxBitrate: 333_000, scaleResolutionDownBy: 1 }));
    }
    await framesRise(staying, framesByPair(staying));
    expect(staying.every((peer) => peer.errors.size === 0)).toBe(true);
  });

  test("a receiver's small-tile hint caps that sender's stream and gives the others more; a session's own budget wins over the server's", async () => {
    const [viewer, sender, third] = await joinPeers(server.wsUrl, "hint", 3, { video: true, uplinkBudgetKbps: 2_000 });
    if (!viewer || !sender || !third) {
      throw new Error("join failed");
    }
    opened.push(viewer, sender, third);
    await waitFor("all 3 pairs connected", () => isFullMesh([viewer, sender, third]));
    expect(sender.session.uplinkBudgetKbps).toBe(2_000);
    await waitFor("sender fitted 1000 kbit/s to each peer", () => fittedTo(sender, [viewer, third], 1_000));

    expect(viewer.session.setVideoHint(idOf(sender), { width: 320, height: 180 })).toBe(true);
    await waitFor("sender fitted the hinted stream to the tile", () => fittedKbps(sender).get(idOf(viewer)) === 150);
    expect(fittedKbps(sender).get(idOf(third))).toBe(1_500);
    const hinted = sender.session.videoFit?.senders.find((entry) => entry.peerId === idOf(viewer));
    expect(hinted?.hint).toEqual({ maxWidth: 320, maxHeight: 180 });
    // 640×480 shown in 320×180: the height decides (480 / 180).
    expect(hinted?.encoding.scaleResolutionDownBy).toBe(2.67);
  });
});
