/**
 * Integration tests of the relay hot path against the real server: frames relayed from the
 * sender's bytes carry exactly the validated message, and the frames that cannot be are relayed
 * re-serialized, never with content the schema did not see.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { startServer, type RunningServer } from "../server/server.ts";
import { TestClient } from "./support/ws-client.ts";
import { LOOPBACK_TEST_LIMITS } from "./support/loopback-limits.ts";

const OFFER = { type: "offer", sdp: "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\n" } as const;

let server: RunningServer;
const openClients: TestClient[] = [];
let roomCounter = 0;

async function connect(): Promise<TestClient> {
  const client = await TestClient.connect(server.wsUrl);
  openClients.push(client);
  return client;
}

/** Two joined members of a fresh room, and every raw text frame the second one receives. */
async function pair(senderName = "sender"): Promise<{ sender: TestClient; senderId: string; receiver: TestClient; receiverId: string; raw: string[] }> {
  roomCounter += 1;
  const room = `fastpath-${roomCounter}`;
  const sender = await connect();
  const senderId = (await sender.join(room, senderName)).id;
  const receiver = await connect();
  const raw: string[] = [];
  receiver.socket.on("message", (data, isBinary) => {
    if (!isBinary) {
      raw.push(data.toString());
    }
  });
  const receiverId = (await receiver.join(room, "receiver")).id;
  await sender.next("connection_list", (message) => message.newUserId === receiverId);
  return { sender, senderId, receiver, receiverId, raw };
}

beforeAll(async () => {
  server = await startServer({ ...LOOPBACK_TEST_LIMITS, host: "127.0.0.1", port: 0, iceServers: [] });
});

afterEach(async () => {
  await Promise.all(openClients.splice(0).map((client) => client.close()));
});

afterAll(async () => {
  await server.close();
});

describe("relaying from the sender's bytes (happy path)", () => {
  it("relays a pretty-printed offer as the validated message, stamped", async () => {
    const { sender, senderId, receiver, receiverId } = await pair();
    sender.send(JSON.stringify({ type: "send_offer", targetId: receiverId, sdp: OFFER }, null, 2));
    expect(await receiver.next("send_offer")).toEqual({ type: "send_offer", targetId: receiverId, sdp: OFFER, id: senderId, username: "sender" });
  });

  it("stamps a display name that needs escaping", async () => {
    const username = 'Zoë "the" \\ 🦊';
    const { sender, senderId, receiver, receiverId } = await pair(username);
    sender.send({ type: "new_candidate", targetId: receiverId, ice: { candidate: "candidate:1 1 udp 1 127.0.0.1 9 typ host", sdpMid: "0", sdpMLineIndex: 0 } });
    expect(await receiver.next("new_candidate")).toMatchObject({ id: senderId, username });
  });

  it("delivers a burst of candidates complete and in order", async () => {
    const { sender, receiver, receiverId } = await pair();
    for (let index = 0; index < 100; index += 1) {
      sender.send({ type: "new_candidate", targetId: receiverId, ice: { candidate: `candidate:${index} 1 udp 1 127.0.0.1 9 typ host`, sdpMid: "0", sdpMLineIndex: 0 } });
    }
    const received: string[] = [];
    for (let index = 0; index < 100; index += 1) {
      received.push((await receiver.next("new_candidate")).ice.candidate);
    }
    expect(received).toEqual(Array.from({ length: 100 }, (_, index) => `candidate:${index} 1 udp 1 127.0.0.1 9 typ host`));
  });
});

describe("relaying from the sender's bytes (failure cases)", () => {
  it.each([
    ["a forged id", (target: string) => `{"type":"send_offer","targetId":"${target}","sdp":{"type":"offer","sdp":"v=0"},"id":"HIDDEN"}`],
    ["an unknown nested member", (target: string) => `{"type":"send_offer","targetId":"${target}","sdp":{"type":"offer","sdp":"v=0","note":"HIDDEN"}}`],
    ["a duplicated member", (target: string) => `{"type":"send_offer","targetId":"${target}","sdp":{"type":"offer","sdp":"HIDDEN"},"sdp":{"type":"offer","sdp":"v=0"}}`],
    ["a duplicated nested member", (target: string) => `{"type":"send_offer","targetId":"${target}","sdp":{"type":"answer","sdp":"HIDDEN","type":"offer","sdp":"v=0"}}`],
  ])("relays a frame with %s without anything the schema did not validate", async (_name, frame) => {
    const { sender, senderId, receiver, receiverId, raw } = await pair();
    sender.send(frame(receiverId));
    expect(await receiver.next("send_offer")).toEqual({ type: "send_offer", targetId: receiverId, sdp: { type: "offer", sdp: "v=0" }, id: senderId, username: "sender" });
    expect(raw.at(-1)).not.toContain("HIDDEN");
  });

  it("drops a connection that sends invalid UTF-8, which the byte relay relies on, and nobody else", async () => {
    const { sender, senderId, receiver } = await pair();
    sender.socket.send(Buffer.from([0x7b, 0xff, 0x7d]), { binary: false });
    expect(await sender.closed).toBe(1006);
    expect(await receiver.next("close_connection")).toEqual({ type: "close_connection", id: senderId });
    await receiver.sync();
  });
});
