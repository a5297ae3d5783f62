/**
 * What a cluster does when a node or its link to Redis fails: a node killed in the middle of
 * relaying (its clients resume on another node and get exactly what they missed, in order; the
 * others see no leave), a node killed for good (its participants leave once, after dead-after +
 * grace, seen on the other nodes), and Redis dropping every connection (`CLIENT KILL`) while
 * relaying (nothing lost, nothing twice).
 */
import { afterAll, afterEach, beforeAll, describe, expect, test } from "vitest";
import type { ServerMessage } from "../../shared/protocol/index.ts";
import { requireRedis, startRedis, type RunningRedis } from "../support/redis.ts";
import type { TestClient } from "../support/ws-client.ts";
import { candidateNumber, joinOn, numberedCandidate, startNodes, stopNodes, type TestNode } from "./helpers.ts";

const hasRedis = requireRedis();

/** Short enough for a test, long enough for a loaded machine: a killed node is reaped 1 + 8 s after its last beat. */
const NODE_ARGS = ["--node-dead-after-ms", "1000", "--resume-grace-ms", "8000"];

/** The numbers of the numbered candidates `client` received, in order. */
function candidateNumbers(received: readonly ServerMessage[]): number[] {
  return received.flatMap((message) => (message.type === "new_candidate" ? [candidateNumber(message.ice.candidate)] : []));
}

/** 1, 2, … `count`. */
function upTo(count: number): number[] {
  return Array.from({ length: count }, (_, index) => index + 1);
}

/** Leaves of `id` that `client` was told of. */
function leavesOf(client: TestClient, id: string): number {
  return client.received.filter((message) => message.type === "close_connection" && message.id === id).length;
}

/** Waits until no node but `alive` heartbeats in Redis: the reapers have run for the others. */
async function reaped(redis: RunningRedis, alive: readonly string[]): Promise<void> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const nodes = await redis.client.zrange("wr:nodes", 0, -1);
    if (nodes.every((node) => alive.includes(node))) {
      return;
    }
    if (Date.now() > deadline) {
      throw new Error(`nodes still registered: ${nodes.join(", ")}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe.skipIf(!hasRedis)("a cluster when something fails", () => {
  let redis: RunningRedis;
  let nodes: TestNode[] = [];
  const clients: TestClient[] = [];

  beforeAll(async () => {
    redis = await startRedis();
  });

  afterEach(async () => {
    await Promise.all(clients.splice(0).map((client) => client.close()));
    await stopNodes(nodes);
  });

  afterAll(async () => {
    await redis?.stop();
  });

  /** Three fresh nodes for one test. */
  async function threeNodes(): Promise<[TestNode, TestNode, TestNode]> {
    nodes = await startNodes(redis, 3, NODE_ARGS);
    return nodes as [TestNode, TestNode, TestNode];
  }

  async function join(node: TestNode, room: string, username: string): Promise<Awaited<ReturnType<typeof joinOn>>> {
    const joined = await joinOn(node, room, username);
    clients.push(joined.client);
    return joined;
  }

  test("a node killed mid-relay: its client resumes on another node and gets exactly the messages it missed, in order; nobody sees it leave", async () => {
    const [one, two, three] = await threeNodes();
    const a = await join(one, "failover", "Ann");
    const b = await join(two, "failover", "Bob");
    const c = await join(three, "failover", "Cy");
    for (const member of [a, b, c]) {
      await member.client.next("connection_list", (message) => message.newUserId === c.id);
    }
    for (let index = 1; index <= 20; index += 1) {
      b.client.send(numberedCandidate(a.id, index));
    }
    await a.client.next("new_candidate", (message) => candidateNumber(message.ice.candidate) === 20);
    // Relaying goes on while node one dies, and after.
    for (let index = 21; index <= 40; index += 1) {
      b.client.send(numberedCandidate(a.id, index));
    }
    await one.kill();
    for (let index = 41; index <= 60; index += 1) {
      b.client.send(numberedCandidate(a.id, index));
    }
    await a.client.closed;

    const resumed = await two.connect();
    clients.push(resumed);
    resumed.send({ type: "resume", id: a.id, resumeToken: a.resumeToken });
    const answer = await resumed.next("resumed");
    expect(answer).toMatchObject({ id: a.id, room: "failover", username: "Ann", list: [{ id: a.id, username: "Ann" }, { id: b.id, username: "Bob" }, { id: c.id, username: "Cy" }] });
    await resumed.next("new_candidate", (message) => candidateNumber(message.ice.candidate) === 60);
    expect([...candidateNumbers(a.client.received), ...candidateNumbers(resumed.received)]).toEqual(upTo(60));

    // Once the reapers have dealt with node one, Ann is still in the room for the others.
    await reaped(redis, nodes.slice(1).map((_, index) => `node${index + 2}-${process.pid}`));
    await b.client.sync();
    await c.client.sync();
    expect(leavesOf(b.client, a.id)).toBe(0);
    expect(leavesOf(c.client, a.id)).toBe(0);
    c.client.send(numberedCandidate(a.id, 61));
    expect(candidateNumber((await resumed.next("new_candidate")).ice.candidate)).toBe(61);
  });

  test("a node killed for good: its participants leave once, after dead-after + grace, seen by the members on the other nodes", async () => {
    const [one, two, three] = await threeNodes();
    const a = await join(one, "gone", "Ann");
    const d = await join(one, "gone", "Dee");
    const b = await join(two, "gone", "Bob");
    const c = await join(three, "gone", "Cy");
    for (const member of [b, c]) {
      await member.client.next("connection_list", (message) => message.newUserId === c.id);
    }
    await one.kill();
    for (const member of [b, c]) {
      await member.client.next("rest_connection_list", (message) => message.list.length === 2, 60_000);
      expect(member.client.received.filter((message) => message.type === "rest_connection_list").at(-1)).toEqual({
        type: "rest_connection_list",
        list: [{ id: b.id, username: "Bob" }, { id: c.id, username: "Cy" }],
      });
    }
    await reaped(redis, [`node2-${process.pid}`, `node3-${process.pid}`]);
    for (const member of [b, c]) {
      await member.client.sync();
      expect(leavesOf(member.client, a.id)).toBe(1);
      expect(leavesOf(member.client, d.id)).toBe(1);
    }
    // Their sessions are gone: a resume on a live node is refused.
    const late = await two.connect();
    clients.push(late);
    late.send({ type: "resume", id: a.id, resumeToken: a.resumeToken });
    expect(await late.next("error")).toMatchObject({ code: "resume_failed" });
  });

  test("Redis dropping every connection of the nodes while relaying loses nothing and delivers nothing twice", async () => {
    const [one, two] = await threeNodes();
    const a = await join(one, "client-kill", "Ann");
    const b = await join(two, "client-kill", "Bob");
    await a.client.next("connection_list", (message) => message.newUserId === b.id);
    for (let index = 1; index <= 100; index += 1) {
      b.client.send(numberedCandidate(a.id, index));
    }
    await redis.client.call("CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes");
    await redis.client.call("CLIENT", "KILL", "TYPE", "pubsub");
    for (let index = 101; index <= 200; index += 1) {
      a.client.send(numberedCandidate(b.id, index));
      b.client.send(numberedCandidate(a.id, index));
    }
    await a.client.next("new_candidate", (message) => candidateNumber(message.ice.candidate) === 200);
    await b.client.next("new_candidate", (message) => candidateNumber(message.ice.candidate) === 200);
    expect(candidateNumbers(a.client.received)).toEqual(upTo(200));
    expect(candidateNumbers(b.client.received)).toEqual(upTo(200).slice(100));
    // And the nodes take joins again.
    const e = await join(one, "client-kill", "Eve");
    expect(await b.client.next("connection_list", (message) => message.newUserId === e.id)).toBeDefined();
  });
});
