/**
 * Resumable logins on the real server with raw WebSocket clients: a logged-in session whose socket
 * is lost abruptly is suspended like a room participant. The others see no presence change, calls
 * keep ringing and continuing, call messages for it are buffered, and `resume` brings back the login
 * (and the room, when it had one) followed by the whole directory and then what it missed. A grace
 * window that runs out ends the login exactly as a close does.
 */
import { afterEach, describe, expect, it } from "vitest";
import { CLOSE_CODES, type ServerMessage } from "../shared/protocol/index.ts";
import { startServer, type RunningServer } from "../server/server.ts";
import type { ServerConfig } from "../server/config.ts";
import { ANSWER_SDP, CANDIDATE_1, CANDIDATE_2, connectCall, logIn, ring, statusTrail, untilStatus, type LoggedIn } from "./support/call-client.ts";
import { LOOPBACK_TEST_LIMITS } from "./support/loopback-limits.ts";
import { TestClient, cutAndAwaitServer } from "./support/ws-client.ts";

/** Long enough never to run out during a test that resumes; tests of the expiry pass a short one. */
const LONG_GRACE_MS = 60_000;
const SHORT_GRACE_MS = 300;
const RENEGOTIATION_OFFER = { type: "offer", sdp: "v=0\r\no=- 1 3 IN IP4 127.0.0.1\r\ns=renegotiation\r\n" } as const;
const RENEGOTIATION_ANSWER = { type: "answer", sdp: "v=0\r\no=- 3 5 IN IP4 127.0.0.1\r\ns=renegotiation\r\n" } as const;

type LoginAccepted = Extract<ServerMessage, { type: "loginResponse"; content: "accepted" }>;

let server: RunningServer | undefined;
const clients: TestClient[] = [];

async function start(overrides: Partial<ServerConfig> = {}): Promise<RunningServer> {
  server = await startServer({
    ...LOOPBACK_TEST_LIMITS,
    host: "127.0.0.1",
    port: 0,
    iceServers: [],
    presenceWindowMs: 0,
    ringTimeoutMs: 60_000,
    resumeGraceMs: LONG_GRACE_MS,
    ...overrides,
  });
  return server;
}

async function connect(): Promise<TestClient> {
  const client = await TestClient.connect(server?.wsUrl ?? "");
  clients.push(client);
  return client;
}

/**
 * Logs a fresh connection in as `userID` (with the reclaim key of that user's login that is still
 * online, to take it over); resolves with the login and its `loginResponse`.
 */
async function user(userID: string, reclaimKey?: string): Promise<LoggedIn & { accepted: LoginAccepted }> {
  const client = await connect();
  const loggedIn = await logIn(client, userID, reclaimKey === undefined ? {} : { reclaimKey });
  return { ...loggedIn, accepted: acceptedLogin(client) };
}

/** The `loginResponse accepted` `client` received. */
function acceptedLogin(client: TestClient): LoginAccepted {
  const accepted = client.received.find((message): message is LoginAccepted => message.type === "loginResponse" && message.content === "accepted");
  if (!accepted) {
    throw new Error("no loginResponse accepted");
  }
  return accepted;
}

/** Cuts `client` as a network loss would, once this file's server has noticed. */
async function cut(client: TestClient): Promise<void> {
  await cutAndAwaitServer(client, server);
}

/** Sends `resume` for session `id` on a new connection and waits for `resumed`. */
async function resume(id: string, resumeToken: string): Promise<{ client: TestClient; resumed: Extract<ServerMessage, { type: "resumed" }> }> {
  const client = await connect();
  client.send({ type: "resume", id, resumeToken });
  return { client, resumed: await client.next("resumed") };
}

async function healthz(): Promise<Record<string, unknown>> {
  const response = await fetch(`${server?.httpUrl ?? ""}/healthz`);
  return (await response.json()) as Record<string, unknown>;
}

afterEach(async () => {
  await Promise.all(clients.splice(0).map((client) => client.close()));
  await server?.close();
  server = undefined;
});

describe("resumable logins (happy path)", () => {
  it("loginResponse accepted carries the session id, a resume token and the grace window", async () => {
    await start();
    const alice = await user("alice");
    const bob = await user("bob");
    expect(alice.accepted).toMatchObject({ id: expect.any(String), resumeGraceMs: LONG_GRACE_MS });
    expect(alice.accepted.resumeToken?.length).toBeGreaterThanOrEqual(21);
    expect(alice.accepted.resumeToken).not.toBe(bob.accepted.resumeToken);
    expect(alice.accepted.id).not.toBe(bob.accepted.id);
  });

  it.each([
    ["joined first, then logged in", true],
    ["logged in first, then joined", false],
  ])("one connection that %s gets one session id and one token in joined and loginResponse", async (_name, joinFirst) => {
    await start();
    const client = await connect();
    const joinedFirst = joinFirst ? await client.join("both", "bob") : undefined;
    await logIn(client, "bob");
    const joined = joinedFirst ?? (await client.join("both", "bob"));
    expect(acceptedLogin(client)).toMatchObject({ id: joined.id, resumeToken: joined.resumeToken });
  });

  it("a cut login is invisible to the others, and resume brings back the login, then the directory, then a call placed meanwhile", async () => {
    await start();
    const alice = await user("alice");
    const bob = await user("bob");
    await alice.client.next("presenceUpdate", (message) => message.user.userID === "bob");
    await cut(bob.client);
    // Health counts the suspended login and still lists the user online.
    expect(await healthz()).toMatchObject({ onlineUsers: 2, suspendedSessions: 1, suspendedParticipants: 0 });
    // While bob is away: alice rings him, and carol logs in (a presence change bob is not sent).
    alice.client.send({ type: "call", calleeID: "bob", sdpOffer: "v=0\r\ns=offer\r\n" });
    const carol = await user("carol");
    await untilStatus(alice.client, "carol", "online");
    expect(statusTrail(alice.client, "bob")).toEqual(["online", "connecting"]);
    expect(carol.directory).toContainEqual({ userID: "bob", username: "bob", status: "connecting" });

    const back = await resume(bob.accepted.id ?? "", bob.accepted.resumeToken ?? "");
    expect(back.resumed).toMatchObject({ id: bob.accepted.id, login: { userID: "bob", username: "bob" }, iceServers: [] });
    expect(back.resumed.room).toBeUndefined();
    expect(back.resumed.list).toBeUndefined();
    expect(back.resumed.resumeToken).not.toBe(bob.accepted.resumeToken);
    const presence = await back.client.next("presence");
    expect(presence.users.map((entry) => [entry.userID, entry.status])).toEqual([
      ["alice", "connecting"],
      ["bob", "connecting"],
      ["carol", "online"],
    ]);
    const call = await back.client.next("incomingCall");
    expect(call).toMatchObject({ callerID: "alice" });
    // Only the directory and the call came after resumed: carol's login was not buffered.
    expect(back.client.received.map((message) => message.type)).toEqual(["resumed", "presence", "incomingCall"]);

    back.client.send({ type: "incomingCallResponse", callerID: "alice", callId: call.callId, callResponse: "accepted", sdpAnswer: ANSWER_SDP });
    expect(await alice.client.next("callResponse")).toMatchObject({ callResponse: "accepted", calleeID: "bob" });
    await alice.client.sync();
    expect(statusTrail(alice.client, "bob")).not.toContain("offline");
  });

  it("a ringing call keeps ringing across a cut of the callee, and the accept after resume connects it", async () => {
    await start();
    const alice = await user("alice");
    const bob = await user("bob");
    const incoming = await ring(alice, bob);
    await cut(bob.client);
    const back = await resume(bob.accepted.id ?? "", bob.accepted.resumeToken ?? "");
    await back.client.next("presence");
    back.client.send({ type: "incomingCallResponse", callerID: "alice", callId: incoming.callId, callResponse: "accepted", sdpAnswer: ANSWER_SDP });
    expect(await alice.client.next("callResponse")).toEqual({ type: "callResponse", callResponse: "accepted", calleeID: "bob", sdpAnswer: ANSWER_SDP });
    await back.client.next("startCommunication");
    // Alice heard nothing of the cut: no notOnline before the accept.
    expect(alice.client.received.filter((message) => message.type === "callResponse")).toHaveLength(1);
  });

  it("an accepted call continues across a cut: no stopCommunication, and candidates and callDescription sent meanwhile arrive after resume, in order", async () => {
    await start();
    const alice = await user("alice");
    const bob = await user("bob");
    await connectCall(alice, bob);
    await cut(bob.client);
    alice.client.send({ type: "onIceCandidate", candidate: CANDIDATE_1 });
    alice.client.send({ type: "callDescription", sdp: RENEGOTIATION_OFFER });
    alice.client.send({ type: "onIceCandidate", candidate: CANDIDATE_2 });
    await alice.client.sync();
    expect(alice.client.pending().filter((message) => message.type === "stopCommunication" || message.type === "error")).toEqual([]);

    const back = await resume(bob.accepted.id ?? "", bob.accepted.resumeToken ?? "");
    await back.client.sync();
    expect(back.client.received).toEqual([
      back.resumed,
      expect.objectContaining({ type: "presence" }),
      { type: "iceCandidate", candidate: CANDIDATE_1 },
      { type: "callDescription", sdp: RENEGOTIATION_OFFER },
      { type: "iceCandidate", candidate: CANDIDATE_2 },
    ]);
    // The resumed connection is bob in the call: its answer reaches alice.
    back.client.send({ type: "callDescription", sdp: RENEGOTIATION_ANSWER });
    expect(await alice.client.next("callDescription")).toEqual({ type: "callDescription", sdp: RENEGOTIATION_ANSWER });
    await alice.client.sync();
    expect(alice.client.received.some((message) => message.type === "stopCommunication")).toBe(false);
    expect(statusTrail(alice.client, "bob")).toEqual(["online", "connecting", "in_call"]);
  });

  it("a session with a room and a login resumes both: room fields and login in resumed, then the directory, then room and call messages in order", async () => {
    await start();
    const member = await connect();
    const memberJoined = await member.join("both", "mia");
    const alice = await user("alice");
    const bob = await connect();
    const bobJoined = await bob.join("both", "bob");
    await logIn(bob, "bob");
    await member.next("connection_list", (message) => message.newUserId === bobJoined.id);
    await cut(bob);
    expect(await healthz()).toMatchObject({ suspendedSessions: 1, suspendedParticipants: 1 });
    member.send({ type: "send_offer", targetId: bobJoined.id, sdp: { type: "offer", sdp: "room offer" } });
    await member.sync();
    alice.client.send({ type: "call", calleeID: "bob", sdpOffer: "v=0\r\ns=offer\r\n" });
    await untilStatus(alice.client, "bob", "connecting");

    const back = await resume(bobJoined.id, bobJoined.resumeToken);
    expect(back.resumed).toMatchObject({
      id: bobJoined.id,
      room: "both",
      username: "bob",
      list: [
        { id: memberJoined.id, username: "mia" },
        { id: bobJoined.id, username: "bob" },
      ],
      login: { userID: "bob", username: "bob" },
    });
    await back.client.next("incomingCall");
    expect(back.client.received.map((message) => message.type)).toEqual(["resumed", "presence", "send_offer", "incomingCall"]);
    expect(member.received.some((message) => message.type === "close_connection")).toBe(false);
  });

  it("leaving the room with close_connection keeps a logged-in session resumable with the same token, without the room", async () => {
    await start();
    const bob = await connect();
    const joined = await bob.join("left", "bob");
    await logIn(bob, "bob");
    bob.send({ type: "close_connection" });
    await bob.sync();
    await cut(bob);
    const back = await resume(joined.id, joined.resumeToken);
    expect(back.resumed).toMatchObject({ id: joined.id, login: { userID: "bob", username: "bob" } });
    expect(back.resumed.room).toBeUndefined();
  });

  it("a resume on a new connection takes over a login whose old socket the server still thinks open (4004)", async () => {
    await start();
    const alice = await user("alice");
    const bob = await user("bob");
    await connectCall(alice, bob);
    const back = await resume(bob.accepted.id ?? "", bob.accepted.resumeToken ?? "");
    expect(await bob.client.closed).toBe(CLOSE_CODES.resumed_elsewhere);
    await back.client.next("presence");
    alice.client.send({ type: "onIceCandidate", candidate: CANDIDATE_1 });
    expect(await back.client.next("iceCandidate")).toEqual({ type: "iceCandidate", candidate: CANDIDATE_1 });
    await alice.client.sync();
    expect(alice.client.received.some((message) => message.type === "stopCommunication")).toBe(false);
    expect(statusTrail(alice.client, "bob")).not.toContain("offline");
  });
});

describe("resumable logins (failure cases)", () => {
  it("when the grace window ends the login ends as a close ends it: presenceLeft, stopCommunication disconnected, and resume fails", async () => {
    await start({ resumeGraceMs: SHORT_GRACE_MS });
    const alice = await user("alice");
    const bob = await user("bob");
    const carol = await user("carol");
    await connectCall(alice, bob);
    await cut(bob.client);
    expect(await alice.client.next("stopCommunication")).toEqual({ type: "stopCommunication", reason: "disconnected" });
    await carol.client.next("presenceChanges", (message) => message.left.includes("bob"));
    expect(statusTrail(carol.client, "bob").at(-1)).toBe("offline");
    const late = await connect();
    late.send({ type: "resume", id: bob.accepted.id, resumeToken: bob.accepted.resumeToken });
    expect(await late.next("error")).toMatchObject({ code: "resume_failed", refType: "resume" });
    expect(await healthz()).toMatchObject({ onlineUsers: 2, suspendedSessions: 0 });
  });

  it("when the grace window of a rung callee ends the caller gets notOnline, as for a closed connection", async () => {
    await start({ resumeGraceMs: SHORT_GRACE_MS });
    const alice = await user("alice");
    const bob = await user("bob");
    await ring(alice, bob);
    await cut(bob.client);
    expect(await alice.client.next("callResponse")).toEqual({ type: "callResponse", callResponse: "notOnline", calleeID: "bob" });
  });

  it("refuses a wrong token with resume_failed and leaves the suspension alone", async () => {
    await start();
    const alice = await user("alice");
    const bob = await user("bob");
    await cut(bob.client);
    const thief = await connect();
    thief.send({ type: "resume", id: bob.accepted.id, resumeToken: `${bob.accepted.resumeToken ?? ""}x` });
    expect(await thief.next("error")).toMatchObject({ code: "resume_failed", refType: "resume" });
    const back = await resume(bob.accepted.id ?? "", bob.accepted.resumeToken ?? "");
    expect(back.resumed.login).toEqual({ userID: "bob", username: "bob" });
    await alice.client.sync();
    expect(statusTrail(alice.client, "bob")).toEqual(["online"]);
  });

  it("a stranger's login with the user id of a suspended login is refused user_online: the suspension stays, resumes with its call, and nobody saw a thing", async () => {
    await start();
    const alice = await user("alice");
    const bob = await user("bob");
    await connectCall(alice, bob);
    await cut(bob.client);
    for (const reclaimKey of [undefined, "x".repeat(32), alice.reclaimKey]) {
      const stranger = await connect();
      stranger.send({ type: "login", userID: "bob", ...(reclaimKey === undefined ? {} : { reclaimKey }) });
      expect(await stranger.next("loginResponse")).toMatchObject({ content: "rejected", code: "user_online" });
    }
    expect(await healthz()).toMatchObject({ onlineUsers: 2, suspendedSessions: 1 });
    // The call goes on across the resume: what alice sends meanwhile is held for bob.
    alice.client.send({ type: "onIceCandidate", candidate: CANDIDATE_1 });
    await alice.client.sync();
    const back = await resume(bob.accepted.id ?? "", bob.accepted.resumeToken ?? "");
    expect(back.resumed.login).toEqual({ userID: "bob", username: "bob" });
    expect(await back.client.next("iceCandidate")).toEqual({ type: "iceCandidate", candidate: CANDIDATE_1 });
    back.client.send({ type: "stop" });
    expect(await alice.client.next("stopCommunication")).toEqual({ type: "stopCommunication", reason: "normal" });
    expect(statusTrail(alice.client, "bob")).not.toContain("offline");
    expect(alice.client.received.filter((message) => message.type === "stopCommunication")).toEqual([{ type: "stopCommunication", reason: "normal" }]);
  });

  it("a new login with the user id of a suspended login and its reclaim key takes over: the suspension is discarded as newer login wins", async () => {
    await start();
    const alice = await user("alice");
    const bob = await user("bob");
    await connectCall(alice, bob);
    await cut(bob.client);
    const newBob = await user("bob", bob.reclaimKey);
    expect(newBob.directory).toContainEqual({ userID: "bob", username: "bob", status: "online" });
    expect(await alice.client.next("stopCommunication")).toEqual({ type: "stopCommunication", reason: "replaced" });
    const old = await connect();
    old.send({ type: "resume", id: bob.accepted.id, resumeToken: bob.accepted.resumeToken });
    expect(await old.next("error")).toMatchObject({ code: "resume_failed" });
    await alice.client.sync();
    expect(statusTrail(alice.client, "bob")).not.toContain("offline");
    expect(await healthz()).toMatchObject({ onlineUsers: 2, suspendedSessions: 0 });
  });

  it("a login whose resume buffer overflows ends as a leave: the other party of its call gets stopCommunication disconnected", async () => {
    await start({ messageBurst: 1_000, messagesPerSecond: 1_000 });
    const alice = await user("alice");
    const bob = await user("bob");
    await connectCall(alice, bob);
    await cut(bob.client);
    // One candidate more than the 256 frames a suspended session may hold.
    for (let index = 0; index <= 256; index += 1) {
      alice.client.send({ type: "onIceCandidate", candidate: { ...CANDIDATE_1, candidate: `candidate:${index} 1 udp 1 127.0.0.1 ${50_000 + index} typ host` } });
    }
    expect(await alice.client.next("stopCommunication")).toEqual({ type: "stopCommunication", reason: "disconnected" });
    await alice.client.next("presenceChanges", (message) => message.left.includes("bob"));
  });

  it("does not suspend a login when resumption is off (grace 0)", async () => {
    await start({ resumeGraceMs: 0 });
    const alice = await user("alice");
    const bob = await user("bob");
    await cut(bob.client);
    await alice.client.next("presenceLeft", (message) => message.userID === "bob");
  });
});
