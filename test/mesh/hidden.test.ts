/**
 * A hidden participant (join token with `hidden`, without `publish`) over real WebRTC
 * (@roamhq/wrtc) and a token-mode server: it receives every publisher's video, newcomers' too,
 * while no publisher lists it, holds it among its `peers` or names it in a peer event; when it
 * leaves, their links to it end without a `peer-left`.
 */
import { afterAll, afterEach, beforeAll, describe, expect, test } from "vitest";
import type { RunningServer } from "../../server/server.ts";
import { mintToken, type JoinGrants } from "../../server/tokens.ts";
import { HeadlessPeer } from "../../client/headless/peers.ts";
import type { RoomSession, RoomSessionEvents } from "../../client/core/index.ts";
import { recordingWebSocket, type WireMessage } from "../support/recording-websocket.ts";
import { idOf, isFullMesh, leaveAll, startTestServer, waitFor } from "./helpers.ts";

const SECRET = "hidden-test-secret-of-at-least-32-bytes!";
const ROOM = "watched";
const TOKEN_TTL_SECONDS = 600;

/** The session events that name a remote participant. */
const PEER_EVENTS = ["peer-joined", "peer-left", "peer-state", "peer-stream", "peer-track-published", "peer-track-unpublished", "peer-data", "peer-media"] as const;

/** The server messages that carry the room's list or its hosts. */
const LIST_MESSAGES = new Set(["joined", "connection_list", "rest_connection_list", "resumed", "room_state"]);

/** A joined participant and what it saw: its wire traffic and the ids its peer events named. */
interface Watched {
  peer: HeadlessPeer;
  sent: WireMessage[];
  received: WireMessage[];
  /** `event:id` for every peer event of its session. */
  peerEvents: string[];
}

let server: RunningServer;
let url: string;
const opened: HeadlessPeer[] = [];

beforeAll(async () => {
  server = await startTestServer({ auth: "token", authSecret: SECRET });
  url = `ws://127.0.0.1:${server.port}/ws`;
});

afterEach(async () => {
  await leaveAll(opened.splice(0));
});

afterAll(async () => {
  await server.close();
});

/** Records every peer event of `session` as `event:id`. */
function recordPeerEvents(session: RoomSession, into: string[]): void {
  for (const name of PEER_EVENTS) {
    session.on(name, (payload: RoomSessionEvents[typeof name]) => into.push(`${name}:${payload.peer.id}`));
  }
}

/** Joins `name` with a join token carrying `grants`, recording its traffic and peer events. */
async function join(name: string, grants: Partial<JoinGrants>, video: boolean): Promise<Watched> {
  const token = await mintToken({ kind: "join", userId: name.toLowerCase(), room: ROOM, name, grants }, SECRET, TOKEN_TTL_SECONDS);
  const sent: WireMessage[] = [];
  const received: WireMessage[] = [];
  const peer = new HeadlessPeer({ url, room: ROOM, username: name, token, video, WebSocket: recordingWebSocket(sent, received) });
  opened.push(peer);
  const peerEvents: string[] = [];
  recordPeerEvents(peer.session, peerEvents);
  await peer.join();
  return { peer, sent, received, peerEvents };
}

describe("a hidden participant (join token with hidden, without publish)", () => {
  test("receives every publisher, later ones too, and is never shown to them; its leaving ends their links silently", async () => {
    const publishing = { publish: true, data: true };
    const ada = await join("Ada", publishing, true);
    const grace = await join("Grace", publishing, true);
    await waitFor("the publishers' pair is connected", () => isFullMesh([ada.peer, grace.peer]));
    const ghost = await join("Ghost", { hidden: true }, false);
    const ghostId = idOf(ghost.peer);
    expect(ghost.peer.session.grants).toEqual({ publish: false, data: false, host: false, hidden: true });

    await waitFor("the hidden one decodes both publishers", () => ghost.peer.framesFrom(idOf(ada.peer)) > 5 && ghost.peer.framesFrom(idOf(grace.peer)) > 5);
    for (const publisher of [ada, grace]) {
      expect(publisher.peer.session.hiddenPeerIds, `${publisher.peer.username} holds a hidden link`).toEqual([ghostId]);
    }

    // A later newcomer: the hidden one offers to it (told of the join as if it were new itself).
    const carol = await join("Carol", publishing, true);
    const publishers = [ada, grace, carol];
    await waitFor("the hidden one decodes the newcomer", () => ghost.peer.framesFrom(idOf(carol.peer)) > 5);
    await waitFor("the publishers' mesh is full", () => isFullMesh(publishers.map(({ peer }) => peer)));
    expect(carol.peer.session.hiddenPeerIds).toEqual([ghostId]);
    expect(ghost.peer.session.peers.get(idOf(carol.peer))?.initiator, "the hidden one offered to the newcomer").toBe(true);
    // One offerer per pair: the newcomer, never told of the hidden one, offered only to the publishers.
    const carolOfferedTo = carol.sent.filter((message) => message.type === "send_offer").map((message) => message.targetId);
    expect(new Set(carolOfferedTo)).toEqual(new Set([idOf(ada.peer), idOf(grace.peer)]));

    ghost.peer.leave();
    await waitFor("every publisher dropped its link to the hidden one", () => publishers.every(({ peer }) => peer.session.hiddenPeerIds.length === 0));
    expect(isFullMesh(publishers.map(({ peer }) => peer))).toBe(true);
    for (const publisher of publishers) {
      const name = publisher.peer.username;
      expect(publisher.peer.session.peers.has(ghostId), `${name}'s peers`).toBe(false);
      expect(publisher.peerEvents.filter((event) => event.endsWith(`:${ghostId}`)), `${name}'s peer events`).toEqual([]);
      const lists = publisher.received.filter((message) => LIST_MESSAGES.has(message.type));
      expect(JSON.stringify(lists), `${name}'s lists`).not.toContain(ghostId);
      // The link ended with the hidden one's own close_connection.
      expect(publisher.received).toContainEqual({ type: "close_connection", id: ghostId });
    }
  });
});
