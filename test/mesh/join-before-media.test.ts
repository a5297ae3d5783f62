/**
 * Joining before the camera and microphone are open (the element asks for them once admitted),
 * over real WebRTC (@roamhq/wrtc) and the real server: the newcomer's first offers already carry
 * camera and microphone sections, so one offer and answer per member set up media both ways; its
 * tracks, published when they arrive, go onto the reserved senders without renegotiating; and its
 * offers to every member go out without waiting on each other's answers.
 */
import wrtc from "@roamhq/wrtc";
import { afterAll, afterEach, beforeAll, describe, expect, test } from "vitest";
import type { RunningServer } from "../../server/server.ts";
import { SyntheticAudio, SyntheticVideo, type HeadlessPeer } from "../../client/headless/peers.ts";
import { RoomSession, type RemotePeer, type TrackSource } from "../../client/core/index.ts";
import { recordingWebSocket, type WireMessage } from "../support/recording-websocket.ts";
import { TestClient } from "../support/ws-client.ts";
import { MESH_DEADLINE_MS, idOf, joinPeers, leaveAll, startTestServer, waitFor } from "./helpers.ts";

let server: RunningServer;
const opened: HeadlessPeer[] = [];
const sessions: RoomSession[] = [];
const clients: TestClient[] = [];
const sources: Array<SyntheticVideo | SyntheticAudio> = [];

beforeAll(async () => {
  server = await startTestServer();
});

afterEach(async () => {
  for (const session of sessions.splice(0)) {
    session.leave();
  }
  await leaveAll(opened.splice(0));
  for (const client of clients.splice(0)) {
    await client.close();
  }
  // After the connections are closed, so that no sender still holds these tracks.
  for (const source of sources.splice(0)) {
    source.stop();
  }
});

afterAll(async () => {
  await server.close();
});

/** A session that joins with nothing published yet (as the element does), recording its wire messages. */
function newcomer(room: string, sent: WireMessage[]): RoomSession {
  const session = new RoomSession({
    url: server.wsUrl,
    room,
    username: "newcomer",
    wrtc,
    WebSocket: recordingWebSocket(sent, []),
    audioLevelIntervalMs: 0,
    reserveUserMedia: true,
  });
  sessions.push(session);
  return session;
}

/** The `send_offer` messages among `sent`. */
function offersIn(sent: readonly WireMessage[]): WireMessage[] {
  return sent.filter((message) => message.type === "send_offer");
}

/** The sources of each remote's tracks `session` has received, as `<username>: <source>`. */
function recordPublished(session: RoomSession): Set<string> {
  const published = new Set<string>();
  session.on("peer-track-published", ({ peer, source }) => published.add(`${peer.username}: ${source}`));
  return published;
}

/** What `receiver` holds of the participant with id `id`. */
function remoteOf(receiver: HeadlessPeer, id: string): RemotePeer {
  const remote = receiver.session.peers.get(id);
  if (!remote) {
    throw new Error(`${receiver.username} does not hold ${id}`);
  }
  return remote;
}

describe("a newcomer joining before its camera and microphone exist", () => {
  test("receives every member's camera after one offer per member, then publishes its tracks on the same connections without another offer", async () => {
    const room = "join-before-media";
    const members = await joinPeers(server.wsUrl, room, 2, { video: true });
    opened.push(...members);
    const sent: WireMessage[] = [];
    const session = newcomer(room, sent);
    const published = recordPublished(session);
    await session.join();

    // The members' cameras arrive over the first negotiation: one offer each, nothing renegotiated.
    await waitFor("the newcomer receiving both members' cameras", () => members.every((member) => published.has(`${member.username}: camera`)));
    const newcomerId = session.id ?? "";
    await waitFor("both members connected to the newcomer", () => members.every((member) => remoteOf(member, newcomerId).isConnected));
    expect(offersIn(sent).map((offer) => offer.targetId).sort()).toEqual(members.map(idOf).sort());

    // The camera and microphone open later: the reserved senders take them.
    const connectionsBefore = members.map((member) => remoteOf(member, newcomerId).peerConnection);
    const memberPublished = members.map((member) => {
      const seen = new Set<TrackSource>();
      member.session.on("peer-track-published", ({ peer, source }) => {
        if (peer.id === newcomerId) {
          seen.add(source);
        }
      });
      return seen;
    });
    const video = new SyntheticVideo();
    const audio = new SyntheticAudio("tone");
    sources.push(video, audio);
    const [camera] = video.stream.getVideoTracks();
    if (!camera) {
      throw new Error("synthetic video without a track");
    }
    session.publications.publish("microphone", audio.track);
    session.publications.publish("camera", camera);

    await waitFor("both members receiving the newcomer's camera and microphone", () => memberPublished.every((seen) => seen.has("camera") && seen.has("microphone")));
    await waitFor("both members decoding the newcomer's video", () => members.every((member) => member.framesFrom(newcomerId) > 0), MESH_DEADLINE_MS);
    expect(members.map((member) => remoteOf(member, newcomerId).peerConnection)).toEqual(connectionsBefore);
    expect(members.map((member) => remoteOf(member, newcomerId).rebuilds)).toEqual([0, 0]);
    expect(offersIn(sent)).toHaveLength(2);
  });

  test("sends its offers to every member without waiting for any answer, each with a microphone and a camera section", async () => {
    const room = "offers-at-once";
    // Raw members: they are announced to the newcomer but never answer.
    for (const username of ["ada", "bob", "cy"]) {
      const client = await TestClient.connect(server.wsUrl);
      clients.push(client);
      await client.join(room, username);
    }
    const sent: WireMessage[] = [];
    const session = newcomer(room, sent);
    await session.join();

    await waitFor("an offer to each of the three members", () => offersIn(sent).length === 3);
    for (const client of clients) {
      const offer = await client.next("send_offer");
      expect(offer.id).toBe(session.id);
      // Sections in the order the newcomer reserved them (microphone, camera), each ready to send
      // in the user stream; then the data channel.
      const sections = offer.sdp.sdp.split(/^(?=m=)/m).slice(1);
      expect(sections.map((section) => /^m=(\w+)/.exec(section)?.[1])).toEqual(["audio", "video", "application"]);
      for (const section of sections.slice(0, 2)) {
        expect(section).toMatch(/^a=sendrecv/m);
        expect(section).toMatch(/^a=msid:\S+ /m);
      }
    }
  });
});
