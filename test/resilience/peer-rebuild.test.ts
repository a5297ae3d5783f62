/**
 * Peer failure: one pair's connection fails (its `RTCPeerConnection` is closed on one side, as a
 * dead network path would end it) and only that pair is rebuilt, by the side that offered first.
 */
import { afterAll, afterEach, beforeAll, describe, expect, test } from "vitest";
import type { RunningServer } from "../../server/server.ts";
import type { HeadlessPeer } from "../../client/headless/peers.ts";
import { PeerState } from "../../client/core/index.ts";
import { idOf, isFullMesh, joinPeers, leaveAll, startTestServer, waitFor } from "../mesh/helpers.ts";
import { connectionsOf, recordSession, type SessionLog } from "./helpers.ts";

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

/** Joins a, b, c in that order (so b offers to a, c offers to a and b) and waits for the mesh. */
async function threePeers(room: string): Promise<HeadlessPeer[]> {
  const peers = await joinPeers(server.wsUrl, room, 3);
  opened.push(...peers);
  await waitFor("full mesh of 3", () => isFullMesh(peers));
  return peers;
}

/** Peer-state lines of `log` that concern another remote than `username`. */
function statesOtherThan(log: SessionLog, username: string): string[] {
  return log.peerStates.filter((line) => !line.startsWith(`${username}:`));
}

describe("peer failure", () => {
  test.each([
    ["the answering side", 0, 1],
    ["the offering side", 1, 0],
  ])("a pair failed on %s is rebuilt while the other pairs keep their connections", async (_side, failingIndex, otherIndex) => {
    const peers = await threePeers(`rebuild-${failingIndex}`);
    const [a, b, c] = peers as [HeadlessPeer, HeadlessPeer, HeadlessPeer];
    const failing = peers[failingIndex] as HeadlessPeer;
    const other = peers[otherIndex] as HeadlessPeer;
    const logs = peers.map(recordSession) as [SessionLog, SessionLog, SessionLog];
    const before = peers.map(connectionsOf);
    const pairBefore = [a.session.peers.get(idOf(b))?.peerConnection, b.session.peers.get(idOf(a))?.peerConnection];

    expect(failing.session.debugFailPeer(idOf(other))).toBe(true);

    await waitFor("the a–b pair is rebuilt and connected on both sides", () => {
      const ab = a.session.peers.get(idOf(b));
      const ba = b.session.peers.get(idOf(a));
      return ab?.state === PeerState.connected && ba?.state === PeerState.connected && ab.rebuilds >= 1 && ba.rebuilds >= 1;
    });
    expect(isFullMesh(peers)).toBe(true);
    // New connections for a–b…
    expect(a.session.peers.get(idOf(b))?.peerConnection).not.toBe(pairBefore[0]);
    expect(b.session.peers.get(idOf(a))?.peerConnection).not.toBe(pairBefore[1]);
    // …the very same ones for every pair with c, which saw nothing happen.
    expect(connectionsOf(c)).toEqual(before[2]);
    expect(a.session.peers.get(idOf(c))?.peerConnection).toBe(before[0]?.get(c.username));
    expect(b.session.peers.get(idOf(c))?.peerConnection).toBe(before[1]?.get(c.username));
    expect(logs[2].peerStates).toEqual([]);
    expect(statesOtherThan(logs[0], b.username)).toEqual([]);
    expect(statesOtherThan(logs[1], a.username)).toEqual([]);
    // The pair went down and came back; nobody left the map.
    expect(logs[failingIndex]?.peerStates.at(0)).toBe(`${other.username}: connected → failed`);
    for (const log of logs) {
      expect(log.membership).toEqual([]);
      expect(log.peerStates.at(-1) ?? `${c.username}: untouched`).toMatch(/→ connected$|untouched$/);
    }
    expect(logs[failingIndex]?.errors).toContain("peer_failed");

    // The rebuilt pair carries data both ways.
    expect(a.session.send(idOf(b), "a to b")).toBe(true);
    expect(b.session.send(idOf(a), "b to a")).toBe(true);
    await waitFor("data over the rebuilt pair", () => logs[1].data.includes("rebuild-" + failingIndex + "-1: a to b") && logs[0].data.includes("rebuild-" + failingIndex + "-2: b to a"));
  });

  test("a failing pair whose remote then leaves is dropped, not rebuilt forever", async () => {
    const peers = await threePeers("rebuild-leave");
    const [a, b, c] = peers as [HeadlessPeer, HeadlessPeer, HeadlessPeer];
    const bId = idOf(b);
    c.session.debugFailPeer(bId);
    b.leave();
    await waitFor("b is gone from a and c", () => !a.session.peers.has(bId) && !c.session.peers.has(bId));
    await waitFor("a and c still connected", () => isFullMesh([a, c]));
  });
});
