/**
 * The Lua scripts of a cluster (server/cluster/scripts.ts) run against a real redis-server through
 * the node's own link: each state change and its fan-out, and what a command sent twice (its reply
 * lost with a connection) or a race between nodes does.
 */
import { afterAll, afterEach, beforeAll, describe, expect, test } from "vitest";
import { Redis } from "ioredis";
import { RedisLink } from "../../server/cluster/redis-link.ts";
import { inboxKey, wakeChannel } from "../../server/cluster/scripts.ts";
import { requireRedis, startRedis, type RunningRedis } from "../support/redis.ts";

const hasRedis = requireRedis();

/** Inbox bound of these tests (the server's is 256). */
const INBOX_MAX = 8;

describe.skipIf(!hasRedis)("cluster scripts on a real Redis", () => {
  let redis: RunningRedis;
  const links: RedisLink[] = [];

  beforeAll(async () => {
    redis = await startRedis();
  });

  afterEach(async () => {
    await Promise.all(links.splice(0).map((link) => link.close()));
    await redis.client.flushall();
  });

  afterAll(async () => {
    await redis?.stop();
  });

  /** The link of node `node`, as a server builds it. */
  function linkOf(node: string): RedisLink {
    const link = new RedisLink({ url: redis.url, node, inboxMaxEntries: INBOX_MAX, inboxTtlMs: 60_000, events: { wake: () => undefined, subscribed: () => undefined, error: () => undefined } });
    links.push(link);
    return link;
  }

  /** The frames waiting in `id`'s inbox. */
  async function inbox(id: string): Promise<unknown[]> {
    const entries = await redis.client.xrange(inboxKey(id), "-", "+");
    return entries.map(([, fields]) => JSON.parse(fields[1] ?? "null"));
  }

  describe("join and leave", () => {
    test("joins up to the capacity, refuses the next with room_full, and announces each join to every member", async () => {
      const link = linkOf("n1");
      expect(await link.run("join", "a", "r", "Ann", "n1", 2, "hash-a")).toEqual(["ok", '[{"id":"a","username":"Ann"}]']);
      expect(await link.run("join", "b", "r", "Bob", "n1", 2, "hash-b")).toEqual(["ok", '[{"id":"a","username":"Ann"},{"id":"b","username":"Bob"}]']);
      expect(await link.run("join", "c", "r", "Cy", "n1", 2, "hash-c")).toEqual(["room_full"]);
      expect(await inbox("a")).toEqual([
        { type: "connection_list", newUserId: "a", list: [{ id: "a", username: "Ann" }] },
        { type: "connection_list", newUserId: "b", list: [{ id: "a", username: "Ann" }, { id: "b", username: "Bob" }] },
      ]);
      expect(await inbox("c")).toEqual([]);
    });

    test("a join sent twice (its reply lost) answers ok again and announces once; another room is already_in_room", async () => {
      const link = linkOf("n1");
      await link.run("join", "a", "r", "Ann", "n1", 8, "hash-a");
      expect(await link.run("join", "a", "r", "Ann", "n1", 8, "hash-a")).toEqual(["ok", '[{"id":"a","username":"Ann"}]']);
      expect(await inbox("a")).toHaveLength(1);
      expect(await link.run("join", "a", "other", "Ann", "n1", 8, "hash-a")).toEqual(["already_in_room"]);
    });

    test("a leave tells the rest close_connection then the new list; the last leave deletes the room", async () => {
      const link = linkOf("n1");
      await link.run("join", "a", "r", "Ann", "n1", 8, "hash-a");
      await link.run("join", "b", "r", "Bob", "n2", 8, "hash-b");
      await redis.client.del(inboxKey("b"));
      expect(await link.run("leave", "a", "n1", "any")).toBe("ok");
      expect(await inbox("b")).toEqual([{ type: "close_connection", id: "a" }, { type: "rest_connection_list", list: [{ id: "b", username: "Bob" }] }]);
      expect(await link.run("leave", "a", "n1", "any")).toBe("gone");
      expect(await link.run("leave", "b", "n1", "any")).toBe("moved");
      expect(await link.run("leave", "b", "n2", "any")).toBe("ok");
      expect(await redis.client.exists("wr:room:r", "wr:session:a", "wr:session:b", inboxKey("b"))).toBe(0);
    });
  });

  describe("relay", () => {
    test("queues the frame for a member of the sender's room, refuses another room's, and drops a copy sent again", async () => {
      const link = linkOf("n1");
      await link.run("join", "a", "r", "Ann", "n1", 8, "hash-a");
      await link.run("join", "e", "elsewhere", "Eve", "n2", 8, "hash-e");
      await redis.client.del(inboxKey("a"));
      expect(await link.run("relay", "a", "r", '{"n":1}', "n2", 1)).toBe(1);
      expect(await link.run("relay", "a", "r", '{"n":1}', "n2", 1)).toBe(1);
      expect(await link.run("relay", "a", "r", '{"n":2}', "n2", 2)).toBe(1);
      expect(await link.run("relay", "e", "r", '{"n":3}', "n2", 3)).toBe(0);
      expect(await inbox("a")).toEqual([{ n: 1 }, { n: 2 }]);
      expect(await inbox("e")).toEqual([{ type: "connection_list", newUserId: "e", list: [{ id: "e", username: "Eve" }] }]);
    });

    test("past the inbox bound the session is marked lost: reads say so and it cannot be resumed", async () => {
      const link = linkOf("n1");
      await link.run("join", "a", "r", "Ann", "n1", 8, "hash-a");
      for (let index = 1; index <= INBOX_MAX; index += 1) {
        await link.run("relay", "a", "r", `{"n":${index}}`, "n2", index);
      }
      expect(await link.run("read", "a", "n1", "0-0", 100)).toEqual(["lost"]);
      expect(await link.run("resume", "a", "hash-a", "hash-next", "n2")).toEqual(["refused"]);
    });
  });

  describe("resume", () => {
    test("moves the session to the resuming node under the next token and tells the old owner on its channel", async () => {
      const link = linkOf("n2");
      await link.run("join", "a", "r", "Ann", "n1", 8, "hash-a");
      const listener = new Redis(redis.url);
      const told = new Promise<string>((resolve) => listener.on("message", (_channel: string, message: string) => resolve(message)));
      await listener.subscribe(wakeChannel("n1"));
      try {
        expect(await link.run("resume", "a", "wrong", "hash-next", "n2")).toEqual(["refused"]);
        expect(await link.run("resume", "a", "hash-a", "hash-next", "n2")).toEqual(["ok", "r", "Ann", '[{"id":"a","username":"Ann"}]']);
        expect(await told).toBe("t a");
        // Sent again after a lost reply: the same answer; the old token no longer works.
        expect(await link.run("resume", "a", "hash-a", "hash-next", "n2")).toEqual(["ok", "r", "Ann", '[{"id":"a","username":"Ann"}]']);
        expect(await link.run("resume", "a", "hash-a", "hash-other", "n3")).toEqual(["refused"]);
        expect(await redis.client.smembers("wr:node:n2")).toEqual(["a"]);
        expect(await redis.client.smembers("wr:node:n1")).toEqual([]);
      } finally {
        listener.disconnect();
      }
    });

    test("a grace timer that lost the race to a resume changes nothing; a suspension past its deadline cannot be resumed", async () => {
      const link = linkOf("n1");
      await link.run("join", "a", "r", "Ann", "n1", 8, "hash-a");
      expect(await link.run("suspend", "a", "n1", 60_000)).toBe(1);
      expect(await link.run("resume", "a", "hash-a", "hash-next", "n1")).toEqual(["ok", "r", "Ann", '[{"id":"a","username":"Ann"}]']);
      expect(await link.run("leave", "a", "n1", "suspended")).toBe("resumed");
      // A deadline already behind Redis's clock.
      expect(await link.run("suspend", "a", "n1", -1000)).toBe(1);
      expect(await link.run("resume", "a", "hash-next", "hash-later", "n2")).toEqual(["refused"]);
      expect(await link.run("leave", "a", "n1", "suspended")).toBe("ok");
    });
  });

  describe("nodes", () => {
    test("two reapers racing for a dead node end each of its sessions exactly once, and the others hear each leave once", async () => {
      const [two, three] = [linkOf("n2"), linkOf("n3")];
      await two.run("join", "a", "r", "Ann", "n1", 8, "hash-a");
      await two.run("join", "d", "r", "Dee", "n1", 8, "hash-d");
      await two.run("join", "b", "r", "Bob", "n2", 8, "hash-b");
      await redis.client.del(inboxKey("b"));
      await redis.client.zadd("wr:nodes", 0, "n1");
      await two.run("heartbeat", "n2");
      await three.run("heartbeat", "n3");
      const [byTwo, byThree] = (await Promise.all([two.run("reap", "n2", 5_000), three.run("reap", "n3", 5_000)])) as [string[], string[]];
      expect([...byTwo, ...byThree].sort()).toEqual(["a", "d"]);
      expect(await redis.client.zrange("wr:nodes", 0, -1)).toEqual(["n2", "n3"]);
      // A set's members come in no set order: the leaves are compared as a set.
      const leaves = (await inbox("b")).filter((frame) => (frame as { type: string }).type === "close_connection").map((frame) => (frame as { id: string }).id);
      expect(leaves.sort()).toEqual(["a", "d"]);
    });

    test("a node starting under the id of a previous run ends the sessions that run left", async () => {
      const link = linkOf("n1");
      await link.run("join", "a", "r", "Ann", "n1", 8, "hash-a");
      expect(await link.run("start", "n1")).toEqual(["a"]);
      expect(await redis.client.exists("wr:session:a", "wr:room:r")).toBe(0);
    });
  });
});
