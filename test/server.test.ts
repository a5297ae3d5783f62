/**
 * Integration tests: the real uWebSockets.js server on an ephemeral port, raw WebSocket clients.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { CLOSE_CODES, type ErrorCode } from "../shared/protocol/index.ts";
import { startServer, type RunningServer } from "../server/server.ts";
import { TestClient } from "./support/ws-client.ts";
import { LOOPBACK_TEST_LIMITS } from "./support/loopback-limits.ts";

const OFFER = { type: "offer", sdp: "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\n" } as const;
const ANSWER = { type: "answer", sdp: "v=0\r\no=- 3 4 IN IP4 127.0.0.1\r\n" } as const;
const CANDIDATE = { candidate: "candidate:1 1 udp 2122260223 127.0.0.1 50000 typ host", sdpMid: "0", sdpMLineIndex: 0 };

let server: RunningServer;
const openClients: TestClient[] = [];
let roomCounter = 0;

/** A room name no other test uses. */
function freshRoom(): string {
  roomCounter += 1;
  return `room-${roomCounter}`;
}

async function connect(url = server.wsUrl, options = {}): Promise<TestClient> {
  const client = await TestClient.connect(url, options);
  openClients.push(client);
  return client;
}

/** Connects `count` clients and joins them to `room` one after the other. */
async function joinRoom(room: string, count: number): Promise<Array<{ client: TestClient; id: string }>> {
  const members: Array<{ client: TestClient; id: string }> = [];
  for (let index = 0; index < count; index += 1) {
    const client = await connect();
    const joined = await client.join(room, `user-${index}`);
    await client.next("connection_list", (message) => message.newUserId === joined.id);
    for (const earlier of members) {
      await earlier.client.next("connection_list", (message) => message.newUserId === joined.id);
    }
    members.push({ client, id: joined.id });
  }
  return members;
}

/** Asserts that none of `clients` has received anything it has not consumed yet. */
async function expectNothingMore(...clients: TestClient[]): Promise<void> {
  for (const client of clients) {
    await client.sync();
    expect(client.pending()).toEqual([]);
  }
}

beforeAll(async () => {
  // A short resume window: an abrupt disconnect becomes a leave once it is over (test/resume.test.ts).
  server = await startServer({ ...LOOPBACK_TEST_LIMITS, host: "127.0.0.1", port: 0, iceServers: [{ urls: "stun:stun.example.test:3478" }], maxMessageBytes: 64 * 1024, resumeGraceMs: 300 });
});

afterEach(async () => {
  await Promise.all(openClients.splice(0).map((client) => client.close()));
});

afterAll(async () => {
  await server.close();
});

describe("joining and leaving (happy path)", () => {
  it("acknowledges a join with the assigned id and ICE servers, then sends connection_list", async () => {
    const client = await connect();
    const room = freshRoom();
    client.send({ type: "new_user", room, username: "  Ada  " });
    const joined = await client.next("joined");
    expect(joined).toMatchObject({ room, username: "Ada", protocolVersion: 1, roomCapacity: 8, maxMessageBytes: 65536 });
    expect(joined.iceServers).toEqual([{ urls: "stun:stun.example.test:3478" }]);
    expect(joined.id).toMatch(/^[A-Za-z0-9_-]{21}$/);
    const list = await client.next("connection_list");
    expect(list).toEqual({ type: "connection_list", newUserId: joined.id, list: [{ id: joined.id, username: "Ada" }] });
  });

  it("broadcasts connection_list with newUserId to everyone in the room when someone joins", async () => {
    const room = freshRoom();
    const [first] = await joinRoom(room, 1);
    const second = await connect();
    const joined = await second.join(room, "Grace");
    const expected = {
      type: "connection_list",
      newUserId: joined.id,
      list: [{ id: first!.id, username: "user-0" }, { id: joined.id, username: "Grace" }],
    };
    expect(await first!.client.next("connection_list")).toEqual(expected);
    expect(await second.next("connection_list")).toEqual(expected);
  });

  it("sends close_connection then rest_connection_list to those who remain when someone leaves", async () => {
    const room = freshRoom();
    const [a, b, c] = await joinRoom(room, 3);
    b!.client.send({ type: "close_connection" });
    for (const remaining of [a!, c!]) {
      expect(await remaining.client.next("close_connection")).toEqual({ type: "close_connection", id: b!.id });
      expect(await remaining.client.next("rest_connection_list")).toEqual({
        type: "rest_connection_list",
        list: [{ id: a!.id, username: "user-0" }, { id: c!.id, username: "user-2" }],
      });
    }
    await expectNothingMore(b!.client);
  });

  it("treats an abrupt disconnect like a leave once the resume window is over", async () => {
    const room = freshRoom();
    const [a, b] = await joinRoom(room, 2);
    b!.client.socket.terminate();
    expect(await a!.client.next("close_connection")).toEqual({ type: "close_connection", id: b!.id });
    expect(await a!.client.next("rest_connection_list")).toEqual({ type: "rest_connection_list", list: [{ id: a!.id, username: "user-0" }] });
  });

  it("lets a client join another room after leaving one", async () => {
    const [a] = await joinRoom(freshRoom(), 1);
    a!.client.send({ type: "close_connection" });
    const other = freshRoom();
    const joined = await a!.client.join(other, "again");
    expect(joined.room).toBe(other);
  });

  it("deletes a room when its last participant leaves", async () => {
    const before = await (await fetch(`${server.httpUrl}/healthz`)).json() as { rooms: number };
    const [a] = await joinRoom(freshRoom(), 1);
    const during = await (await fetch(`${server.httpUrl}/healthz`)).json() as { rooms: number };
    expect(during.rooms).toBe(before.rooms + 1);
    await a!.client.close();
    await expect.poll(async () => ((await (await fetch(`${server.httpUrl}/healthz`)).json()) as { rooms: number }).rooms).toBe(before.rooms);
  });
});

describe("relaying negotiation (happy path)", () => {
  it.each([
    ["send_offer", { sdp: OFFER }],
    ["send_aswer", { sdp: ANSWER }],
    ["new_candidate", { ice: CANDIDATE }],
  ] as const)("relays %s only to its targetId, stamped with the sender's id and username", async (type, body) => {
    const [a, b, c] = await joinRoom(freshRoom(), 3);
    a!.client.send({ type, targetId: b!.id, ...body });
    expect(await b!.client.next(type)).toEqual({ type, targetId: b!.id, ...body, id: a!.id, username: "user-0" });
    await expectNothingMore(a!.client, c!.client);
  });

  it("overwrites a forged id with the sender's real id", async () => {
    const [a, b, c] = await joinRoom(freshRoom(), 3);
    a!.client.send({ type: "send_offer", id: c!.id, username: "someone else", targetId: b!.id, sdp: OFFER });
    const relayed = await b!.client.next("send_offer");
    expect(relayed.id).toBe(a!.id);
    expect(relayed.username).toBe("user-0");
  });

  it("relays an SDP close to the maximum message size", async () => {
    const [a, b] = await joinRoom(freshRoom(), 2);
    const bigSdp = `v=0\r\n${"a=candidate:x 1 udp 1 127.0.0.1 1 typ host\r\n".repeat(1400)}`;
    expect(bigSdp.length).toBeGreaterThan(60_000);
    a!.client.send({ type: "send_offer", targetId: b!.id, sdp: { type: "offer", sdp: bigSdp } });
    expect((await b!.client.next("send_offer")).sdp.sdp).toBe(bigSdp);
  });

  it("keeps rooms isolated: joins, leaves and relays never cross rooms", async () => {
    const [a1, b1] = await joinRoom(freshRoom(), 2);
    const [a2, b2] = await joinRoom(freshRoom(), 2);
    a1!.client.send({ type: "send_offer", targetId: b1!.id, sdp: OFFER });
    await b1!.client.next("send_offer");
    b1!.client.send({ type: "close_connection" });
    await a1!.client.next("rest_connection_list");
    await expectNothingMore(a2!.client, b2!.client);
  });

  it("answers ping with pong echoing t", async () => {
    const client = await connect();
    client.send({ type: "ping", t: 42 });
    expect(await client.next("pong")).toEqual({ type: "pong", t: 42 });
  });
});

describe("bad input (failure cases)", () => {
  interface BadInputCase {
    name: string;
    /** Whether the sender has joined the shared room before sending. */
    joined: boolean;
    frame: (ids: { self: string; peer: string; stranger: string }) => object | string | Buffer;
    code: ErrorCode;
  }

  const cases: BadInputCase[] = [
    { name: "a frame that is not JSON", joined: true, frame: () => "{not json", code: "bad_message" },
    { name: "a JSON array", joined: true, frame: () => "[1,2,3]", code: "bad_message" },
    { name: "a JSON string", joined: true, frame: () => '"hello"', code: "bad_message" },
    { name: "a binary frame", joined: true, frame: () => Buffer.from([1, 2, 3]), code: "binary_not_supported" },
    { name: "an unknown type", joined: true, frame: () => ({ type: "steal_everything" }), code: "unknown_type" },
    { name: "a missing type", joined: true, frame: () => ({ targetId: "x" }), code: "bad_message" },
    { name: "send_offer without sdp", joined: true, frame: ({ peer }) => ({ type: "send_offer", targetId: peer }), code: "bad_message" },
    { name: "send_offer whose sdp is an answer", joined: true, frame: ({ peer }) => ({ type: "send_offer", targetId: peer, sdp: ANSWER }), code: "bad_message" },
    { name: "a numeric targetId", joined: true, frame: () => ({ type: "new_candidate", targetId: 7, ice: CANDIDATE }), code: "bad_message" },
    { name: "a candidate that is a string", joined: true, frame: ({ peer }) => ({ type: "new_candidate", targetId: peer, ice: "candidate:1" }), code: "bad_message" },
    { name: "a frame over the maximum message size", joined: true, frame: ({ peer }) => ({ type: "send_offer", targetId: peer, sdp: { type: "offer", sdp: "x".repeat(70_000) } }), code: "message_too_large" },
    { name: "a targetId in another room", joined: true, frame: ({ stranger }) => ({ type: "send_offer", targetId: stranger, sdp: OFFER }), code: "unknown_target" },
    { name: "a targetId nobody has", joined: true, frame: () => ({ type: "send_aswer", targetId: "nobody", sdp: ANSWER }), code: "unknown_target" },
    { name: "a message addressed to its sender", joined: true, frame: ({ self }) => ({ type: "new_candidate", targetId: self, ice: CANDIDATE }), code: "self_target" },
    { name: "a relay before joining", joined: false, frame: ({ peer }) => ({ type: "send_offer", targetId: peer, sdp: OFFER }), code: "not_in_room" },
    { name: "a leave before joining", joined: false, frame: () => ({ type: "close_connection" }), code: "not_in_room" },
    { name: "joining twice", joined: true, frame: () => ({ type: "new_user", room: "elsewhere", username: "again" }), code: "already_in_room" },
    { name: "a room name with a slash", joined: false, frame: () => ({ type: "new_user", room: "a/b", username: "x" }), code: "bad_message" },
    { name: "an empty username", joined: false, frame: () => ({ type: "new_user", room: "fine", username: "   " }), code: "bad_message" },
    { name: "an unsupported protocol version", joined: false, frame: () => ({ type: "new_user", room: "fine", username: "x", protocolVersion: 99 }), code: "unsupported_version" },
  ];

  it.each(cases)("answers $name with $code and nobody else sees anything", async ({ joined, frame, code }) => {
    const room = freshRoom();
    const [peer] = await joinRoom(room, 1);
    const [stranger] = await joinRoom(freshRoom(), 1);
    const sender = await connect();
    let self = "unjoined";
    if (joined) {
      self = (await sender.join(room, "sender")).id;
      await sender.next("connection_list");
      await peer!.client.next("connection_list", (message) => message.newUserId === self);
    }
    sender.send(frame({ self, peer: peer!.id, stranger: stranger!.id }));
    const error = await sender.next("error");
    expect(error.code).toBe(code);
    expect(error.message.length).toBeGreaterThan(0);
    await expectNothingMore(peer!.client, stranger!.client);
    // The sender's connection and membership are intact.
    expect(sender.closeCode).toBeUndefined();
    await expectNothingMore(sender);
  });

  it("counts at least twelve distinct bad inputs", () => {
    expect(cases.length).toBeGreaterThanOrEqual(12);
  });

  it("drops the connection (1006, no close frame) when a frame exceeds the hard frame cap", async () => {
    const [peer] = await joinRoom(freshRoom(), 1);
    const sender = await connect();
    sender.send("x".repeat(64 * 1024 * 4 + 1));
    expect(await sender.closed).toBe(1006);
    await expectNothingMore(peer!.client);
  });
});

describe("abuse and limits (failure cases)", () => {
  let strict: RunningServer;

  beforeAll(async () => {
    strict = await startServer({ ...LOOPBACK_TEST_LIMITS, host: "127.0.0.1", port: 0, iceServers: [], messagesPerSecond: 5, messageBurst: 10, maxErrorBurst: 5, roomCapacity: 3, allowedOrigins: ["https://app.example.test"] });
  });

  afterAll(async () => {
    await strict.close();
  });

  const strictOptions = { origin: "https://app.example.test" };

  it("refuses a flood with rate_limited, then closes the connection with 4001; others are unaffected", async () => {
    const bystander = await connect(strict.wsUrl, strictOptions);
    const flooder = await connect(strict.wsUrl, strictOptions);
    for (let index = 0; index < 200; index += 1) {
      flooder.send({ type: "ping", t: index });
    }
    expect(await flooder.closed).toBe(CLOSE_CODES.too_many_errors);
    const pongs = flooder.received.filter((message) => message.type === "pong");
    const refusals = flooder.received.filter((message) => message.type === "error");
    expect(pongs.length).toBeGreaterThanOrEqual(10);
    expect(pongs.length).toBeLessThan(200);
    expect(refusals.length).toBeGreaterThan(0);
    expect(refusals.every((message) => message.type === "error" && message.code === "rate_limited")).toBe(true);
    bystander.send({ type: "ping", t: 1 });
    expect(await bystander.next("pong")).toEqual({ type: "pong", t: 1 });
  });

  it("refuses a WebSocket upgrade from an origin that is not allowed", async () => {
    await expect(TestClient.connect(strict.wsUrl, { origin: "https://evil.example.test" })).rejects.toThrow(/403/);
  });

  it("lets exactly one of many concurrent joins take the last seat of a full room", async () => {
    const room = freshRoom();
    const first = await connect(strict.wsUrl, strictOptions);
    const firstId = (await first.join(room, "first")).id;
    const second = await connect(strict.wsUrl, strictOptions);
    const secondId = (await second.join(room, "second")).id;
    await first.next("connection_list", (message) => message.newUserId === secondId);
    const racers = await Promise.all(Array.from({ length: 5 }, () => connect(strict.wsUrl, strictOptions)));
    racers.forEach((racer, index) => racer.send({ type: "new_user", room, username: `racer-${index}` }));
    const outcomes = await Promise.all(racers.map(async (racer) => {
      await racer.sync();
      const reply = racer.pending().find((message) => message.type === "joined" || message.type === "error");
      return reply;
    }));
    const winners = outcomes.filter((reply) => reply?.type === "joined");
    const losers = outcomes.filter((reply) => reply?.type === "error");
    expect(winners).toHaveLength(1);
    expect(losers).toHaveLength(4);
    expect(losers.every((reply) => reply?.type === "error" && reply.code === "room_full")).toBe(true);
    const winnerId = winners[0]?.type === "joined" ? winners[0].id : "";
    for (const member of [first, second]) {
      const list = await member.next("connection_list", (message) => message.newUserId !== secondId);
      expect(list.newUserId).toBe(winnerId);
      expect(list.list.map((participant) => participant.id)).toEqual([firstId, secondId, winnerId]);
    }
    await expectNothingMore(first, second);
  });
});

describe("disconnects during negotiation (failure cases)", () => {
  it("tells the offerer that the target left mid-negotiation and refuses further relays to it", async () => {
    const [a, b] = await joinRoom(freshRoom(), 2);
    a!.client.send({ type: "send_offer", targetId: b!.id, sdp: OFFER });
    await b!.client.next("send_offer");
    a!.client.send({ type: "new_candidate", targetId: b!.id, ice: CANDIDATE });
    b!.client.socket.terminate();
    expect(await a!.client.next("close_connection")).toEqual({ type: "close_connection", id: b!.id });
    a!.client.send({ type: "new_candidate", targetId: b!.id, ice: CANDIDATE });
    expect((await a!.client.next("error")).code).toBe("unknown_target");
  });
});

describe("HTTP routes", () => {
  it("answers /healthz with status and counts", async () => {
    const response = await fetch(`${server.httpUrl}/healthz`);
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ status: "ok", protocolVersion: 1, nativeTransport: true });
  });

  it("serves the join page for a valid room and refuses an invalid one", async () => {
    const page = await fetch(`${server.httpUrl}/r/team-standup`);
    expect(page.status).toBe(200);
    expect(page.headers.get("content-type")).toContain("text/html");
    expect(await page.text()).toContain("team-standup");
    expect((await fetch(`${server.httpUrl}/r/bad%20room`)).status).toBe(400);
  });

  it("serves, on a token-mode server, a page that says the room needs an invitation and loads no script", async () => {
    const tokenMode = await startServer({ ...LOOPBACK_TEST_LIMITS, host: "127.0.0.1", port: 0, iceServers: [], auth: "token", authSecret: "a-token-mode-secret-of-32-bytes-or-more" });
    try {
      const page = await fetch(`${tokenMode.httpUrl}/r/team-standup`);
      expect(page.status).toBe(200);
      const text = await page.text();
      expect(text).toContain("This room needs an invitation");
      expect(text).toContain("team-standup");
      expect(text).not.toContain("<script");
    } finally {
      await tokenMode.close();
    }
  });

  it("redirects / to a new room", async () => {
    const response = await fetch(`${server.httpUrl}/`, { redirect: "manual" });
    expect(response.status).toBe(302);
    expect(response.headers.get("location")).toMatch(/^\/r\/[A-Za-z0-9_-]{10}$/);
  });

  it("exposes Prometheus metrics", async () => {
    const text = await (await fetch(`${server.httpUrl}/metrics`)).text();
    expect(text).toMatch(/^webrtc_room_messages_received_total \d+$/m);
    expect(text).toMatch(/^webrtc_room_connections \d+$/m);
  });
});

describe("shutdown", () => {
  it("closes every connection with 1012 so that clients reconnect", async () => {
    const temporary = await startServer({ ...LOOPBACK_TEST_LIMITS, host: "127.0.0.1", port: 0, iceServers: [] });
    const client = await TestClient.connect(temporary.wsUrl);
    await client.join(freshRoom(), "leaving");
    await temporary.close();
    expect(await client.closed).toBe(CLOSE_CODES.service_restart);
  });
});
