/**
 * Room membership as seen by mesh sessions: leaving, rejoining, isolation between rooms, and the
 * ways a join or a session can fail.
 */
import { once } from "node:events";
import { afterAll, afterEach, beforeAll, describe, expect, test } from "vitest";
import { WebSocketServer } from "ws";
import WebSocket from "ws";
import wrtc from "@roamhq/wrtc";
import type { RunningServer } from "../../server/server.ts";
import { HeadlessPeer } from "../../client/headless/peers.ts";
import { MeshError, MeshSession, MeshSessionState, type MeshErrorCode } from "../../client/core/index.ts";
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

describe("membership, happy path", () => {
  test("a peer that leaves is dropped by each remaining peer, which keeps every other connection; its rejoin makes the mesh whole", async () => {
    const peers = await joinPeers(server.wsUrl, "leave", 5);
    opened.push(...peers);
    await waitFor("full mesh of 5", () => isFullMesh(peers));

    const [leaver, ...remaining] = peers;
    if (!leaver) {
      throw new Error("join failed");
    }
    const leaverId = idOf(leaver);
    const left = new Map<string, Array<{ id: string; reason: string }>>(remaining.map((peer) => [peer.username, []]));
    const otherDrops: string[] = [];
    for (const peer of remaining) {
      peer.session.on("peer-left", ({ peer: gone, reason }) => left.get(peer.username)?.push({ id: gone.id, reason }));
      peer.session.on("peer-state", ({ peer: remote, state }) => {
        if (remote.id !== leaverId && (state === "closed" || state === "failed")) {
          otherDrops.push(`${peer.username} lost ${remote.username}`);
        }
      });
    }

    leaver.leave();
    await waitFor("every remaining peer dropped the leaver", () => remaining.every((peer) => !peer.session.peers.has(leaverId)));

    for (const peer of remaining) {
      expect(left.get(peer.username)).toEqual([{ id: leaverId, reason: "left" }]);
    }
    expect(isFullMesh(remaining)).toBe(true);
    expect(otherDrops).toEqual([]);

    const [rejoined] = await joinPeers(server.wsUrl, "leave", 1, {}, "rejoined");
    if (!rejoined) {
      throw new Error("rejoin failed");
    }
    opened.push(rejoined);
    const whole = [...remaining, rejoined];
    await waitFor("full mesh of 5 again", () => isFullMesh(whole));
    expect(idOf(rejoined)).not.toBe(leaverId);
    expect(otherDrops).toEqual([]);
  });

  test("two rooms joined at the same time stay isolated: no peer ever sees a peer of the other room", async () => {
    const rooms = ["iso-a", "iso-b"];
    const peers = rooms.flatMap((room) => [1, 2, 3].map((index) => new HeadlessPeer({ url: server.wsUrl, room, username: `${room}-${index}` })));
    opened.push(...peers);
    const seen = new Map<HeadlessPeer, Set<string>>(peers.map((peer) => [peer, new Set()]));
    const dataFrom = new Map<HeadlessPeer, string[]>(peers.map((peer) => [peer, []]));
    for (const peer of peers) {
      peer.session.on("peer-joined", ({ peer: remote }) => seen.get(peer)?.add(remote.id));
      peer.session.on("peer-data", ({ peer: remote }) => {
        seen.get(peer)?.add(remote.id);
        dataFrom.get(peer)?.push(remote.id);
      });
    }
    // Interleave the joins of both rooms.
    await Promise.all(peers.map((peer) => peer.join()));
    const byRoom = rooms.map((room) => peers.filter((peer) => peer.room === room));
    await waitFor("both rooms fully meshed", () => byRoom.every((members) => isFullMesh(members)));
    for (const peer of peers) {
      expect(peer.session.broadcast({ from: peer.username })).toBe(2);
    }
    await waitFor("broadcasts delivered", () => peers.every((peer) => dataFrom.get(peer)?.length === 2));

    for (const members of byRoom) {
      const roomIds = new Set(members.map(idOf));
      for (const peer of members) {
        expect([...(seen.get(peer) ?? [])].every((id) => roomIds.has(id))).toBe(true);
        expect(seen.get(peer)?.size).toBe(2);
      }
    }
  });

  test("leave() is safe to call twice and leaves no peer or listener behind", async () => {
    const peers = await joinPeers(server.wsUrl, "twice", 2);
    opened.push(...peers);
    await waitFor("pair connected", () => isFullMesh(peers));
    const [first, second] = peers;
    if (!first || !second) {
      throw new Error("join failed");
    }
    const states: string[] = [];
    first.session.on("state", ({ state }) => states.push(state));
    first.session.on("peer-left", () => states.push("peer-left"));

    first.leave();
    first.leave();

    expect(first.session.state).toBe(MeshSessionState.closed);
    expect(first.session.closed).toBe(true);
    expect(first.session.peers.size).toBe(0);
    expect(states).toEqual(["peer-left", "closed"]);
    expect(first.session.listenerCount("state")).toBe(0);
    expect(first.session.listenerCount("peer-left")).toBe(0);
    await waitFor("the other side drops it", () => second.session.peers.size === 0);
  });
});

describe("membership, failure cases", () => {
  /** Joins a bare session and returns the code `join()` rejected with. */
  async function joinErrorCode(url: string, room: string, joinTimeoutMs?: number): Promise<MeshErrorCode> {
    const session = new MeshSession({ url, room, username: "refused", wrtc, WebSocket, ...(joinTimeoutMs ? { joinTimeoutMs } : {}) });
    const error: unknown = await session.join().then(() => undefined, (reason: unknown) => reason);
    expect(session.state).toBe(MeshSessionState.closed);
    if (!(error instanceof MeshError)) {
      session.leave();
      throw new Error(`join() did not reject with a MeshError: ${String(error)}`);
    }
    return error.code;
  }

  test("join() rejects with room_full when the room is at capacity", async () => {
    const small = await startTestServer({ roomCapacity: 2 });
    try {
      const members = await joinPeers(small.wsUrl, "full", 2);
      opened.push(...members);
      expect(await joinErrorCode(small.wsUrl, "full")).toBe("room_full");
    } finally {
      await leaveAll(opened.splice(0));
      await small.close();
    }
  });

  test("join() rejects with signaling_unreachable when nothing listens at the URL", async () => {
    const gone = await startTestServer();
    const url = gone.wsUrl;
    await gone.close();
    expect(await joinErrorCode(url, "nowhere")).toBe("signaling_unreachable");
  });

  test("join() rejects with join_timeout when the server never acknowledges", async () => {
    const silent = new WebSocketServer({ host: "127.0.0.1", port: 0 });
    await once(silent, "listening");
    const address = silent.address();
    const port = typeof address === "object" && address !== null ? address.port : 0;
    try {
      expect(await joinErrorCode(`ws://127.0.0.1:${port}/ws`, "silent", 300)).toBe("join_timeout");
    } finally {
      for (const client of silent.clients) {
        client.terminate();
      }
      silent.close();
    }
  });

  test("a server shutdown closes every session that does not reconnect with signaling_closed and closes its peers", async () => {
    const doomed = await startTestServer();
    // Sessions reconnect by default (test/resilience/server-restart.test.ts); these must not.
    const peers = await joinPeers(doomed.wsUrl, "shutdown", 2, { reconnect: false });
    opened.push(...peers);
    await waitFor("pair connected", () => isFullMesh(peers));
    const codes: string[] = [];
    for (const peer of peers) {
      peer.session.on("error", ({ code }) => codes.push(code));
    }

    await doomed.close();
    await waitFor("both sessions closed", () => peers.every((peer) => peer.session.closed));

    expect(codes).toEqual(["signaling_closed", "signaling_closed"]);
    expect(peers.map((peer) => peer.session.peers.size)).toEqual([0, 0]);
  });
});
