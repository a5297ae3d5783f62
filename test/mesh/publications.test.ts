/**
 * Local media as publications over real WebRTC (@roamhq/wrtc) and the real server: replacing the
 * camera keeps every connection and the frames flowing, a screen published after joining reaches
 * the others tagged `screen` and goes when unpublished, and a rebuilt pair sends what is
 * published at that moment; a second screen share replaces the first.
 */
import wrtc from "@roamhq/wrtc";
import { afterAll, afterEach, beforeAll, describe, expect, test } from "vitest";
import type { RunningServer } from "../../server/server.ts";
import { SyntheticVideo, type HeadlessPeer } from "../../client/headless/peers.ts";
import { PeerState, type RemotePeer, type TrackSource } from "../../client/core/index.ts";
import { idOf, isFullMesh, joinPeers, leaveAll, startTestServer, waitFor } from "./helpers.ts";

let server: RunningServer;
const opened: HeadlessPeer[] = [];
const videos: SyntheticVideo[] = [];
const sinks: Array<InstanceType<typeof wrtc.nonstandard.RTCVideoSink>> = [];

beforeAll(async () => {
  server = await startTestServer();
});

afterEach(async () => {
  for (const sink of sinks.splice(0)) {
    sink.stop();
  }
  await leaveAll(opened.splice(0));
  // After the connections are closed, so that no sender still holds these tracks.
  for (const video of videos.splice(0)) {
    video.stop();
  }
});

afterAll(async () => {
  await server.close();
});

/** A synthetic video track that the test stops after the peers left. */
function syntheticTrack(): MediaStreamTrack {
  const video = new SyntheticVideo();
  videos.push(video);
  const [track] = video.stream.getVideoTracks();
  if (!track) {
    throw new Error("synthetic video without a track");
  }
  return track;
}

/** Counts the frames decoded from `track` (a remote track). */
function countFrames(track: MediaStreamTrack): () => number {
  let frames = 0;
  const sink = new wrtc.nonstandard.RTCVideoSink(track);
  sink.onframe = () => {
    frames += 1;
  };
  sinks.push(sink);
  return () => frames;
}

/** `peer-track-published` / `-unpublished` events of `peer`'s session, as `<from>: +<source>` / `-<source>`. */
function recordPublications(peer: HeadlessPeer): string[] {
  const log: string[] = [];
  peer.session.on("peer-track-published", ({ peer: remote, source }) => log.push(`${remote.username}: +${source}`));
  peer.session.on("peer-track-unpublished", ({ peer: remote, source }) => log.push(`${remote.username}: -${source}`));
  return log;
}

/** What `receiver` holds of `sender`. */
function remoteOf(receiver: HeadlessPeer, sender: HeadlessPeer): RemotePeer {
  const remote = receiver.session.peers.get(idOf(sender));
  if (!remote) {
    throw new Error(`${receiver.username} does not hold ${sender.username}`);
  }
  return remote;
}

/** Every `RTCPeerConnection` of every peer, by `<holder> → <remote>`. */
function allConnections(peers: readonly HeadlessPeer[]): Map<string, RTCPeerConnection | undefined> {
  return new Map(peers.flatMap((peer) => [...peer.session.peers.values()].map((remote) => [`${peer.username} → ${remote.username}`, remote.peerConnection] as const)));
}

/** Joins `count` peers (in order: later ones offer) and waits for the full mesh. */
async function mesh(room: string, count: number, video: boolean): Promise<HeadlessPeer[]> {
  const peers = await joinPeers(server.wsUrl, room, count, { video });
  opened.push(...peers);
  await waitFor(`full mesh of ${count}`, () => isFullMesh(peers));
  return peers;
}

describe("publications, happy path", () => {
  test("replacing the camera during a 3-peer call keeps the others decoding on the same connections, with no renegotiation", async () => {
    const peers = await mesh("replace", 3, true);
    const [a, b, c] = peers as [HeadlessPeer, HeadlessPeer, HeadlessPeer];
    const others = [b, c];
    await waitFor("b and c decode a's camera", () => others.every((peer) => peer.framesFrom(idOf(a)) > 0));
    expect(a.session.publications.tracks().has("camera")).toBe(true);
    const connections = allConnections(peers);
    const remoteCameras = others.map((peer) => remoteOf(peer, a).trackBySource("camera"));
    expect(remoteCameras.every((track) => track?.kind === "video")).toBe(true);
    const logs = others.map(recordPublications);
    // Any offer or answer would move a connection out of `stable`. (`localDescription` is not
    // compared: @roamhq/wrtc serializes it unsynchronized with libwebrtc adding candidates to it,
    // and reading it while a connection gathers can crash the process.)
    let signalingChanges = 0;
    for (const pc of connections.values()) {
      pc?.addEventListener("signalingstatechange", () => (signalingChanges += 1));
    }

    const replacement = syntheticTrack();
    await a.session.publications.replace("camera", replacement);

    expect(a.session.publications.tracks().get("camera")).toBe(replacement);
    for (const remote of a.session.peers.values()) {
      expect(remote.peerConnection?.getSenders().map((sender) => sender.track)).toContain(replacement);
    }
    const after = others.map((peer) => peer.framesFrom(idOf(a)));
    await waitFor("b and c decode 15 more frames of a's camera", () =>
      others.every((peer, index) => peer.framesFrom(idOf(a)) >= (after[index] ?? 0) + 15));

    for (const [key, pc] of connections) {
      expect(allConnections(peers).get(key)).toBe(pc);
    }
    expect(signalingChanges).toBe(0);
    expect(others.map((peer) => remoteOf(peer, a).trackBySource("camera"))).toEqual(remoteCameras);
    expect(logs).toEqual([[], []]);
    expect(peers.flatMap((peer) => [...peer.session.peers.values()].map((remote) => remote.rebuilds))).toEqual([0, 0, 0, 0, 0, 0]);
  });

  test("a screen published after joining reaches the others tagged screen, and unpublishing it makes it go", async () => {
    // b offers to a and answers c: its screen goes through both negotiation paths.
    const peers = await mesh("screen", 3, false);
    const [a, b, c] = peers as [HeadlessPeer, HeadlessPeer, HeadlessPeer];
    const others = [a, c];
    const connections = allConnections(peers);
    const logs = others.map(recordPublications);
    let signalingChanges = 0;
    for (const pc of connections.values()) {
      pc?.addEventListener("signalingstatechange", () => (signalingChanges += 1));
    }

    const screen = syntheticTrack();
    b.session.publications.publish("screen", screen);

    await waitFor("a and c receive b's screen", () => others.every((peer) => remoteOf(peer, b).trackBySource("screen") !== undefined));
    const frames = others.map((peer) => countFrames(remoteOf(peer, b).trackBySource("screen") as MediaStreamTrack));
    await waitFor("a and c decode b's screen", () => frames.every((count) => count() > 0));
    for (const peer of others) {
      const remote = remoteOf(peer, b);
      const stream = remote.streamsBySource.get("screen");
      expect(stream?.getVideoTracks().map((track) => track.id)).toContain(remote.trackBySource("screen")?.id);
      expect([...remote.streamsBySource.keys()]).toEqual(["screen"]);
      // The screen is not the peer's camera/microphone stream.
      expect(remote.stream).toBeUndefined();
    }
    expect(logs).toEqual([[`${b.username}: +screen`], [`${b.username}: +screen`]]);
    // Unlike a replacement, adding a track renegotiates (offer and answer on both of b's pairs).
    expect(signalingChanges).toBeGreaterThanOrEqual(4);

    expect(b.session.publications.unpublish("screen")).toBe(true);
    expect(b.session.publications.unpublish("screen")).toBe(false);
    await waitFor("a and c see b's screen go", () => others.every((peer) => remoteOf(peer, b).trackBySource("screen") === undefined));
    expect(logs).toEqual([
      [`${b.username}: +screen`, `${b.username}: -screen`],
      [`${b.username}: +screen`, `${b.username}: -screen`],
    ]);
    // Published and unpublished on the same connections.
    for (const [key, pc] of connections) {
      expect(allConnections(peers).get(key)).toBe(pc);
    }
    await waitFor("every connection negotiated again", () => [...allConnections(peers).values()].every((pc) => pc?.signalingState === "stable"));
    expect(isFullMesh(peers)).toBe(true);
    expect(peers.every((peer) => peer.errors.size === 0)).toBe(true);
  });

  test.each([
    ["the offering side", 1, 0],
    ["the answering side", 0, 1],
  ])("a rebuilt pair sends what %s publishes at that moment", async (_side, publisherIndex, receiverIndex) => {
    // The publisher sends its camera from the start, then a screen, then stops the camera.
    const peers = await mesh(`rebuilt-${publisherIndex}`, 3, false);
    const publisher = peers[publisherIndex] as HeadlessPeer;
    const receiver = peers[receiverIndex] as HeadlessPeer;
    const camera = syntheticTrack();
    publisher.session.publications.publish("camera", camera);
    publisher.session.publications.publish("screen", syntheticTrack());
    const sources = (): TrackSource[] => [...remoteOf(receiver, publisher).streamsBySource.keys()].sort();
    await waitFor("the receiver gets the camera and the screen", () => sources().join() === "camera,screen");
    publisher.session.publications.unpublish("camera");
    await waitFor("the receiver sees the camera go", () => sources().join() === "screen");
    const log = recordPublications(receiver);
    const before = remoteOf(receiver, publisher).peerConnection;

    expect(receiver.session.debugFailPeer(idOf(publisher))).toBe(true);

    await waitFor("the pair is rebuilt and connected on both sides", () => {
      const there = remoteOf(receiver, publisher);
      const back = remoteOf(publisher, receiver);
      return there.state === PeerState.connected && back.state === PeerState.connected && there.rebuilds >= 1 && back.rebuilds >= 1;
    });
    await waitFor("the receiver gets the screen on the new connection", () => sources().join() === "screen" && log.at(-1) === `${publisher.username}: +screen`);
    expect(remoteOf(receiver, publisher).peerConnection).not.toBe(before);
    expect(log).toEqual([`${publisher.username}: -screen`, `${publisher.username}: +screen`]);
    const frames = countFrames(remoteOf(receiver, publisher).trackBySource("screen") as MediaStreamTrack);
    await waitFor("the receiver decodes the screen on the new connection", () => frames() > 0);
    // Only the screen was added to the new connection: no sender carries the unpublished camera.
    expect(remoteOf(publisher, receiver).peerConnection?.getSenders().map((sender) => sender.track)).not.toContain(camera);
    expect(remoteOf(receiver, publisher).trackBySource("camera")).toBeUndefined();
  });
});

describe("screen share, one at a time", () => {
  test("a second sharer replaces the first, who is told by whom, and the others see only the second's screen", async () => {
    const peers = await mesh("one-screen", 3, false);
    const [a, b, c] = peers as [HeadlessPeer, HeadlessPeer, HeadlessPeer];
    const ended: Array<{ reason: string; by: string | undefined }> = [];
    a.session.on("screen-share-ended", ({ reason, by }) => ended.push({ reason, by: by?.username }));

    a.session.shareScreen(new wrtc.MediaStream([syntheticTrack()]));
    await waitFor("b and c receive a's screen", () => [b, c].every((peer) => remoteOf(peer, a).trackBySource("screen") !== undefined));
    expect(remoteOf(c, a).screenSinceMs).toBe(a.session.publications.get("screen")?.sinceMs);

    b.session.shareScreen(new wrtc.MediaStream([syntheticTrack()]));
    await waitFor("a gives way", () => !a.session.isSharingScreen);
    expect(ended).toEqual([{ reason: "replaced", by: b.username }]);
    expect(a.session.publications.get("screen")).toBeUndefined();
    await waitFor("c holds b's screen and not a's", () =>
      remoteOf(c, b).trackBySource("screen") !== undefined && remoteOf(c, a).trackBySource("screen") === undefined);
    expect(b.session.isSharingScreen).toBe(true);

    expect(b.session.stopScreenShare()).toBe(true);
    await waitFor("c no longer holds b's screen", () => remoteOf(c, b).trackBySource("screen") === undefined);
  });
});
