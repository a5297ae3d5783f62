/**
 * Session resumption: the pure state in `server/resume.ts` (table-driven), then the real server with
 * raw WebSocket clients: an abrupt drop is a suspension the others never see, `resume` takes the
 * participant over with what it missed, and everything else ends as a leave.
 */
import { afterEach, describe, expect, it } from "vitest";
import { CLOSE_CODES, type ServerMessage } from "../shared/protocol/index.ts";
import { SessionResumption, suspendsOnClose, type BufferedFrame } from "../server/resume.ts";
import { startServer, type RunningServer } from "../server/server.ts";
import type { ServerConfig } from "../server/config.ts";
import { TestClient, cutAndAwaitServer } from "./support/ws-client.ts";
import { LOOPBACK_TEST_LIMITS } from "./support/loopback-limits.ts";

const GRACE_MS = 1_000;

describe("suspendsOnClose", () => {
  it.each([
    [1006, false, "", true, "network loss (no close frame)"],
    [1006, false, "WebSocket timed out from inactivity", true, "an idle timeout"],
    [1006, false, "Received invalid UTF-8", false, "a client the transport dropped for invalid UTF-8"],
    [1006, false, "Received too big message", false, "a client the transport dropped for a frame over the hard cap"],
  ])("close %i (closed by the server: %s, reason %j) suspends: %s, for %s", (code, closedByServer, reason, expected) => {
    expect(suspendsOnClose(code, closedByServer, reason)).toBe(expected);
  });

  it.each([
    [1011, false, true, "an unexpected condition on the client"],
    [4000, false, true, "an application code the server does not know"],
    [1000, false, false, "a normal close"],
    [1001, false, false, "a page going away"],
    [1005, false, false, "a close frame without a code (WebSocket.close())"],
    [1012, false, false, "a restart code"],
    [CLOSE_CODES.backpressure, true, false, "a slow reader the server closed (its unread messages are lost)"],
    [CLOSE_CODES.service_restart, true, false, "the server shutting down"],
    [CLOSE_CODES.too_many_errors, true, false, "a misbehaving client the server closed"],
    [CLOSE_CODES.replaced, true, false, "a replaced login"],
    [1006, true, false, "a socket the server was ending anyway"],
  ])("close %i (closed by the server: %s) suspends: %s, for %s", (code, closedByServer, expected) => {
    expect(suspendsOnClose(code, closedByServer)).toBe(expected);
  });
});

describe("SessionResumption (happy path)", () => {
  it("hands the buffered frames over in order and rotates the token when resumed in time", () => {
    const state = new SessionResumption({ graceMs: 100 });
    state.admit("p", "token-1");
    expect(state.suspend("p", 1_000)).toEqual({ deadlineMs: 1_100, deliveries: [], timers: [{ op: "start", timerId: "grace:p", delayMs: 100 }] });
    expect(state.isSuspended("p")).toBe(true);
    expect(state.buffer("p", '{"type":"a"}')).toBe("buffered");
    expect(state.buffer("p", '{"type":"b"}')).toBe("buffered");
    const cancelGrace = [{ op: "cancel", timerId: "grace:p" }];
    expect(state.resume("p", "token-1", "token-2", 1_100)).toEqual({ ok: true, from: "suspended", frames: ['{"type":"a"}', '{"type":"b"}'], deliveries: [], timers: cancelGrace });
    expect(state.isSuspended("p")).toBe(false);
    // The old token is spent; the new one works (here on a live participant: a half-open takeover).
    expect(state.resume("p", "token-1", "token-3", 1_200)).toEqual({ ok: false, reason: "wrong_token" });
    expect(state.resume("p", "token-2", "token-3", 1_200)).toEqual({ ok: true, from: "live", frames: [], deliveries: [], timers: cancelGrace });
  });

  it("expires a suspension at its deadline and not before", () => {
    const state = new SessionResumption({ graceMs: 100 });
    state.admit("p", "t");
    state.suspend("p", 0);
    expect(state.expire("p", 99)).toBe(false);
    expect(state.expire("p", 100)).toBe(true);
    expect(state.isSuspended("p")).toBe(false);
    expect(state.resume("p", "t", "u", 100)).toEqual({ ok: false, reason: "unknown_id" });
  });

  it("tokenOf gives a session's one token while it is live or suspended, and nothing once forgotten", () => {
    const state = new SessionResumption({ graceMs: 100 });
    expect(state.tokenOf("p")).toBeUndefined();
    state.admit("p", "t");
    expect(state.tokenOf("p")).toBe("t");
    state.suspend("p", 0);
    expect(state.tokenOf("p")).toBe("t");
    state.resume("p", "t", "u", 10);
    expect(state.tokenOf("p")).toBe("u");
    state.forget("p");
    expect(state.tokenOf("p")).toBeUndefined();
  });

  it("counts suspended participants", () => {
    const state = new SessionResumption({ graceMs: 100 });
    state.admit("a", "t");
    state.admit("b", "t");
    state.suspend("a", 0);
    expect(state.suspendedCount()).toBe(1);
    expect(state.suspendedIds()).toEqual(["a"]);
  });
});

describe("SessionResumption (failure cases)", () => {
  type Setup = (state: SessionResumption) => void;
  const live: Setup = (state) => state.admit("p", "secret");
  const suspended: Setup = (state) => {
    state.admit("p", "secret");
    state.suspend("p", 0);
  };
  it.each<[string, Setup, string, string, number, string]>([
    ["an id that never joined", () => undefined, "p", "secret", 10, "unknown_id"],
    ["a wrong token", suspended, "p", "Secret", 10, "wrong_token"],
    ["a token of another length", suspended, "p", "secret-and-more", 10, "wrong_token"],
    ["another participant's id", suspended, "q", "secret", 10, "unknown_id"],
    ["a late resume whose timer has not fired yet", suspended, "p", "secret", 101, "expired"],
    ["a wrong token for a live participant", live, "p", "nope", 10, "wrong_token"],
  ])("refuses %s", (_name, setup, id, token, nowMs, reason) => {
    const state = new SessionResumption({ graceMs: 100 });
    setup(state);
    expect(state.resume(id, token, "next", nowMs)).toEqual({ ok: false, reason });
  });

  it("refuses once the participant is forgotten (a clean leave)", () => {
    const state = new SessionResumption({ graceMs: 100 });
    state.admit("p", "t");
    expect(state.forget("p")).toEqual({ deliveries: [], timers: [{ op: "cancel", timerId: "grace:p" }] });
    expect(state.suspend("p", 0)).toBeUndefined();
    expect(state.resume("p", "t", "u", 0)).toEqual({ ok: false, reason: "unknown_id" });
  });

  it("does not suspend twice or buffer for a live participant", () => {
    const state = new SessionResumption({ graceMs: 100 });
    state.admit("p", "t");
    expect(state.buffer("p", "x")).toBe("not_suspended");
    expect(state.suspend("p", 0)?.deadlineMs).toBe(100);
    expect(state.suspend("p", 50)).toBeUndefined();
  });

  it.each<[string, BufferedFrame[], "buffered" | "overflow"]>([
    ["the message bound", ["a", "b", "c"], "overflow"],
    ["the byte bound", ["12345", "123456"], "overflow"],
    ["exactly the byte bound", ["12345", "12345"], "buffered"],
    ["the byte bound with multi-byte UTF-8", ["ééééé", "é"], "overflow"],
  ])("ends the suspension on a frame past %s", (_name, frames, last) => {
    const state = new SessionResumption({ graceMs: 100, maxBufferedMessages: 2, maxBufferedBytes: 10 });
    state.admit("p", "t");
    state.suspend("p", 0);
    const outcomes = frames.map((frame) => state.buffer("p", frame));
    expect(outcomes.at(-1)).toBe(last);
    expect(state.isSuspended("p")).toBe(last === "buffered");
  });
});

// ---------------------------------------------------------------------------------------------
// The real server.

let server: RunningServer | undefined;
const clients: TestClient[] = [];

async function start(overrides: Partial<ServerConfig> = {}): Promise<RunningServer> {
  server = await startServer({ ...LOOPBACK_TEST_LIMITS, host: "127.0.0.1", port: 0, iceServers: [], resumeGraceMs: GRACE_MS, ...overrides });
  return server;
}

async function connect(url = server?.wsUrl ?? ""): Promise<TestClient> {
  const client = await TestClient.connect(url);
  clients.push(client);
  return client;
}

/** Cuts `client` as a network loss would, once this file's server has noticed. */
async function drop(client: TestClient): Promise<void> {
  await cutAndAwaitServer(client, server);
}

afterEach(async () => {
  await Promise.all(clients.splice(0).map((client) => client.close()));
  await server?.close();
  server = undefined;
});

/** Two participants in `room`: `a` joined first. */
async function pair(room: string): Promise<{ a: TestClient; b: TestClient; aJoined: Extract<ServerMessage, { type: "joined" }>; bJoined: Extract<ServerMessage, { type: "joined" }> }> {
  const a = await connect();
  const aJoined = await a.join(room, "alice");
  const b = await connect();
  const bJoined = await b.join(room, "bob");
  await a.next("connection_list", (message) => message.newUserId === bJoined.id);
  return { a, b, aJoined, bJoined };
}

const offer = (targetId: string, sdp: string) => ({ type: "send_offer", targetId, sdp: { type: "offer", sdp } });

describe("resume on the server (happy path)", () => {
  it("joined carries a secret resume token and the grace window", async () => {
    await start();
    const { aJoined, bJoined } = await pair("tokens");
    expect(aJoined.resumeToken.length).toBeGreaterThanOrEqual(21);
    expect(aJoined.resumeToken).not.toBe(bJoined.resumeToken);
    expect(aJoined.resumeGraceMs).toBe(GRACE_MS);
    expect(aJoined.iceServersExpireAtMs).toBeUndefined();
  });

  it("an abrupt drop is invisible to the others and resume delivers what was missed, in order", async () => {
    await start({ resumeGraceMs: 10_000 });
    const { a, b, aJoined, bJoined } = await pair("drop");
    await drop(b);
    // Messages for b while it is away: two offers from a, and a newcomer's arrival.
    a.send(offer(bJoined.id, "first"));
    a.send(offer(bJoined.id, "second"));
    const c = await connect();
    const cJoined = await c.join("drop", "carol");
    await a.sync();
    expect(a.pending().map((message) => message.type)).toEqual(["connection_list"]);

    const back = await connect();
    back.send({ type: "resume", id: bJoined.id, resumeToken: bJoined.resumeToken });
    const resumed = await back.next("resumed");
    expect(resumed).toMatchObject({
      id: bJoined.id,
      room: "drop",
      username: "bob",
      list: [
        { id: aJoined.id, username: "alice" },
        { id: bJoined.id, username: "bob" },
        { id: cJoined.id, username: "carol" },
      ],
      iceServers: [],
    });
    expect(resumed.resumeToken).not.toBe(bJoined.resumeToken);
    await back.sync();
    expect(back.pending()).toEqual([
      { type: "send_offer", targetId: bJoined.id, sdp: { type: "offer", sdp: "first" }, id: aJoined.id, username: "alice" },
      { type: "send_offer", targetId: bJoined.id, sdp: { type: "offer", sdp: "second" }, id: aJoined.id, username: "alice" },
      { type: "connection_list", newUserId: cJoined.id, list: resumed.list },
    ]);

    // The resumed connection is b: relays reach it and it speaks as b; nobody saw it leave.
    a.send(offer(bJoined.id, "after"));
    await back.next("send_offer", (message) => message.sdp.sdp === "after");
    back.send({ type: "send_aswer", targetId: aJoined.id, sdp: { type: "answer", sdp: "answer" } });
    expect(await a.next("send_aswer")).toMatchObject({ id: bJoined.id, username: "bob" });
    await a.sync();
    expect(a.received.some((message) => message.type === "close_connection")).toBe(false);
  });

  it("takes over a participant whose old socket the server still thinks open (half-open)", async () => {
    await start();
    const { a, b, bJoined } = await pair("half-open");
    const back = await connect();
    back.send({ type: "resume", id: bJoined.id, resumeToken: bJoined.resumeToken });
    await back.next("resumed");
    expect(await b.closed).toBe(CLOSE_CODES.resumed_elsewhere);
    await a.sync();
    expect(a.pending()).toEqual([]);
  });

  it("can resume again with the token from resumed", async () => {
    await start();
    const { bJoined } = await pair("twice");
    const first = await connect();
    first.send({ type: "resume", id: bJoined.id, resumeToken: bJoined.resumeToken });
    const resumed = await first.next("resumed");
    await drop(first);
    const second = await connect();
    second.send({ type: "resume", id: bJoined.id, resumeToken: resumed.resumeToken });
    expect(await second.next("resumed")).toMatchObject({ id: bJoined.id });
  });

  it("a clean close_connection removes the participant at once", async () => {
    await start({ resumeGraceMs: 60_000 });
    const { a, b, bJoined } = await pair("clean");
    b.send({ type: "close_connection" });
    await a.next("close_connection", (message) => message.id === bJoined.id);
    const back = await connect();
    back.send({ type: "resume", id: bJoined.id, resumeToken: bJoined.resumeToken });
    expect(await back.next("error")).toMatchObject({ code: "resume_failed", refType: "resume" });
  });

  it.each([1000, 1001, undefined])("a socket closed with %s removes the participant at once", async (code) => {
    await start({ resumeGraceMs: 60_000 });
    const { a, b, bJoined } = await pair("closed");
    b.socket.close(code);
    await a.next("close_connection", (message) => message.id === bJoined.id);
    await a.next("rest_connection_list");
  });

  it("a suspended participant still takes a seat", async () => {
    await start({ roomCapacity: 2, resumeGraceMs: 10_000 });
    const { b } = await pair("seat");
    await drop(b);
    const c = await connect();
    c.send({ type: "new_user", room: "seat", username: "carol" });
    expect(await c.next("error")).toMatchObject({ code: "room_full" });
  });
});

describe("resume on the server (failure cases)", () => {
  it("after the grace window the others see the leave and resume fails", async () => {
    await start({ resumeGraceMs: 300 });
    const { a, b, bJoined } = await pair("late");
    await drop(b);
    await a.next("close_connection", (message) => message.id === bJoined.id);
    expect(await a.next("rest_connection_list")).toMatchObject({ list: [{ username: "alice" }] });
    const back = await connect();
    back.send({ type: "resume", id: bJoined.id, resumeToken: bJoined.resumeToken });
    expect(await back.next("error")).toMatchObject({ code: "resume_failed" });
    // The failed connection is a fresh one: it joins as new.
    expect(await back.join("late", "bob")).toMatchObject({ room: "late" });
  });

  it.each([
    ["a wrong token", (joined: { id: string; resumeToken: string }) => ({ id: joined.id, resumeToken: `${joined.resumeToken}x` })],
    ["an unknown id", (joined: { id: string; resumeToken: string }) => ({ id: "nobody-has-this-id-000", resumeToken: joined.resumeToken })],
  ])("refuses %s with resume_failed and leaves the suspension alone", async (_name, forge) => {
    await start({ resumeGraceMs: 10_000 });
    const { a, b, bJoined } = await pair("forged");
    await drop(b);
    const thief = await connect();
    thief.send({ type: "resume", ...forge(bJoined) });
    expect(await thief.next("error")).toMatchObject({ code: "resume_failed", refType: "resume" });
    const back = await connect();
    back.send({ type: "resume", id: bJoined.id, resumeToken: bJoined.resumeToken });
    await back.next("resumed");
    await a.sync();
    expect(a.pending()).toEqual([]);
  });

  it("refuses resume on a connection that has already joined", async () => {
    await start({ resumeGraceMs: 10_000 });
    const { a, b, bJoined } = await pair("joined-already");
    await drop(b);
    a.send({ type: "resume", id: bJoined.id, resumeToken: bJoined.resumeToken });
    expect(await a.next("error")).toMatchObject({ code: "resume_failed" });
  });

  it("ends the suspension as a leave when the buffer overflows", async () => {
    await start({ resumeGraceMs: 60_000 });
    const { a, b, bJoined } = await pair("overflow");
    await drop(b);
    // 20 offers of 60 KB pass the 1 MiB bound.
    const sdp = "v".repeat(60_000);
    for (let index = 0; index < 20; index += 1) {
      a.send(offer(bJoined.id, sdp));
    }
    await a.next("close_connection", (message) => message.id === bJoined.id);
    const back = await connect();
    back.send({ type: "resume", id: bJoined.id, resumeToken: bJoined.resumeToken });
    expect(await back.next("error")).toMatchObject({ code: "resume_failed" });
  });

  it("a server restart ends every session: resume fails on the new server and new_user works", async () => {
    const first = await start();
    const { a, bJoined } = await pair("restart");
    await first.close();
    expect(await a.closed).toBe(CLOSE_CODES.service_restart);
    await start();
    const back = await connect();
    back.send({ type: "resume", id: bJoined.id, resumeToken: bJoined.resumeToken });
    expect(await back.next("error")).toMatchObject({ code: "resume_failed" });
    expect(await back.join("restart", "bob")).toMatchObject({ room: "restart" });
  });

  it("does not suspend when resumption is off (grace 0)", async () => {
    await start({ resumeGraceMs: 0 });
    const { a, b, bJoined } = await pair("off");
    await drop(b);
    await a.next("close_connection", (message) => message.id === bJoined.id);
  });
});
