/**
 * A cluster node while its Redis is unreachable: it refuses what needs Redis with a stable code,
 * keeps relaying between its own sockets, says so on /healthz, and never fails; once Redis is
 * back (empty, as a restarted Redis without persistence is) it closes the sockets of the sessions
 * Redis no longer knows with 1012 so that their clients join again, and takes joins again.
 */
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { requireRedis, startRedis, type RunningRedis } from "../support/redis.ts";
import type { TestClient } from "../support/ws-client.ts";
import { candidateNumber, joinOn, numberedCandidate, startNodes, stopNodes, type TestNode } from "./helpers.ts";

const hasRedis = requireRedis();

/** `/healthz` of `node`: its HTTP status and the Redis state it names. */
async function health(node: TestNode): Promise<{ status: number; redis: string }> {
  const response = await fetch(`${node.httpUrl}/healthz`);
  const body = await response.json() as { cluster: { redis: string } };
  return { status: response.status, redis: body.cluster.redis };
}

describe.skipIf(!hasRedis)("a node while Redis is unreachable", () => {
  let redis: RunningRedis;
  let nodes: TestNode[] = [];
  const clients: TestClient[] = [];

  beforeAll(async () => {
    redis = await startRedis();
    nodes = await startNodes(redis, 2);
  });

  afterAll(async () => {
    await Promise.all(clients.map((client) => client.close()));
    await stopNodes(nodes);
    await redis?.stop();
  });

  test("refuses joins with cluster_unavailable, relays between its own sockets, answers /healthz 503; after Redis returns it takes joins again", async () => {
    const [one, two] = nodes as [TestNode, TestNode];
    const a = await joinOn(one, "down", "Ann");
    const d = await joinOn(one, "down", "Dee");
    clients.push(a.client, d.client);
    await a.client.next("connection_list", (message) => message.newUserId === d.id);
    await d.client.next("connection_list", (message) => message.newUserId === d.id);

    await redis.kill();
    await expect.poll(() => health(one), { timeout: 30_000 }).toEqual({ status: 503, redis: "reconnecting" });
    const newcomer = await one.connect();
    clients.push(newcomer);
    newcomer.send({ type: "new_user", room: "down", username: "Newt" });
    expect(await newcomer.next("error")).toMatchObject({ code: "cluster_unavailable", refType: "new_user" });
    d.client.send(numberedCandidate(a.id, 1));
    expect(candidateNumber((await a.client.next("new_candidate")).ice.candidate)).toBe(1);

    await redis.restart();
    // The new Redis knows none of the sessions: their sockets are closed with 1012 (rejoin).
    expect(await a.client.closed).toBe(1012);
    expect(await d.client.closed).toBe(1012);
    for (const node of [one, two]) {
      await expect.poll(() => health(node), { timeout: 30_000 }).toEqual({ status: 200, redis: "connected" });
    }
    const again = await joinOn(two, "down", "Eve");
    clients.push(again.client);
    expect(again.id).not.toBe("");
    const metrics = await (await fetch(`${one.httpUrl}/metrics`)).text();
    expect(metrics).not.toContain("webrtc_room_internal_errors_total{");
    expect(one.process.child.exitCode).toBeNull();
  });
});
