/**
 * A real WebRTC mesh (@roamhq/wrtc headless peers with synthetic video) whose six peers signal
 * through three different node processes of one cluster.
 */
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { HeadlessPeer } from "../../client/headless/peers.ts";
import { requireRedis, startRedis, type RunningRedis } from "../support/redis.ts";
import { idOf, isFullMesh, leaveAll, waitFor } from "../mesh/helpers.ts";
import { startNodes, stopNodes, type TestNode } from "./helpers.ts";

const hasRedis = requireRedis();

describe.skipIf(!hasRedis)("a WebRTC mesh across three nodes", () => {
  let redis: RunningRedis;
  let nodes: TestNode[] = [];
  const peers: HeadlessPeer[] = [];

  beforeAll(async () => {
    redis = await startRedis();
    nodes = await startNodes(redis, 3);
  });

  afterAll(async () => {
    await leaveAll(peers);
    await stopNodes(nodes);
    await redis?.stop();
  });

  test("six peers, two on each node, connect all 15 pairs and decode video on all 30 directed pairs", async () => {
    for (let index = 0; index < 6; index += 1) {
      const node = nodes[index % 3] as TestNode;
      const peer = new HeadlessPeer({ url: node.wsUrl, room: "mesh", username: `peer-${index + 1}`, video: true });
      peers.push(peer);
      await peer.join();
    }
    await waitFor("all 15 pairs connected on both sides", () => isFullMesh(peers));
    await waitFor("frames on all 30 directed pairs", () =>
      peers.every((receiver) => peers.every((sender) => sender === receiver || receiver.framesFrom(idOf(sender)) > 0)));
    const pairs = peers.flatMap((receiver) => peers.filter((sender) => sender !== receiver && receiver.framesFrom(idOf(sender)) > 0));
    expect(pairs).toHaveLength(30);
  });
});
