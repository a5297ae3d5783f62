/**
 * Integration tests of calls and presence: the real uWebSockets.js server on an ephemeral port with
 * a shortened ring timeout, raw WebSocket clients speaking the wire protocol of
 * `docs/protocol-calls.md`. The state machine itself is covered exhaustively by `calls.test.ts`;
 * these tests check that what it decides reaches the right sockets, in the documented order.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { CLOSE_CODES, type ErrorCode } from "../shared/protocol/index.ts";
import { startServer, type RunningServer } from "../server/server.ts";
import {
  ANSWER_SDP,
  CANDIDATE_1,
  CANDIDATE_2,
  OFFER_SDP,
  callAndPresenceMessages,
  connectCall,
  eventually,
  logIn,
  ring,
  statusTrail,
  untilStatus,
  type LoggedIn,
  type LoginExtras,
} from "./support/call-client.ts";
import { TestClient } from "./support/ws-client.ts";
import { LOOPBACK_TEST_LIMITS } from "./support/loopback-limits.ts";

/** Short enough to wait for in a test, long enough never to fire while a test is still ringing. */
const RING_TIMEOUT_MS = 1_500;

/** The server's `ENDING_MS`, plus slack: how long an ended call's parties may stay `ending`. */
const ENDING_SETTLE_MS = 5_000;

let server: RunningServer;
const openClients: TestClient[] = [];
let userCounter = 0;

/** A user id no other test uses (the lobby is server-wide, so tests must not collide). */
function freshId(name: string): string {
  userCounter += 1;
  return `${name}-${userCounter}`;
}

async function connect(): Promise<TestClient> {
  const client = await TestClient.connect(server.wsUrl);
  openClients.push(client);
  return client;
}

/** Connects and logs in one user with a fresh id derived from `name`. */
async function user(name: string, extras: LoginExtras = {}): Promise<LoggedIn> {
  return logIn(await connect(), freshId(name), extras);
}

/** Logs in one user per name, in order. */
async function users<Names extends string[]>(...names: Names): Promise<{ [Index in keyof Names]: LoggedIn }> {
  const logged: LoggedIn[] = [];
  for (const name of names) {
    logged.push(await user(name));
  }
  return logged as { [Index in keyof Names]: LoggedIn };
}

/** Asserts that none of `clients` has received anything it has not consumed yet. */
async function expectNothingMore(...clients: TestClient[]): Promise<void> {
  for (const client of clients) {
    await client.sync();
    expect(client.pending()).toEqual([]);
  }
}

/** Consumes everything `clients` have received so far. */
async function drain(...clients: TestClient[]): Promise<void> {
  for (const client of clients) {
    await client.sync();
    for (const message of client.pending()) {
      await client.next(message.type);
    }
  }
}

beforeAll(async () => {
  // A presence window of 0 (one event-loop turn): each step of these tests is a round trip, so each
  // is its own window and the status trails stay step by step; coalescing over a longer window is
  // tested at the end of this file. No grace window: a dropped connection ends its login at once,
  // as these tests expect; suspended logins are tested in login-resume.test.ts.
  server = await startServer({
    ...LOOPBACK_TEST_LIMITS,
    host: "127.0.0.1",
    port: 0,
    iceServers: [],
    ringTimeoutMs: RING_TIMEOUT_MS,
    avatarHosts: ["example.test"],
    presenceWindowMs: 0,
    resumeGraceMs: 0,
  });
});

afterEach(async () => {
  await Promise.all(openClients.splice(0).map((client) => client.close()));
  // A terminated socket is closed on the client at once but on the server a moment later: wait, so
  // that its presenceLeft never reaches the next test's users.
  await eventually("the server has closed every connection", () => server.connectionCount() === 0);
});

afterAll(async () => {
  await server.close();
});

describe("login and the presence directory (happy path)", () => {
  it("login answers loginResponse accepted with the id, display name and reclaim key, then the whole directory including the new user", async () => {
    const alice = await user("alice", { username: "Alice", avatar: "/avatars/alice.png" });
    const client = await connect();
    const bobID = freshId("bob");
    client.send({ type: "login", userID: bobID });
    expect(await client.next("loginResponse")).toEqual({
      type: "loginResponse",
      content: "accepted",
      userID: bobID,
      username: bobID,
      reclaimKey: expect.stringMatching(/^[\w-]{32}$/),
      id: expect.any(String),
      resumeToken: expect.any(String),
      resumeGraceMs: 0,
    });
    const presence = await client.next("presence");
    expect(presence.users).toContainEqual({ userID: alice.userID, username: "Alice", avatar: "/avatars/alice.png", status: "online" });
    expect(presence.users).toContainEqual({ userID: bobID, username: bobID, status: "online" });
  });

  it("login echoes the avatar and trims the user id", async () => {
    const client = await connect();
    const id = freshId("trimmed");
    client.send({ type: "login", userID: `  ${id}  `, username: "Trim", avatar: "https://example.test/a.png" });
    expect(await client.next("loginResponse")).toEqual({
      type: "loginResponse",
      content: "accepted",
      userID: id,
      username: "Trim",
      avatar: "https://example.test/a.png",
      reclaimKey: expect.stringMatching(/^[\w-]{32}$/),
      id: expect.any(String),
      resumeToken: expect.any(String),
      resumeGraceMs: 0,
    });
  });

  it("a new user is announced with presenceUpdate online to everyone already logged in, and not to itself", async () => {
    const [alice, bob] = await users("alice", "bob");
    const carol = await user("carol");
    for (const observer of [alice, bob]) {
      const update = await observer.client.next("presenceUpdate", (message) => message.user.userID === carol.userID);
      expect(update.user).toEqual({ userID: carol.userID, username: carol.userID, status: "online" });
    }
    await expectNothingMore(carol.client);
  });

  it("a user whose connection closes is announced with presenceLeft to everyone still logged in", async () => {
    const [alice, bob, carol] = await users("alice", "bob", "carol");
    await carol.client.close();
    for (const observer of [alice, bob]) {
      expect(await observer.client.next("presenceLeft", (message) => message.userID === carol.userID)).toEqual({
        type: "presenceLeft",
        userID: carol.userID,
      });
    }
  });

  it("a connection that never logged in receives no presence at all, even while others come and go", async () => {
    const roomOnly = await connect();
    await roomOnly.join("lobby-watcher", "watcher");
    await roomOnly.next("connection_list");
    const [alice] = await users("alice", "bob");
    await alice.client.close();
    await expectNothingMore(roomOnly);
  });

  it("one connection may be in a room and logged in at once; both families work side by side", async () => {
    const client = await connect();
    await client.join("both-families", "dual");
    await client.next("connection_list");
    const dual = await logIn(client, freshId("dual"));
    const bob = await user("bob");
    await connectCall(dual, bob);
    expect(client.pending().filter((message) => message.type === "error")).toEqual([]);
  });
});

describe("login refusals (failure cases)", () => {
  const badLogins: Array<{ name: string; frame: object }> = [
    { name: "an empty userID", frame: { type: "login", userID: "" } },
    { name: "a userID of spaces", frame: { type: "login", userID: "   " } },
    { name: "a userID longer than 64 characters", frame: { type: "login", userID: "x".repeat(65) } },
    { name: "a userID with a control character", frame: { type: "login", userID: "a\u0007b" } },
    { name: "a numeric userID", frame: { type: "login", userID: 42 } },
    { name: "a missing userID", frame: { type: "login" } },
    { name: "a javascript: avatar", frame: { type: "login", userID: "ok", avatar: "javascript:alert(1)" } },
    { name: "a data: avatar", frame: { type: "login", userID: "ok", avatar: "data:image/png;base64,AAAA" } },
    { name: "an empty username", frame: { type: "login", userID: "ok", username: " " } },
  ];

  it.each(badLogins)("login with $name is answered loginResponse rejected bad_message and the connection may log in again", async ({ frame }) => {
    const [observer] = await users("observer");
    const client = await connect();
    client.send(frame);
    const response = await client.next("loginResponse");
    expect(response).toMatchObject({ type: "loginResponse", content: "rejected", code: "bad_message" });
    expect(response.content === "rejected" && response.error.length > 0).toBe(true);
    expect(client.closeCode).toBeUndefined();
    // Nobody was told about a user that never logged in.
    await expectNothingMore(client, observer.client);
    await logIn(client, freshId("retry"));
  });

  it("a second login on the same connection is refused with already_logged_in and the first identity stays", async () => {
    const [alice, observer] = await users("alice", "observer");
    alice.client.send({ type: "login", userID: freshId("other") });
    expect(await alice.client.next("loginResponse")).toMatchObject({ content: "rejected", code: "already_logged_in" });
    await expectNothingMore(observer.client);
    // Still reachable under the first id.
    observer.client.send({ type: "call", calleeID: alice.userID, sdpOffer: OFFER_SDP });
    expect(await alice.client.next("incomingCall")).toMatchObject({ callerID: observer.userID });
  });

  const beforeLogin: Array<{ type: string; frame: object }> = [
    { type: "call", frame: { type: "call", calleeID: "someone", sdpOffer: OFFER_SDP } },
    { type: "incomingCallResponse", frame: { type: "incomingCallResponse", callerID: "someone", callResponse: "rejected" } },
    { type: "stopCall", frame: { type: "stopCall" } },
    { type: "stop", frame: { type: "stop" } },
    { type: "onIceCandidate", frame: { type: "onIceCandidate", candidate: CANDIDATE_1 } },
  ];

  it.each(beforeLogin)("$type before login is refused with error not_logged_in", async ({ type, frame }) => {
    const client = await connect();
    client.send(frame);
    expect(await client.next("error")).toMatchObject({ code: "not_logged_in", refType: type });
  });
});

describe("open mode: a stranger's login with a userID that is online is refused user_online and changes nothing", () => {
  /** Has a stranger's new connection log in as `userID` (with `extras`) and expects `user_online`. */
  async function strangerRefused(userID: string, extras: LoginExtras = {}): Promise<TestClient> {
    const stranger = await connect();
    stranger.send({ type: "login", userID, ...extras });
    expect(await stranger.next("loginResponse")).toMatchObject({ content: "rejected", code: "user_online" });
    return stranger;
  }

  it("the online user keeps its connection and its call in progress, and nobody sees a presence change", async () => {
    const [observer, alice, bob] = await users("observer", "alice", "bob");
    await connectCall(alice, bob);
    await untilStatus(observer.client, bob.userID, "in_call");
    await drain(observer.client, alice.client, bob.client);

    const stranger = await strangerRefused(bob.userID, { username: "Mallory" });
    await expectNothingMore(observer.client, alice.client, bob.client);
    expect(bob.client.closeCode).toBeUndefined();
    expect(JSON.stringify(stranger.received)).not.toContain("presence");

    // The call still runs between the two: candidates cross, and hanging up reaches the other side.
    alice.client.send({ type: "onIceCandidate", candidate: CANDIDATE_1 });
    expect(await bob.client.next("iceCandidate")).toEqual({ type: "iceCandidate", candidate: CANDIDATE_1 });
    bob.client.send({ type: "stop" });
    expect(await alice.client.next("stopCommunication")).toEqual({ type: "stopCommunication", reason: "normal" });
  });

  it("a ringing callee still gets to answer, and the caller hears it", async () => {
    const [alice, bob] = await users("alice", "bob");
    const incoming = await ring(alice, bob);
    await strangerRefused(bob.userID);
    bob.client.send({ type: "incomingCallResponse", callerID: alice.userID, callId: incoming.callId, callResponse: "accepted", sdpAnswer: ANSWER_SDP });
    expect(await alice.client.next("callResponse")).toEqual({ type: "callResponse", callResponse: "accepted", calleeID: bob.userID, sdpAnswer: ANSWER_SDP });
  });

  it.each([
    ["a made-up reclaim key", () => "x".repeat(32)],
    ["another user's reclaim key", (other: LoggedIn) => other.reclaimKey],
  ])("with %s: refused too", async (_label, keyFor) => {
    const [alice, bob] = await users("alice", "bob");
    await drain(alice.client, bob.client);
    await strangerRefused(bob.userID, { reclaimKey: keyFor(alice) });
    await expectNothingMore(alice.client, bob.client);
    expect(bob.client.closeCode).toBeUndefined();
  });

  it("the reclaim key of a login that was taken over since is refused: every login gets a new one", async () => {
    const bob = await user("bob");
    const newerBob = await logIn(await connect(), bob.userID, { reclaimKey: bob.reclaimKey });
    expect(newerBob.reclaimKey).not.toBe(bob.reclaimKey);
    expect(newerBob.reclaimKey).toMatch(/^[\w-]{32}$/);
    await strangerRefused(bob.userID, { reclaimKey: bob.reclaimKey });
    expect(newerBob.client.closeCode).toBeUndefined();
  });

  it("the user id is free again once its login ended", async () => {
    const bob = await user("bob");
    await bob.client.close();
    await logIn(await connect(), bob.userID);
  });
});

describe("the same userID logging in twice with that user's reclaim key: the newer connection wins", () => {
  it("the older connection gets loggedOut replaced and close code 4003; the newer gets the directory; others see one presenceUpdate and no presenceLeft", async () => {
    const [observer, older] = await users("observer", "twice");
    await drain(observer.client);
    const newerClient = await connect();
    const newer = await logIn(newerClient, older.userID, { username: "Twice again", reclaimKey: older.reclaimKey });

    expect(await older.client.next("loggedOut")).toEqual({ type: "loggedOut", reason: "replaced" });
    expect(await older.client.closed).toBe(CLOSE_CODES.replaced);
    expect(newer.directory).toContainEqual({ userID: older.userID, username: "Twice again", status: "online" });

    await observer.client.sync();
    const seen = observer.client.pending().filter((message) =>
      (message.type === "presenceUpdate" && message.user.userID === older.userID) ||
      (message.type === "presenceLeft" && message.userID === older.userID));
    expect(seen).toEqual([{ type: "presenceUpdate", user: { userID: older.userID, username: "Twice again", status: "online" } }]);
  });

  it("a replaced user's call ends for the other party with stopCommunication replaced", async () => {
    const [alice, bob] = await users("alice", "bob");
    await connectCall(alice, bob);
    await logIn(await connect(), bob.userID, { reclaimKey: bob.reclaimKey });
    expect(await alice.client.next("stopCommunication")).toEqual({ type: "stopCommunication", reason: "replaced" });
    expect(await bob.client.closed).toBe(CLOSE_CODES.replaced);
  });

  it("a replaced callee that was ringing answers the caller with callResponse notOnline", async () => {
    const [alice, bob] = await users("alice", "bob");
    await ring(alice, bob);
    await logIn(await connect(), bob.userID, { reclaimKey: bob.reclaimKey });
    expect(await alice.client.next("callResponse")).toEqual({ type: "callResponse", callResponse: "notOnline", calleeID: bob.userID });
  });
});

describe("callResponse outcomes (happy path)", () => {
  it("call rings the callee with incomingCall carrying the stamped caller, its name, avatar and SDP offer", async () => {
    const alice = await user("alice", { username: "Alice", avatar: "/a.png" });
    const bob = await user("bob");
    // A forged callerID is ignored: the server stamps the caller from its login.
    alice.client.send({ type: "call", callerID: "mallory", calleeID: bob.userID, sdpOffer: OFFER_SDP });
    const incoming = await bob.client.next("incomingCall");
    expect(incoming).toEqual({
      type: "incomingCall",
      callId: expect.stringMatching(/^[A-Za-z0-9_-]+$/),
      callerID: alice.userID,
      username: "Alice",
      avatar: "/a.png",
      sdpOffer: OFFER_SDP,
    });
  });

  it("incomingCall sends an empty avatar when the caller has none, as seed 000 always sends the field", async () => {
    const [alice, bob] = await users("alice", "bob");
    expect((await ring(alice, bob)).avatar).toBe("");
  });

  it("accepted: the caller gets callResponse accepted with the callee's SDP answer and the callee startCommunication", async () => {
    const [alice, bob] = await users("alice", "bob");
    const incoming = await ring(alice, bob);
    bob.client.send({ type: "incomingCallResponse", callerID: alice.userID, callId: incoming.callId, callResponse: "accepted", sdpAnswer: ANSWER_SDP });
    expect(await alice.client.next("callResponse")).toEqual({ type: "callResponse", callResponse: "accepted", calleeID: bob.userID, sdpAnswer: ANSWER_SDP });
    expect(await bob.client.next("startCommunication")).toEqual({ type: "startCommunication", callId: incoming.callId, callerID: alice.userID });
  });

  it("accepted with seed 000's field name sdpOffer and without callId is read as the SDP answer", async () => {
    const [alice, bob] = await users("alice", "bob");
    await ring(alice, bob);
    bob.client.send({ type: "incomingCallResponse", callerID: alice.userID, callResponse: "accepted", sdpOffer: ANSWER_SDP });
    expect(await alice.client.next("callResponse")).toMatchObject({ callResponse: "accepted", sdpAnswer: ANSWER_SDP });
    await bob.client.next("startCommunication");
  });

  it("rejected: the caller gets callResponse rejected and the callee nothing more", async () => {
    const [alice, bob] = await users("alice", "bob");
    const incoming = await ring(alice, bob);
    bob.client.send({ type: "incomingCallResponse", callerID: alice.userID, callId: incoming.callId, callResponse: "rejected" });
    expect(await alice.client.next("callResponse")).toEqual({ type: "callResponse", callResponse: "rejected", calleeID: bob.userID });
    await drain(alice.client);
    await bob.client.sync();
    expect(bob.client.pending().filter((message) => !PRESENCE_DELTA_TYPES.has(message.type))).toEqual([]);
  });

  it("rejected: a callee's stop while ringing also rejects", async () => {
    const [alice, bob] = await users("alice", "bob");
    await ring(alice, bob);
    bob.client.send({ type: "stop" });
    expect(await alice.client.next("callResponse")).toMatchObject({ callResponse: "rejected", calleeID: bob.userID });
  });

  it("exception: a callee that cannot set up media answers exception and the caller gets callResponse exception", async () => {
    const [alice, bob] = await users("alice", "bob");
    const incoming = await ring(alice, bob);
    bob.client.send({ type: "incomingCallResponse", callerID: alice.userID, callId: incoming.callId, callResponse: "exception" });
    expect(await alice.client.next("callResponse")).toEqual({ type: "callResponse", callResponse: "exception", calleeID: bob.userID });
  });

  it("NotResponse: after the ring timeout the caller gets callResponse NotResponse and the callee incomingCallNotResponse", async () => {
    const [alice, bob] = await users("alice", "bob");
    const incoming = await ring(alice, bob);
    expect(await alice.client.next("callResponse", undefined, RING_TIMEOUT_MS + 10_000)).toEqual({
      type: "callResponse",
      callResponse: "NotResponse",
      calleeID: bob.userID,
    });
    expect(await bob.client.next("incomingCallNotResponse")).toEqual({ type: "incomingCallNotResponse", callId: incoming.callId, callerID: alice.userID });
    // Both are free again: the callee can be rung at once.
    await ring(alice, bob);
  });

  it("an answer after the ring timed out is refused with not_in_call and the caller sees nothing", async () => {
    const [alice, bob] = await users("alice", "bob");
    const incoming = await ring(alice, bob);
    await bob.client.next("incomingCallNotResponse", undefined, RING_TIMEOUT_MS + 10_000);
    await alice.client.next("callResponse");
    bob.client.send({ type: "incomingCallResponse", callerID: alice.userID, callId: incoming.callId, callResponse: "accepted", sdpAnswer: ANSWER_SDP });
    expect(await bob.client.next("error")).toMatchObject({ code: "not_in_call", refType: "incomingCallResponse" });
    await alice.client.sync();
    expect(alice.client.pending().filter((message) => message.type === "callResponse")).toEqual([]);
  });

  it("notOnline: calling a user id nobody logged in with", async () => {
    const [alice] = await users("alice");
    alice.client.send({ type: "call", calleeID: freshId("nobody"), sdpOffer: OFFER_SDP });
    expect(await alice.client.next("callResponse")).toMatchObject({ callResponse: "notOnline" });
  });

  it("notOnline: calling a user who has gone offline", async () => {
    const [alice, bob] = await users("alice", "bob");
    await bob.client.close();
    await alice.client.next("presenceLeft", (message) => message.userID === bob.userID);
    alice.client.send({ type: "call", calleeID: bob.userID, sdpOffer: OFFER_SDP });
    expect(await alice.client.next("callResponse")).toEqual({ type: "callResponse", callResponse: "notOnline", calleeID: bob.userID });
  });

  it("inCalling: calling a user who is being rung by someone else", async () => {
    const [alice, bob, carol] = await users("alice", "bob", "carol");
    await ring(alice, bob);
    carol.client.send({ type: "call", calleeID: bob.userID, sdpOffer: OFFER_SDP });
    expect(await carol.client.next("callResponse")).toEqual({ type: "callResponse", callResponse: "inCalling", calleeID: bob.userID });
    await bob.client.sync();
    expect(bob.client.pending().filter((message) => message.type === "incomingCall")).toEqual([]);
  });

  it("inCalling: calling a user who is placing a call", async () => {
    const [alice, bob, carol] = await users("alice", "bob", "carol");
    await ring(alice, bob);
    carol.client.send({ type: "call", calleeID: alice.userID, sdpOffer: OFFER_SDP });
    expect(await carol.client.next("callResponse")).toMatchObject({ callResponse: "inCalling", calleeID: alice.userID });
  });

  it("inCalling: a third user calling someone in an accepted call is busy", async () => {
    const [alice, bob, carol] = await users("alice", "bob", "carol");
    await connectCall(alice, bob);
    for (const target of [alice, bob]) {
      carol.client.send({ type: "call", calleeID: target.userID, sdpOffer: OFFER_SDP });
      expect(await carol.client.next("callResponse")).toMatchObject({ callResponse: "inCalling", calleeID: target.userID });
    }
    await expectNothingMoreThanPresence(alice.client, bob.client);
  });

  it("inCalling: when both call each other at once, the second call to reach the server is answered busy and the first rings", async () => {
    const [alice, bob] = await users("alice", "bob");
    alice.client.send({ type: "call", calleeID: bob.userID, sdpOffer: OFFER_SDP });
    await bob.client.next("incomingCall");
    // Bob had not seen the ring yet when he called.
    bob.client.send({ type: "call", calleeID: alice.userID, sdpOffer: OFFER_SDP });
    expect(await bob.client.next("callResponse")).toEqual({ type: "callResponse", callResponse: "inCalling", calleeID: alice.userID });
    await alice.client.sync();
    expect(alice.client.pending().filter((message) => message.type === "incomingCall" || message.type === "callResponse")).toEqual([]);
  });
});

/** Asserts that `clients` received nothing but presence updates since their last consumed message. */
async function expectNothingMoreThanPresence(...clients: TestClient[]): Promise<void> {
  for (const client of clients) {
    await client.sync();
    expect(client.pending().filter((message) => !PRESENCE_DELTA_TYPES.has(message.type))).toEqual([]);
  }
}

/** The presence messages that carry changes (not the snapshot). */
const PRESENCE_DELTA_TYPES: ReadonlySet<string> = new Set(["presenceUpdate", "presenceLeft", "presenceChanges"]);

describe("cancelling and hanging up (happy path)", () => {
  it("stopCall while ringing sends incomingCallStopped to the callee (a missed call) and nothing to the caller", async () => {
    const [alice, bob] = await users("alice", "bob");
    const incoming = await ring(alice, bob);
    alice.client.send({ type: "stopCall" });
    expect(await bob.client.next("incomingCallStopped")).toEqual({ type: "incomingCallStopped", callId: incoming.callId, callerID: alice.userID });
    await expectNothingMoreThanPresence(alice.client);
  });

  it("the caller's stop while ringing cancels just like stopCall", async () => {
    const [alice, bob] = await users("alice", "bob");
    await ring(alice, bob);
    alice.client.send({ type: "stop" });
    expect(await bob.client.next("incomingCallStopped")).toMatchObject({ callerID: alice.userID });
  });

  it("an accept that crosses the caller's stopCall is refused with not_in_call and the caller sees nothing", async () => {
    const [alice, bob] = await users("alice", "bob");
    const incoming = await ring(alice, bob);
    alice.client.send({ type: "stopCall" });
    await bob.client.next("incomingCallStopped");
    bob.client.send({ type: "incomingCallResponse", callerID: alice.userID, callId: incoming.callId, callResponse: "accepted", sdpAnswer: ANSWER_SDP });
    expect(await bob.client.next("error")).toMatchObject({ code: "not_in_call", refType: "incomingCallResponse" });
    await expectNothingMoreThanPresence(alice.client);
  });

  it("stop in an accepted call sends stopCommunication normal to the other party only", async () => {
    const [alice, bob] = await users("alice", "bob");
    await connectCall(alice, bob);
    alice.client.send({ type: "stop" });
    expect(await bob.client.next("stopCommunication")).toEqual({ type: "stopCommunication", reason: "normal" });
    await expectNothingMoreThanPresence(alice.client);
  });

  it("the callee may hang up too: the caller gets stopCommunication normal", async () => {
    const [alice, bob] = await users("alice", "bob");
    await connectCall(alice, bob);
    bob.client.send({ type: "stopCall" });
    expect(await alice.client.next("stopCommunication")).toEqual({ type: "stopCommunication", reason: "normal" });
  });

  it("stop with reason exception reaches the other party as stopCommunication exception", async () => {
    const [alice, bob] = await users("alice", "bob");
    await connectCall(alice, bob);
    bob.client.send({ type: "stop", reason: "exception" });
    expect(await alice.client.next("stopCommunication")).toEqual({ type: "stopCommunication", reason: "exception" });
  });

  it("hanging up twice, or with no call at all, is not an error and sends nothing", async () => {
    const [alice, bob] = await users("alice", "bob");
    alice.client.send({ type: "stop" });
    await connectCall(alice, bob);
    alice.client.send({ type: "stop" });
    await bob.client.next("stopCommunication");
    alice.client.send({ type: "stop" });
    bob.client.send({ type: "stop" });
    await expectNothingMoreThanPresence(alice.client, bob.client);
  });

  it("the two users can call each other again once the ending period is over", async () => {
    const [alice, bob] = await users("alice", "bob");
    await connectCall(alice, bob);
    alice.client.send({ type: "stop" });
    await bob.client.next("stopCommunication");
    await untilStatus(bob.client, bob.userID, "online", ENDING_SETTLE_MS);
    await connectCall(bob, alice);
  });
});

describe("dropped connections (failure cases)", () => {
  it("a callee whose connection drops mid-call ends the call for the caller with stopCommunication disconnected", async () => {
    const [alice, bob] = await users("alice", "bob");
    await connectCall(alice, bob);
    bob.client.socket.terminate();
    expect(await alice.client.next("stopCommunication")).toEqual({ type: "stopCommunication", reason: "disconnected" });
    // Alice's own change to ending and bob's departure are one step: one presenceChanges.
    expect(await alice.client.next("presenceChanges")).toEqual({
      type: "presenceChanges",
      users: [{ userID: alice.userID, username: alice.userID, status: "ending" }],
      left: [bob.userID],
    });
  });

  it("a caller whose connection closes cleanly mid-call is reported the same way: an abnormal end", async () => {
    const [alice, bob] = await users("alice", "bob");
    await connectCall(alice, bob);
    await alice.client.close();
    const stop = await bob.client.next("stopCommunication");
    expect(stop.reason).not.toBe("normal");
    expect(stop.reason).toBe("disconnected");
  });

  it("a caller whose connection drops while ringing leaves the callee a missed call (incomingCallStopped)", async () => {
    const [alice, bob] = await users("alice", "bob");
    const incoming = await ring(alice, bob);
    alice.client.socket.terminate();
    expect(await bob.client.next("incomingCallStopped")).toEqual({ type: "incomingCallStopped", callId: incoming.callId, callerID: alice.userID });
  });

  it("a callee whose connection drops while ringing answers the caller notOnline", async () => {
    const [alice, bob] = await users("alice", "bob");
    await ring(alice, bob);
    bob.client.socket.terminate();
    expect(await alice.client.next("callResponse")).toEqual({ type: "callResponse", callResponse: "notOnline", calleeID: bob.userID });
  });
});

describe("call refusals (failure cases)", () => {
  interface RefusalCase {
    name: string;
    /** Puts alice (and maybe bob) in the state the refusal needs; returns the frame alice sends. */
    arrange: (alice: LoggedIn, bob: LoggedIn, carol: LoggedIn) => Promise<object>;
    code: ErrorCode;
    refType: string;
  }

  const cases: RefusalCase[] = [
    {
      name: "calling oneself",
      arrange: async (alice) => ({ type: "call", calleeID: alice.userID, sdpOffer: OFFER_SDP }),
      code: "self_target",
      refType: "call",
    },
    {
      name: "calling while one's own call is ringing",
      arrange: async (alice, bob, carol) => {
        await ring(alice, bob);
        return { type: "call", calleeID: carol.userID, sdpOffer: OFFER_SDP };
      },
      code: "invalid_state",
      refType: "call",
    },
    {
      name: "calling while in an accepted call",
      arrange: async (alice, bob, carol) => {
        await connectCall(alice, bob);
        return { type: "call", calleeID: carol.userID, sdpOffer: OFFER_SDP };
      },
      code: "invalid_state",
      refType: "call",
    },
    {
      name: "a call with an empty SDP offer",
      arrange: async (_alice, bob) => ({ type: "call", calleeID: bob.userID, sdpOffer: "" }),
      code: "bad_message",
      refType: "call",
    },
    {
      name: "answering a ring that does not exist",
      arrange: async (_alice, bob) => ({ type: "incomingCallResponse", callerID: bob.userID, callResponse: "accepted", sdpAnswer: ANSWER_SDP }),
      code: "not_in_call",
      refType: "incomingCallResponse",
    },
    {
      name: "answering a ring with the wrong callId",
      arrange: async (alice, bob) => {
        await ring(bob, alice);
        return { type: "incomingCallResponse", callerID: bob.userID, callId: "c999999", callResponse: "accepted", sdpAnswer: ANSWER_SDP };
      },
      code: "not_in_call",
      refType: "incomingCallResponse",
    },
    {
      name: "accepting without an SDP answer",
      arrange: async (alice, bob) => {
        await ring(bob, alice);
        return { type: "incomingCallResponse", callerID: bob.userID, callResponse: "accepted" };
      },
      code: "bad_message",
      refType: "incomingCallResponse",
    },
    {
      name: "accepting a call that is already accepted",
      arrange: async (alice, bob) => {
        await connectCall(bob, alice);
        return { type: "incomingCallResponse", callerID: bob.userID, callResponse: "accepted", sdpAnswer: ANSWER_SDP };
      },
      code: "invalid_state",
      refType: "incomingCallResponse",
    },
    {
      name: "a candidate with no call",
      arrange: async () => ({ type: "onIceCandidate", candidate: CANDIDATE_1 }),
      code: "not_in_call",
      refType: "onIceCandidate",
    },
    {
      name: "a candidate that is a string",
      arrange: async (alice, bob) => {
        await connectCall(alice, bob);
        return { type: "onIceCandidate", candidate: "candidate:1" };
      },
      code: "bad_message",
      refType: "onIceCandidate",
    },
    {
      name: "a stop with an unknown reason",
      arrange: async (alice, bob) => {
        await connectCall(alice, bob);
        return { type: "stop", reason: "because" };
      },
      code: "bad_message",
      refType: "stop",
    },
  ];

  it.each(cases)("$name is refused with error $code and the other users see no call message", async ({ arrange, code, refType }) => {
    const [alice, bob, carol] = await users("alice", "bob", "carol");
    const frame = await arrange(alice, bob, carol);
    await drain(alice.client, bob.client, carol.client);
    alice.client.send(frame);
    expect(await alice.client.next("error")).toMatchObject({ code, refType });
    expect(alice.client.closeCode).toBeUndefined();
    await expectNothingMore(alice.client, bob.client, carol.client);
  });
});

describe("ICE candidate relay", () => {
  it("in an accepted call, onIceCandidate reaches the other party as iceCandidate, verbatim, both ways", async () => {
    const [alice, bob] = await users("alice", "bob");
    await connectCall(alice, bob);
    const full = { candidate: CANDIDATE_2.candidate, sdpMid: "1", sdpMLineIndex: 1, usernameFragment: "ufrag" };
    alice.client.send({ type: "onIceCandidate", candidate: CANDIDATE_1 });
    bob.client.send({ type: "onIceCandidate", candidate: full });
    expect(await bob.client.next("iceCandidate")).toEqual({ type: "iceCandidate", candidate: CANDIDATE_1 });
    expect(await alice.client.next("iceCandidate")).toEqual({ type: "iceCandidate", candidate: full });
    await expectNothingMoreThanPresence(alice.client, bob.client);
  });

  it("candidates trickled while ringing are held and delivered in order right after the accept messages", async () => {
    const [alice, bob] = await users("alice", "bob");
    const incoming = await ring(alice, bob);
    alice.client.send({ type: "onIceCandidate", candidate: CANDIDATE_1 });
    alice.client.send({ type: "onIceCandidate", candidate: CANDIDATE_2 });
    bob.client.send({ type: "onIceCandidate", candidate: CANDIDATE_2 });
    await alice.client.sync();
    await bob.client.sync();
    expect([...alice.client.pending(), ...bob.client.pending()].filter((message) => message.type === "iceCandidate")).toEqual([]);

    bob.client.send({ type: "incomingCallResponse", callerID: alice.userID, callId: incoming.callId, callResponse: "accepted", sdpAnswer: ANSWER_SDP });
    await bob.client.next("startCommunication");
    await alice.client.next("callResponse");
    // Consumed in order: nothing else of the call family may sit between the accept and the candidates.
    expect(bob.client.pending().slice(0, 2)).toEqual([
      { type: "iceCandidate", candidate: CANDIDATE_1 },
      { type: "iceCandidate", candidate: CANDIDATE_2 },
    ]);
    expect(alice.client.pending()[0]).toEqual({ type: "iceCandidate", candidate: CANDIDATE_2 });
  });

  it("candidates held for a ring that is rejected are dropped", async () => {
    const [alice, bob] = await users("alice", "bob");
    await ring(alice, bob);
    alice.client.send({ type: "onIceCandidate", candidate: CANDIDATE_1 });
    bob.client.send({ type: "incomingCallResponse", callerID: alice.userID, callResponse: "rejected" });
    await alice.client.next("callResponse");
    const second = await ring(alice, bob);
    bob.client.send({ type: "incomingCallResponse", callerID: alice.userID, callId: second.callId, callResponse: "accepted", sdpAnswer: ANSWER_SDP });
    await bob.client.next("startCommunication");
    await expectNothingMoreThanPresence(bob.client);
  });

  it("after the call ended, onIceCandidate is refused with not_in_call and nothing is relayed", async () => {
    const [alice, bob] = await users("alice", "bob");
    await connectCall(alice, bob);
    bob.client.send({ type: "stop" });
    await alice.client.next("stopCommunication");
    alice.client.send({ type: "onIceCandidate", candidate: CANDIDATE_1 });
    expect(await alice.client.next("error")).toMatchObject({ code: "not_in_call", refType: "onIceCandidate" });
    await expectNothingMoreThanPresence(bob.client);
  });
});

describe("presence updates: who sees what, when", () => {
  it("an accepted call moves both parties online → connecting → in_call → ending → online, and every logged-in user sees it", async () => {
    const [alice, bob, carol] = await users("alice", "bob", "carol");
    await connectCall(alice, bob);
    alice.client.send({ type: "stop" });
    await bob.client.next("stopCommunication");
    for (const observer of [alice, bob, carol]) {
      for (const party of [alice, bob]) {
        await eventually(`${observer.userID} sees ${party.userID} back online`, () => statusTrail(observer.client, party.userID).at(-1) === "online" &&
          statusTrail(observer.client, party.userID).includes("ending"), ENDING_SETTLE_MS);
      }
    }
    // Carol logged in last: she saw alice and bob in her snapshot, then only their changes.
    for (const party of [alice, bob]) {
      expect(statusTrail(carol.client, party.userID)).toEqual(["connecting", "in_call", "ending", "online"]);
      expect(statusTrail(party.client, party.userID)).toEqual(["connecting", "in_call", "ending", "online"]);
    }
    // Alice logged in before bob and carol, so she also saw them come online.
    expect(statusTrail(alice.client, bob.userID)).toEqual(["online", "connecting", "in_call", "ending", "online"]);
    expect(statusTrail(alice.client, carol.userID)).toEqual(["online"]);
  });

  it("a ring moves both parties to connecting at the moment incomingCall is sent, before anyone answers", async () => {
    const [alice, bob, carol] = await users("alice", "bob", "carol");
    await ring(alice, bob);
    await carol.client.sync();
    await bob.client.sync();
    expect(statusTrail(carol.client, alice.userID)).toEqual(["connecting"]);
    expect(statusTrail(carol.client, bob.userID)).toEqual(["connecting"]);
    // Call messages come first, then the presence of the same step.
    const types = callAndPresenceMessages(bob.client).map((message) => message.type);
    // Coalesced: both parties' changes of that step travel in one presenceChanges.
    expect(types.slice(types.indexOf("incomingCall"))).toEqual(["incomingCall", "presenceChanges"]);
  });

  it.each([
    { outcome: "rejected", end: (alice: LoggedIn, bob: LoggedIn) => bob.client.send({ type: "incomingCallResponse", callerID: alice.userID, callResponse: "rejected" }) },
    { outcome: "cancelled", end: (alice: LoggedIn) => alice.client.send({ type: "stopCall" }) },
    { outcome: "answered exception", end: (alice: LoggedIn, bob: LoggedIn) => bob.client.send({ type: "incomingCallResponse", callerID: alice.userID, callResponse: "exception" }) },
    { outcome: "timed out", end: () => undefined },
  ])("a ring that ends $outcome moves both parties connecting → online, never in_call or ending", async ({ end }) => {
    const [alice, bob, carol] = await users("alice", "bob", "carol");
    await ring(alice, bob);
    end(alice, bob);
    for (const party of [alice, bob]) {
      await eventually(`carol sees ${party.userID} online again`, () => statusTrail(carol.client, party.userID).length === 2, RING_TIMEOUT_MS + 10_000);
      expect(statusTrail(carol.client, party.userID)).toEqual(["connecting", "online"]);
    }
  });

  it("a dropped connection mid-call: the remaining party goes ending → online, the dropped one leaves (offline) without a status change", async () => {
    const [alice, bob, carol] = await users("alice", "bob", "carol");
    await connectCall(alice, bob);
    bob.client.socket.terminate();
    await alice.client.next("stopCommunication");
    await eventually("carol sees alice online again", () => statusTrail(carol.client, alice.userID).at(-1) === "online", ENDING_SETTLE_MS);
    expect(statusTrail(carol.client, alice.userID)).toEqual(["connecting", "in_call", "ending", "online"]);
    expect(statusTrail(carol.client, bob.userID)).toEqual(["connecting", "in_call", "offline"]);
  });

  it("a user's own status changes reach its own connection too, so a client learns its status from the server", async () => {
    const [alice, bob] = await users("alice", "bob");
    await ring(alice, bob);
    await untilStatus(alice.client, alice.userID, "connecting");
  });

  it("the snapshot a late user gets shows the current statuses of a call in progress", async () => {
    const [alice, bob] = await users("alice", "bob");
    await connectCall(alice, bob);
    const carol = await user("carol");
    expect(carol.directory).toContainEqual({ userID: alice.userID, username: alice.userID, status: "in_call" });
    expect(carol.directory).toContainEqual({ userID: bob.userID, username: bob.userID, status: "in_call" });
  });

  it("an ending user may place a call itself", async () => {
    const [alice, bob, carol] = await users("alice", "bob", "carol");
    await connectCall(alice, bob);
    bob.client.send({ type: "stop" });
    await alice.client.next("stopCommunication");
    await untilStatus(carol.client, alice.userID, "ending");
    // Whether or not the short ending period ran out meanwhile, the call rings (the registry's
    // table test covers the exact transition; here it must simply not be refused).
    await ring(alice, carol);
    await carol.client.sync();
    expect(statusTrail(carol.client, alice.userID).slice(0, 3)).toEqual(["connecting", "in_call", "ending"]);
    expect(statusTrail(carol.client, alice.userID).at(-1)).toBe("connecting");
  });
});

describe("presence coalescing over a real window (failure case: a burst of calls)", () => {
  /** Long enough that a burst sent without waiting always falls in one or two windows. */
  const WINDOW_MS = 400;
  let coalescing: RunningServer;
  const clients: TestClient[] = [];

  async function coalescingUsers<Names extends string[]>(...names: Names): Promise<{ [Index in keyof Names]: LoggedIn }> {
    const logged: LoggedIn[] = [];
    for (const name of names) {
      const client = await TestClient.connect(coalescing.wsUrl);
      clients.push(client);
      logged.push(await logIn(client, freshId(name)));
    }
    return logged as { [Index in keyof Names]: LoggedIn };
  }

  /** Waits until the window that may be open now has surely been flushed, then syncs `clients`. */
  async function settle(...observers: TestClient[]): Promise<void> {
    await new Promise((resolve) => setTimeout(resolve, WINDOW_MS * 2));
    for (const observer of observers) {
      await observer.sync();
    }
  }

  beforeAll(async () => {
    coalescing = await startServer({ ...LOOPBACK_TEST_LIMITS, host: "127.0.0.1", port: 0, iceServers: [], presenceWindowMs: WINDOW_MS });
  });

  afterEach(async () => {
    await Promise.all(clients.splice(0).map((client) => client.close()));
  });

  afterAll(async () => {
    await coalescing.close();
  });

  it("a caller spending a burst of call and stopCall costs a bystander at most two presence frames, and it ends up right", async () => {
    const [alice, bob, carol] = await coalescingUsers("alice", "bob", "carol");
    await settle(carol.client);
    const before = carol.client.received.length;
    for (let index = 0; index < 25; index += 1) {
      alice.client.send({ type: "call", calleeID: bob.userID, sdpOffer: OFFER_SDP });
      alice.client.send({ type: "stopCall" });
    }
    await settle(carol.client, alice.client);
    const presence = carol.client.received.slice(before).filter((message) => PRESENCE_DELTA_TYPES.has(message.type));
    // 100 status changes; those of one window cancel out, a burst split by a flush leaves two.
    expect(presence.length).toBeLessThanOrEqual(2);
    expect(statusTrail(carol.client, alice.userID).at(-1) ?? "online").toBe("online");
    expect(statusTrail(carol.client, bob.userID).at(-1) ?? "online").toBe("online");
    expect(alice.client.received.filter((message) => message.type === "error")).toEqual([]);
  });

  it("users logging in within one window are announced to those already online in one presenceChanges", async () => {
    const [observer] = await coalescingUsers("observer");
    await settle(observer.client);
    const newcomers = await Promise.all(["dave", "erin", "frank"].map(async (name) => {
      const client = await TestClient.connect(coalescing.wsUrl);
      clients.push(client);
      client.send({ type: "login", userID: freshId(name) });
      return (await client.next("loginResponse")).content === "accepted" ? client : undefined;
    }));
    expect(newcomers.every(Boolean)).toBe(true);
    const changes = await observer.client.next("presenceChanges", undefined, WINDOW_MS * 10);
    expect(changes.users.map((user) => user.status)).toEqual(["online", "online", "online"]);
    expect(changes.left).toEqual([]);
  });
});

describe("the /call page", () => {
  it("serves the calling page, which loads the bundle and shows <webrtc-phone>", async () => {
    const response = await fetch(`${server.httpUrl}/call`);
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toContain("text/html");
    const page = await response.text();
    expect(page).toContain('<script type="module" src="/assets/phone.js"></script>');
    expect(page).toMatch(/<webrtc-phone[\s>]/);
  });
});
