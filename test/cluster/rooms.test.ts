/**
 * Rooms across three node processes sharing one real redis-server: membership, relays both ways
 * between nodes and on one node, the last seat raced from three nodes, isolation between rooms,
 * the features a cluster refuses, and what /healthz and /metrics say.
 */
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { requireRedis, startRedis, type RunningRedis } from "../support/redis.ts";
import type { TestClient } from "../support/ws-client.ts";
import { joinOn, joinOutcome, numberedCandidate, startNodes, stopNodes, type TestNode } from "./helpers.ts";

const hasRedis = requireRedis();

describe.skipIf(!hasRedis)("rooms across three nodes", () => {
  let redis: RunningRedis;
  let nodes: TestNode[];
  const clients: TestClient[] = [];

  beforeAll(async () => {
    redis = await startRedis();
    nodes = await startNodes(redis, 3, ["--room-capacity", "4"]);
  });

  afterAll(async () => {
    await Promise.all(clients.map((client) => client.close()));
    await stopNodes(nodes ?? []);
    await redis?.stop();
  });

  /** Joins on `node` and remembers the client for the cleanup. */
  async function join(node: TestNode, room: string, username: string): Promise<Awaited<ReturnType<typeof joinOn>>> {
    const joined = await joinOn(node, room, username);
    clients.push(joined.client);
    return joined;
  }

  describe("happy path", () => {
    test("a room spread over three nodes gives every member the same list, in join order", async () => {
      const [one, two, three] = nodes as [TestNode, TestNode, TestNode];
      const a = await join(one, "spread", "Ann");
      await a.client.next("connection_list", (message) => message.newUserId === a.id);
      const b = await join(two, "spread", "Bob");
      const c = await join(three, "spread", "Cy");
      const expected = [{ id: a.id, username: "Ann" }, { id: b.id, username: "Bob" }, { id: c.id, username: "Cy" }];
      for (const member of [a, b, c]) {
        const announced = await member.client.next("connection_list", (message) => message.newUserId === c.id);
        expect(announced.list).toEqual(expected);
      }
    });

    test("offers, answers and candidates cross nodes both ways, stamped with the sender, and stay on the fast path on one node", async () => {
      const [one, two] = nodes as [TestNode, TestNode, TestNode];
      const a = await join(one, "relay", "Ann");
      const b = await join(two, "relay", "Bob");
      const d = await join(one, "relay", "Dee");
      await a.client.next("connection_list", (message) => message.newUserId === d.id);
      await b.client.next("connection_list", (message) => message.newUserId === d.id);

      b.client.send({ type: "send_offer", targetId: a.id, sdp: { type: "offer", sdp: "v=0 offer from Bob" } });
      const offer = await a.client.next("send_offer");
      expect(offer).toMatchObject({ id: b.id, username: "Bob", sdp: { type: "offer", sdp: "v=0 offer from Bob" } });

      a.client.send({ type: "send_aswer", targetId: b.id, sdp: { type: "answer", sdp: "v=0 answer from Ann" } });
      expect(await b.client.next("send_aswer")).toMatchObject({ id: a.id, username: "Ann", sdp: { type: "answer", sdp: "v=0 answer from Ann" } });

      a.client.send(numberedCandidate(b.id, 1));
      expect(await b.client.next("new_candidate")).toMatchObject({ id: a.id, username: "Ann", ice: numberedCandidate(b.id, 1).ice });

      // Ann and Dee share node one.
      d.client.send(numberedCandidate(a.id, 2));
      expect(await a.client.next("new_candidate")).toMatchObject({ id: d.id, username: "Dee", ice: numberedCandidate(a.id, 2).ice });
    });

    test("a leave on one node reaches the members on the others: close_connection, then the rest of the list", async () => {
      const [one, two, three] = nodes as [TestNode, TestNode, TestNode];
      const a = await join(one, "leave", "Ann");
      const b = await join(two, "leave", "Bob");
      const c = await join(three, "leave", "Cy");
      await a.client.next("connection_list", (message) => message.newUserId === c.id);
      await c.client.next("connection_list", (message) => message.newUserId === c.id);
      b.client.send({ type: "close_connection" });
      for (const member of [a, c]) {
        expect(await member.client.next("close_connection")).toEqual({ type: "close_connection", id: b.id });
        expect(await member.client.next("rest_connection_list")).toEqual({ type: "rest_connection_list", list: [{ id: a.id, username: "Ann" }, { id: c.id, username: "Cy" }] });
      }
    });

    test("messages of one sender to a member on another node arrive in the order they were sent", async () => {
      const [one, , three] = nodes as [TestNode, TestNode, TestNode];
      const a = await join(one, "order", "Ann");
      const c = await join(three, "order", "Cy");
      await a.client.next("connection_list", (message) => message.newUserId === c.id);
      for (let index = 1; index <= 100; index += 1) {
        c.client.send(numberedCandidate(a.id, index));
      }
      for (let index = 1; index <= 100; index += 1) {
        expect((await a.client.next("new_candidate")).ice.candidate).toBe(numberedCandidate(a.id, index).ice.candidate);
      }
    });
  });

  describe("races and isolation", () => {
    test("three nodes racing for the last seat: exactly one joins, the others are refused room_full", async () => {
      const [one, two, three] = nodes as [TestNode, TestNode, TestNode];
      for (const [index, node] of [one, two, three].entries()) {
        await join(node, "race", `seated-${index}`);
      }
      const racers = await Promise.all([one, two, three].map((node) => node.connect()));
      clients.push(...racers);
      for (const [index, racer] of racers.entries()) {
        racer.send({ type: "new_user", room: "race", username: `racer-${index}` });
      }
      const outcomes = await Promise.all(racers.map((racer) => joinOutcome(racer)));
      expect(outcomes.filter((outcome) => outcome === "joined")).toHaveLength(1);
      expect(outcomes.filter((outcome) => outcome === "room_full")).toHaveLength(2);
    });

    test("a relay to a participant of another room on another node is refused unknown_target and never delivered", async () => {
      const [one, two] = nodes as [TestNode, TestNode, TestNode];
      const a = await join(one, "isolated-1", "Ann");
      const e = await join(two, "isolated-2", "Eve");
      a.client.send({ type: "send_offer", targetId: e.id, sdp: { type: "offer", sdp: "v=0 not for you" } });
      expect(await a.client.next("error")).toMatchObject({ code: "unknown_target", refType: "send_offer" });
      await e.client.sync();
      expect(e.client.pending().filter((message) => message.type === "send_offer")).toEqual([]);
    });
  });

  describe("what a cluster refuses", () => {
    test.each([
      ["login", { type: "login", userID: "u1", username: "U" }],
      ["room_settings", { type: "room_settings", locked: true }],
      ["call", { type: "call", calleeID: "u2", sdpOffer: "v=0" }],
    ])("%s is refused cluster_unsupported", async (type, message) => {
      const client = await (nodes[0] as TestNode).connect();
      clients.push(client);
      client.send(message);
      const refusal = type === "login" ? await client.next("loginResponse") : await client.next("error");
      expect(refusal).toMatchObject(type === "login" ? { content: "rejected", code: "cluster_unsupported" } : { code: "cluster_unsupported", refType: type });
    });
  });

  describe("health and metrics", () => {
    test("/healthz names the node and says Redis is connected; /metrics has the Redis round trip and inbox figures", async () => {
      const node = nodes[1] as TestNode;
      const health = await (await fetch(`${node.httpUrl}/healthz`)).json() as { status: string; cluster: { node: string; redis: string } };
      expect(health.status).toBe("ok");
      expect(health.cluster).toMatchObject({ node: `node2-${process.pid}`, redis: "connected" });
      const metrics = await (await fetch(`${node.httpUrl}/metrics`)).text();
      for (const name of ["webrtc_room_redis_connected 1", "webrtc_room_redis_rtt_ms", "webrtc_room_cluster_inbox_entries", "webrtc_room_cluster_longest_inbox"]) {
        expect(metrics).toContain(name);
      }
    });
  });
});
