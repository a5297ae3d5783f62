/**
 * The server connection against the real server: requests and their replies, refusals and
 * timeouts; routing by family; the two recovery paths (resume within the grace window, restart
 * after it) through a TCP proxy that the test cuts; ICE servers from `joined`, `loginResponse` and
 * `ice_servers` with the refresh at 80 % of their lifetime.
 */
import { afterAll, afterEach, beforeAll, describe, expect, test } from "vitest";
import WebSocket, { WebSocketServer } from "ws";
import type { RunningServer } from "../server/server.ts";
import {
  ICE_REFRESH_AT_FRACTION,
  MIN_ICE_REFRESH_DELAY_MS,
  ServerConnection,
  ServerRefusalError,
  WebRtcRoomError,
  chooseRecoveryPath,
  iceRefreshDelayMs,
  type ServerConnectionEvents,
  type ServerConnectionOptions,
} from "../client/core/index.ts";
import { startTestServer, waitFor } from "./mesh/helpers.ts";
import { startTcpProxy, type TcpProxy } from "./support/tcp-proxy.ts";

const SDP_OFFER = { type: "offer" as const, sdp: "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\n" };
/** Short grace window of the second server, so that a cut past it stays quick. */
const SHORT_GRACE_MS = 1_500;
/** A fixed, short reconnect delay: the tests wait for events, the delay only paces them. */
const RECONNECT_QUICKLY = (attempt: number): number | null => (attempt > 40 ? null : 100);

let server: RunningServer;
let shortGraceServer: RunningServer;
let turnServer: RunningServer;
const opened: ServerConnection[] = [];
const proxies: TcpProxy[] = [];

beforeAll(async () => {
  server = await startTestServer({ roomCapacity: 2 });
  shortGraceServer = await startTestServer({ resumeGraceMs: SHORT_GRACE_MS });
  // TURN credentials are issued without a TURN server running: only their shape and expiry matter here.
  turnServer = await startTestServer({ turnUrls: ["turn:127.0.0.1:3478"], turnSecret: "connection-test", turnCredentialTtlSeconds: 3 });
});

afterEach(async () => {
  for (const connection of opened.splice(0)) {
    connection.close();
  }
  for (const proxy of proxies.splice(0)) {
    await proxy.close();
  }
});

afterAll(async () => {
  await server.close();
  await shortGraceServer.close();
  await turnServer.close();
});

/** A connected {@link ServerConnection} to `url`, closed after the test. */
async function open(url: string, options: Partial<ServerConnectionOptions> = {}): Promise<ServerConnection> {
  const connection = new ServerConnection({ url, WebSocket, reconnect: RECONNECT_QUICKLY, ...options });
  opened.push(connection);
  await connection.connect();
  return connection;
}

/** Records every event of `connection` as short strings. */
function record(connection: ServerConnection): string[] {
  const log: string[] = [];
  const note = (family: string, message: { type: string; code?: string }): void => {
    log.push(`${family}:${message.type}${message.code !== undefined && message.type === "error" ? `:${message.code}` : ""}`);
  };
  connection.on("room", (message) => note("room", message));
  connection.on("call", (message) => note("call", message));
  connection.on("presence", (message) => note("presence", message));
  connection.on("resumed", ({ room, login }) => log.push(`resumed room:${room?.room ?? "-"} login:${login?.userID ?? "-"}`));
  connection.on("restarted", ({ reason }) => log.push(`restarted:${reason}`));
  connection.on("ice-servers", ({ origin }) => log.push(`ice-servers:${origin}`));
  connection.on("error", ({ code }) => log.push(`error:${code}`));
  return log;
}

/** The rejection of `promise`, which must reject. */
async function rejectionOf(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error("the promise resolved");
}

describe("pure helpers", () => {
  const delayRows: Array<{ expiresAtMs: number | undefined; nowMs: number; expected: number | undefined }> = [
    { expiresAtMs: undefined, nowMs: 0, expected: undefined },
    { expiresAtMs: 100_000, nowMs: 0, expected: 100_000 * ICE_REFRESH_AT_FRACTION },
    { expiresAtMs: 10_000, nowMs: 6_000, expected: 4_000 * ICE_REFRESH_AT_FRACTION },
    { expiresAtMs: 1_000, nowMs: 900, expected: MIN_ICE_REFRESH_DELAY_MS },
    { expiresAtMs: 1_000, nowMs: 5_000, expected: MIN_ICE_REFRESH_DELAY_MS },
  ];
  for (const row of delayRows) {
    test(`iceRefreshDelayMs asks after ${String(row.expected)} ms when credentials expire at ${String(row.expiresAtMs)} seen at ${row.nowMs}`, () => {
      expect(iceRefreshDelayMs(row.expiresAtMs, row.nowMs)).toBe(row.expected);
    });
  }

  test("chooseRecoveryPath resumes with a session and restarts without one", () => {
    expect(chooseRecoveryPath({ resumeToken: "t" })).toBe("resume");
    expect(chooseRecoveryPath(undefined)).toBe("restart");
  });
});

describe("requests", () => {
  test("joinRoom resolves with joined and gives the connection its session and ICE servers; what follows is delivered after the awaiting code ran", async () => {
    const connection = await open(server.wsUrl);
    const order: string[] = [];
    connection.on("room", (message) => order.push(message.type));
    const joined = await connection.joinRoom("requests", "alice", 5_000);
    order.push("awaited joined");
    expect(connection.session).toEqual({ id: joined.id, resumeGraceMs: joined.resumeGraceMs });
    expect(connection.iceServers).toEqual(joined.iceServers);
    await waitFor("the connection_list that follows joined", () => order.includes("connection_list"));
    expect(order).toEqual(["awaited joined", "connection_list"]);
  });

  test("a request the server refuses rejects with a ServerRefusalError carrying the server's code", async () => {
    const first = await open(server.wsUrl);
    const second = await open(server.wsUrl);
    const third = await open(server.wsUrl);
    await first.joinRoom("full", "a", 5_000);
    await second.joinRoom("full", "b", 5_000);
    const error = await rejectionOf(third.joinRoom("full", "c", 5_000));
    expect(error).toBeInstanceOf(ServerRefusalError);
    expect(error).toBeInstanceOf(WebRtcRoomError);
    expect((error as ServerRefusalError).code).toBe("room_full");
    expect(third.session).toBeUndefined();
  });

  test("a request nobody answers rejects with request_timeout", async () => {
    const silent = new WebSocketServer({ host: "127.0.0.1", port: 0 });
    await new Promise<void>((resolve) => silent.once("listening", () => resolve()));
    try {
      const address = silent.address();
      const port = typeof address === "object" && address !== null ? address.port : 0;
      const connection = await open(`ws://127.0.0.1:${port}`);
      const error = await rejectionOf(connection.joinRoom("nobody", "alice", 200));
      expect(error).toBeInstanceOf(WebRtcRoomError);
      expect((error as WebRtcRoomError).code).toBe("request_timeout");
    } finally {
      for (const client of silent.clients) {
        client.terminate();
      }
      await new Promise<void>((resolve) => silent.close(() => resolve()));
    }
  });

  test("a request on a closed connection rejects with signaling_closed, and connect() to nothing with signaling_unreachable", async () => {
    const connection = await open(server.wsUrl);
    connection.close();
    expect(((await rejectionOf(connection.joinRoom("closed", "alice", 1_000))) as WebRtcRoomError).code).toBe("signaling_closed");
    const unreachable = new ServerConnection({ url: "ws://127.0.0.1:1", WebSocket, reconnect: false });
    expect(((await rejectionOf(unreachable.connect())) as WebRtcRoomError).code).toBe("signaling_unreachable");
  });

  test("login resolves with loginResponse accepted, or rejected (with the server's code) for a malformed avatar", async () => {
    const connection = await open(server.wsUrl);
    const accepted = await connection.login({ userID: "login-alice", username: "Alice" }, 5_000);
    expect(accepted).toMatchObject({ type: "loginResponse", content: "accepted", userID: "login-alice", username: "Alice" });
    const other = await open(server.wsUrl);
    const rejected = await other.login({ userID: "login-bob", avatar: "javascript:alert(1)" }, 5_000);
    expect(rejected).toMatchObject({ type: "loginResponse", content: "rejected", code: "bad_message" });
  });
});

describe("routing by family", () => {
  test("relayed negotiation and membership go to room, the directory to presence, a ring to call, and a refusal to the family of the refused message", async () => {
    const alice = await open(server.wsUrl);
    const bob = await open(server.wsUrl);
    const aliceLog = record(alice);
    const bobLog = record(bob);

    const aliceJoined = await alice.joinRoom("routing", "alice", 5_000);
    await bob.joinRoom("routing", "bob", 5_000);
    expect(bob.sendOffer(aliceJoined.id, SDP_OFFER)).toBe(true);
    await waitFor("the offer relayed to alice", () => aliceLog.includes("room:send_offer"));
    expect(bob.sendOffer("nobody-here", SDP_OFFER)).toBe(true);
    await waitFor("the refusal of the offer", () => bobLog.includes("room:error:unknown_target"));

    await alice.login({ userID: "routing-alice" }, 5_000);
    await bob.login({ userID: "routing-bob" }, 5_000);
    await waitFor("the directory", () => aliceLog.includes("presence:presence") && bobLog.includes("presence:presence"));
    expect(bob.call("routing-alice", SDP_OFFER.sdp)).toBe(true);
    await waitFor("the ring", () => aliceLog.includes("call:incomingCall"));
    expect(alice.answerCall({ callerID: "routing-bob", callResponse: "rejected" })).toBe(true);
    await waitFor("the caller's outcome", () => bobLog.includes("call:callResponse"));
    expect(bob.hangUp()).toBe(true);
    expect(bob.sendCallCandidate({ candidate: "candidate:1 1 udp 2122260223 10.0.0.1 50000 typ host", sdpMid: "0", sdpMLineIndex: 0, usernameFragment: "abcd" })).toBe(true);
    await waitFor("the refusal of a candidate with no call", () => bobLog.includes("call:error:not_in_call"));

    // Each family saw only its own messages.
    for (const line of [...aliceLog, ...bobLog]) {
      const [family, type] = line.split(":");
      if (family === "room") {
        expect(["connection_list", "send_offer", "error"]).toContain(type);
      } else if (family === "call") {
        expect(["incomingCall", "callResponse", "error"]).toContain(type);
      }
    }
    expect(bobLog.filter((line) => line.endsWith(":error:not_in_call"))).toEqual(["call:error:not_in_call"]);
  });
});

describe("recovery paths", () => {
  test("resume: a cut within the grace window takes the same session back with its room, and what was queued meanwhile goes out after", async () => {
    const proxy = await startTcpProxy({ port: server.port });
    proxies.push(proxy);
    const witness = await open(server.wsUrl);
    const victim = await open(proxy.wsUrl);
    const witnessLog = record(witness);
    const victimLog = record(victim);
    const witnessJoined = await witness.joinRoom("resume", "witness", 5_000);
    const victimJoined = await victim.joinRoom("resume", "victim", 5_000);
    const resumed = new Promise<ServerConnectionEvents["resumed"]>((resolve) => victim.once("resumed", resolve));

    const cutOver = proxy.cut(500);
    await waitFor("the victim noticed the cut", () => victim.isReconnecting);
    expect(victim.sendOffer(witnessJoined.id, SDP_OFFER)).toBe(true);
    await cutOver;
    const event = await resumed;
    expect(event).toMatchObject({ id: victimJoined.id, previousId: victimJoined.id, room: { room: "resume", username: "victim" }, login: undefined });
    expect(event.room?.list.map((participant) => participant.id).sort()).toEqual([witnessJoined.id, victimJoined.id].sort());
    expect(victim.session?.id).toBe(victimJoined.id);
    expect(victim.isOpen).toBe(true);
    await waitFor("the queued offer reached the witness", () => witnessLog.includes("room:send_offer"));
    expect(victimLog).toContain("ice-servers:resumed");
    expect(victimLog.filter((line) => line.startsWith("restarted") || line.startsWith("error"))).toEqual([]);
    expect(witnessLog).not.toContain("room:close_connection");
  });

  test("restart: a cut past the grace window restarts without a session and discards what was queued under the old one", async () => {
    const proxy = await startTcpProxy({ port: shortGraceServer.port });
    proxies.push(proxy);
    const victim = await open(proxy.wsUrl);
    const log = record(victim);
    const joined = await victim.joinRoom("restart", "victim", 5_000);
    const restarted = new Promise<ServerConnectionEvents["restarted"]>((resolve) => victim.once("restarted", resolve));

    const cutOver = proxy.cut(SHORT_GRACE_MS + 1_500);
    await waitFor("the victim noticed the cut", () => victim.isReconnecting);
    expect(victim.sendOffer(joined.id, SDP_OFFER)).toBe(true);
    await cutOver;
    expect(await restarted).toEqual({ previousId: joined.id, reason: "resume_refused" });
    expect(victim.session).toBeUndefined();
    expect(log).toContain("error:signaling_messages_dropped");
    // The family identifies again on its own.
    const rejoined = await victim.joinRoom("restart", "victim", 5_000);
    expect(rejoined.id).not.toBe(joined.id);
    expect(victim.session?.id).toBe(rejoined.id);
  });

  test("restart: a socket lost before any session restarts with reason no_session", async () => {
    const proxy = await startTcpProxy({ port: server.port });
    proxies.push(proxy);
    const connection = await open(proxy.wsUrl);
    const restarted = new Promise<ServerConnectionEvents["restarted"]>((resolve) => connection.once("restarted", resolve));
    await proxy.cut(200);
    expect(await restarted).toEqual({ previousId: undefined, reason: "no_session" });
  });
});

describe("ICE servers", () => {
  test("joined and loginResponse bring the session's ICE servers, and the refresh at 80 % gets new ones before they expire", async () => {
    const connection = await open(turnServer.wsUrl);
    const origins: string[] = [];
    const usernames: string[] = [];
    connection.on("ice-servers", ({ origin, expiresAtMs, iceServers }) => {
      origins.push(`${origin} ${expiresAtMs === undefined ? "forever" : "expiring"}`);
      usernames.push(iceServers.find((ice) => ice.username !== undefined)?.username ?? "");
    });
    const joined = await connection.joinRoom("ice", "alice", 5_000);
    expect(joined.iceServersExpireAtMs).toBeDefined();
    await connection.login({ userID: "ice-alice" }, 5_000);
    await waitFor("a refresh", () => origins.includes("refresh expiring"));
    expect(origins.slice(0, 3)).toEqual(["joined expiring", "login expiring", "refresh expiring"]);
    // One session, one credential: the login got the room's; the refresh, asked with 20 % of
    // the lifetime left, a new one (the server re-issues below 25 %).
    expect(usernames[1]).toBe(usernames[0]);
    expect(usernames[2]).not.toBe(usernames[0]);
    expect(usernames[2]).toMatch(new RegExp(`^\\d+:${joined.id}$`));
    expect(connection.iceServersExpireAtMs).toBeGreaterThan(Date.now());
  });
});
