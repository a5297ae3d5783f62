/**
 * A full mesh over the real server and real WebRTC (@roamhq/wrtc): connectivity, data channels,
 * synthetic video, renegotiation and media state.
 */
import { afterAll, afterEach, beforeAll, describe, expect, test } from "vitest";
import type { RunningServer } from "../../server/server.ts";
import { runPeers, type HeadlessPeer } from "../../client/headless/peers.ts";
import type { MediaState } from "../../client/core/index.ts";
import { idOf, isFullMesh, joinPeers, leaveAll, startTestServer, waitFor } from "./helpers.ts";

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

describe("mesh session, happy path", () => {
  test("six peers in one room connect all 15 pairs and a data-channel message crosses each pair both ways", async () => {
    const peers = await joinPeers(server.wsUrl, "six", 6);
    opened.push(...peers);
    await waitFor("all 15 pairs connected on both sides", () => isFullMesh(peers));

    const received = new Map<string, Array<{ from: string; data: unknown }>>(peers.map((peer) => [peer.username, []]));
    for (const peer of peers) {
      peer.session.on("peer-data", ({ peer: remote, data }) => received.get(peer.username)?.push({ from: remote.username, data }));
    }
    for (const sender of peers) {
      for (const receiver of peers) {
        if (receiver !== sender) {
          expect(sender.session.send(idOf(receiver), { from: sender.username, to: receiver.username })).toBe(true);
        }
      }
    }
    await waitFor("30 directed messages delivered", () => [...received.values()].every((messages) => messages.length === 5));

    for (const receiver of peers) {
      const messages = received.get(receiver.username) ?? [];
      const senders = messages.map((message) => message.from).sort();
      expect(senders).toEqual(peers.filter((peer) => peer !== receiver).map((peer) => peer.username).sort());
      for (const message of messages) {
        expect(message.data).toEqual({ from: message.from, to: receiver.username });
      }
    }
  });

  test("in Node a connection's descriptions are the ones set on it, never read back from @roamhq/wrtc's racing getters", async () => {
    const peers = await joinPeers(server.wsUrl, "descriptions", 2);
    opened.push(...peers);
    await waitFor("the pair connected on both sides", () => isFullMesh(peers));
    const [offerer, answerer] = peers.map((peer) => [...peer.session.peers.values()][0]?.peerConnection);
    // The native getters would serialize the description with the candidates gathered since; the
    // stable ones are what was set, so no candidate line was added behind their back.
    for (const connection of [offerer, answerer]) {
      expect(connection?.localDescription?.sdp).toMatch(/^v=0/);
      expect(connection?.localDescription?.sdp).not.toMatch(/a=candidate:/);
      expect(connection?.remoteDescription?.sdp).toMatch(/^v=0/);
    }
    expect(new Set([offerer?.localDescription?.type, answerer?.localDescription?.type])).toEqual(new Set(["offer", "answer"]));
  });

  test("with synthetic video every peer receives frames from every other peer", async () => {
    const peers = await joinPeers(server.wsUrl, "video", 6, { video: true });
    opened.push(...peers);
    await waitFor("all 15 pairs connected", () => isFullMesh(peers));
    await waitFor("frames on all 30 directed pairs", () =>
      peers.every((receiver) => peers.every((sender) => sender === receiver || receiver.framesFrom(idOf(sender)) > 0)));

    for (const receiver of peers) {
      for (const remote of receiver.session.peers.values()) {
        expect(remote.stream?.getVideoTracks()).toHaveLength(1);
      }
    }
  });

  test("a newcomer without media receives the video of a member that has it (renegotiated over the data channel)", async () => {
    const [member] = await joinPeers(server.wsUrl, "reneg", 1, { video: true }, "member");
    const [newcomer] = await joinPeers(server.wsUrl, "reneg", 1, {}, "newcomer");
    if (!member || !newcomer) {
      throw new Error("join failed");
    }
    opened.push(member, newcomer);

    await waitFor("newcomer decodes frames from the member", () => newcomer.framesFrom(idOf(member)) > 0);
    expect(newcomer.session.peers.get(idOf(member))?.initiator).toBe(true);
    expect(member.session.peers.get(idOf(newcomer))?.stream).toBeUndefined();
    expect(newcomer.errors.size + member.errors.size).toBe(0);
  });

  test("announced media state reaches peers that are present and peers that join later", async () => {
    const [first] = await joinPeers(server.wsUrl, "media", 1, {}, "first");
    if (!first) {
      throw new Error("join failed");
    }
    opened.push(first);
    const muted: MediaState = { audio: false, video: true };
    first.session.setMediaState(muted);

    const [second] = await joinPeers(server.wsUrl, "media", 1, {}, "second");
    if (!second) {
      throw new Error("join failed");
    }
    opened.push(second);
    await waitFor("second learns first's media state", () => second.session.peers.get(idOf(first))?.mediaState !== undefined);
    expect(second.session.peers.get(idOf(first))?.mediaState).toEqual(muted);

    const seenByFirst: Array<{ from: string; media: MediaState }> = [];
    first.session.on("peer-media", ({ peer, media }) => seenByFirst.push({ from: peer.username, media }));
    second.session.setMediaState({ audio: true, video: false });
    await waitFor("first sees second's change", () => seenByFirst.length === 1);
    expect(seenByFirst).toEqual([{ from: "second-1", media: { audio: true, video: false } }]);
  });

  test("runPeers reports every pair, round trips in both directions and frames per directed pair", async () => {
    const report = await runPeers({ url: server.wsUrl, peers: 8, rooms: 2, video: true, ping: true, durationSeconds: 1 });

    expect(report.ok).toBe(true);
    expect(report.pairs).toEqual({ connected: 12, expected: 12 });
    expect(report.rooms.map((room) => room.peers)).toEqual([4, 4]);
    expect(report.peersFullyConnected).toBe(8);
    expect(report.joinToFullyConnectedMs?.count).toBe(8);
    expect(report.dataChannelRttMs?.failed).toBe(0);
    // At least one round: each of the 24 directed pairs pinged once.
    expect(report.dataChannelRttMs?.count).toBeGreaterThanOrEqual(24);
    expect(report.video?.directedPairs).toBe(24);
    expect(report.video?.directedPairsWithFrames).toBe(24);
    expect(report.errors).toEqual({});
    expect(JSON.parse(JSON.stringify(report))).toEqual(report);
  });
});
