/**
 * The phone session over the real server and real WebRTC (@roamhq/wrtc): login and directory,
 * calls that connect and carry synthetic video both ways, and every way a call can fail to
 * happen (reject, cancel, timeout, busy, offline, glare, a dropped connection, a takeover).
 */
import wrtc from "@roamhq/wrtc";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { isUdpCandidate, settleWebRtc, SyntheticVideo } from "../client/headless/peers.ts";
import {
  CallState,
  MemoryReclaimKeyStore,
  PhoneError,
  PhoneSession,
  type CallEnd,
  type MissedCall,
  type PhoneCall,
  type PhoneCloseInfo,
  type PhoneSessionOptions,
} from "../client/core/phone.ts";
import { CHAT_MAX_CHARS, type WebSocketConstructor } from "../client/core/index.ts";
import { startServer, type RunningServer } from "../server/server.ts";
import { ANSWER_SDP, logIn } from "./support/call-client.ts";
import { TestClient } from "./support/ws-client.ts";
import { LOOPBACK_TEST_LIMITS } from "./support/loopback-limits.ts";

type RTCVideoSink = InstanceType<typeof wrtc.nonstandard.RTCVideoSink>;

/** Short, so that the timeout test is quick; long enough never to fire while a test acts on a ring. */
const RING_TIMEOUT_MS = 2_000;

/** Generous bound for anything WebRTC does on a busy two-core machine. */
const DEADLINE_MS = 30_000;

let server: RunningServer;
const phones: TestPhone[] = [];
const rawClients: TestClient[] = [];
let userCounter = 0;

/** Polls `condition` until it holds; fails with `description` after `timeoutMs`. */
async function waitFor(description: string, condition: () => boolean, timeoutMs = DEADLINE_MS): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for: ${description}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** A `ws` client whose instances a test can reach, to cut the connection without a close frame. */
function tappedWebSocket(sockets: WebSocket[]): WebSocketConstructor {
  return class TappedWebSocket extends WebSocket {
    constructor(url: string) {
      super(url);
      sockets.push(this);
    }
  };
}

/**
 * A {@link PhoneSession} in Node with optional synthetic video, recording what a test checks:
 * calls ended, missed calls, video frames decoded from the other party.
 */
class TestPhone {
  readonly session: PhoneSession;
  readonly userID: string;
  readonly video: SyntheticVideo | undefined;
  readonly ended: Array<{ call: PhoneCall; end: CallEnd }> = [];
  readonly missed: MissedCall[] = [];
  readonly incoming: PhoneCall[] = [];
  readonly sockets: WebSocket[] = [];
  closeInfo: PhoneCloseInfo | undefined;
  loggedOut = false;
  frames = 0;
  readonly #sinks: RTCVideoSink[] = [];

  constructor(name: string, { video, ...overrides }: { video?: boolean } & Partial<PhoneSessionOptions> = {}) {
    userCounter += 1;
    this.userID = overrides.userID ?? `${name}-${userCounter}`;
    this.video = video ? new SyntheticVideo() : undefined;
    this.session = new PhoneSession({
      url: server.wsUrl,
      userID: this.userID,
      username: name,
      iceServers: [],
      wrtc,
      WebSocket: tappedWebSocket(this.sockets),
      candidateFilter: isUdpCandidate,
      ...overrides,
    });
    this.session.on("call-ended", (ended) => this.ended.push(ended));
    this.session.on("missed-call", (missed) => this.missed.push(missed));
    this.session.on("incoming-call", (call) => this.incoming.push(call));
    this.session.on("logged-out", () => {
      this.loggedOut = true;
    });
    this.session.on("close", (info) => {
      this.closeInfo = info;
    });
    this.session.on("remote-stream", ({ stream }) => {
      for (const track of stream.getVideoTracks()) {
        const sink = new wrtc.nonstandard.RTCVideoSink(track);
        sink.onframe = () => {
          this.frames += 1;
        };
        this.#sinks.push(sink);
      }
    });
    phones.push(this);
  }

  /** The last call that ended here, and how. */
  get lastEnd(): CallEnd | undefined {
    return this.ended.at(-1)?.end;
  }

  /** The local stream to send, if this phone has video. */
  get stream(): MediaStream | undefined {
    return this.video?.stream;
  }

  /** Waits for the next incoming call (counting from `count` calls already seen). */
  async nextIncoming(count = this.incoming.length): Promise<PhoneCall> {
    await waitFor(`${this.userID} is rung`, () => this.incoming.length > count);
    const call = this.incoming[count];
    if (!call) {
      throw new Error("no incoming call");
    }
    return call;
  }

  /** Status of `userID` in this phone's directory, `offline` when not listed. */
  statusOf(userID: string): string {
    return this.session.user(userID)?.status ?? "offline";
  }

  /** Closes the session, the synthetic video and the sinks. Safe to call twice. */
  stop(): void {
    this.session.close();
    this.video?.stop();
    for (const sink of this.#sinks.splice(0)) {
      sink.stop();
    }
  }
}

/** A raw protocol client logged in as a fresh user: plays the other party when a test needs it to misbehave. */
async function rawUser(name: string): Promise<{ client: TestClient; userID: string }> {
  userCounter += 1;
  const client = await TestClient.connect(server.wsUrl);
  rawClients.push(client);
  const { userID } = await logIn(client, `${name}-${userCounter}`);
  return { client, userID };
}

/** Creates and logs in phones, in order. */
async function online(...phonesToLogIn: TestPhone[]): Promise<void> {
  for (const phone of phonesToLogIn) {
    await phone.session.connect();
  }
  // Everyone sees everyone before the test starts acting on the directory.
  await waitFor("every phone sees every other online", () =>
    phonesToLogIn.every((phone) => phonesToLogIn.every((other) => phone.session.user(other.userID) !== undefined)));
}

/** A calls B with video both ways and B accepts; resolves when both calls are active with frames flowing. */
async function connectedCall(a: TestPhone, b: TestPhone): Promise<{ outgoing: PhoneCall; incoming: PhoneCall }> {
  const outgoing = a.session.call(b.userID, a.stream);
  const incoming = await b.nextIncoming();
  b.session.accept(b.stream);
  await waitFor("both calls active", () => outgoing.state === CallState.active && incoming.state === CallState.active);
  return { outgoing, incoming };
}

/**
 * A short grace window: a phone that does not reconnect (`reconnect: false`) leaves its login
 * suspended on the server, and it ends for the others when the window runs out, as a close would
 * end it. (Resuming across a cut is in `test/calls-signaling-cut.test.ts`.)
 */
const RESUME_GRACE_MS = 500;

beforeAll(async () => {
  server = await startServer({ ...LOOPBACK_TEST_LIMITS, host: "127.0.0.1", port: 0, iceServers: [], ringTimeoutMs: RING_TIMEOUT_MS, resumeGraceMs: RESUME_GRACE_MS });
});

afterEach(async () => {
  for (const phone of phones.splice(0)) {
    phone.stop();
  }
  await Promise.all(rawClients.splice(0).map((client) => client.close()));
  await settleWebRtc();
});

afterAll(async () => {
  await server.close();
});

describe("phone session, happy path", () => {
  it("connect logs in and resolves with the login; the directory lists every online user with its status", async () => {
    const alice = new TestPhone("Alice");
    const bob = new TestPhone("Bob");
    expect(await alice.session.connect()).toEqual({ userID: alice.userID, username: "Alice" });
    await bob.session.connect();
    await waitFor("alice sees bob", () => alice.session.user(bob.userID) !== undefined);
    expect(alice.session.user(bob.userID)).toEqual({ userID: bob.userID, username: "Bob", status: "online" });
    expect(bob.session.self).toEqual({ userID: bob.userID, username: "Bob", status: "online" });
    expect(bob.session.users.map((user) => user.userID)).toEqual(expect.arrayContaining([alice.userID, bob.userID]));
    expect(alice.session.canCall(bob.userID)).toBe(true);
    expect(alice.session.canCall(alice.userID)).toBe(false);

    bob.stop();
    await waitFor("alice sees bob leave", () => alice.session.user(bob.userID) === undefined);
  });

  it("a window of several directory changes arrives as one presenceChanges; the directory and its events follow every change", async () => {
    // Its own server with a long window, so that the changes below surely share one.
    const coalescing = await startServer({ ...LOOPBACK_TEST_LIMITS, host: "127.0.0.1", port: 0, iceServers: [], presenceWindowMs: 400 });
    try {
      const watcher = new TestPhone("Watcher", { url: coalescing.wsUrl });
      await watcher.session.connect();
      const frames: string[] = [];
      watcher.sockets[0]?.on("message", (data: WebSocket.RawData) => frames.push((JSON.parse(data.toString()) as { type: string }).type));
      const updated: string[] = [];
      const left: string[] = [];
      watcher.session.on("user-updated", ({ user }) => updated.push(user.userID));
      watcher.session.on("user-left", ({ userID }) => left.push(userID));
      const raw = await Promise.all(["dave", "erin"].map(async (name) => {
        userCounter += 1;
        const client = await TestClient.connect(coalescing.wsUrl);
        rawClients.push(client);
        return logIn(client, `${name}-${userCounter}`);
      }));
      const [dave, erin] = raw as [(typeof raw)[number], (typeof raw)[number]];
      await waitFor("the watcher lists dave and erin", () => watcher.session.user(dave.userID) !== undefined && watcher.session.user(erin.userID) !== undefined);
      expect(frames.filter((type) => type.startsWith("presence"))).toEqual(["presenceChanges"]);
      expect(updated.sort()).toEqual([dave.userID, erin.userID].sort());
      // In login order, as the server lists them: the later login's snapshot is the longer one.
      const loginOrder = [...raw].sort((a, b) => a.directory.length - b.directory.length).map((user) => user.userID);
      expect(watcher.session.users.map((user) => user.userID)).toEqual([watcher.userID, ...loginOrder]);

      await dave.client.close();
      await waitFor("the watcher sees dave leave", () => watcher.session.user(dave.userID) === undefined);
      expect(left).toEqual([dave.userID]);
      expect(watcher.session.users.map((user) => user.userID)).toEqual([watcher.userID, erin.userID]);
    } finally {
      for (const phone of phones.splice(0)) {
        phone.stop();
      }
      await coalescing.close();
    }
  });

  it("A calls B and B accepts: each decodes the other's video; A hangs up and B's call ends hang_up by the remote", async () => {
    const alice = new TestPhone("Alice", { video: true });
    const bob = new TestPhone("Bob", { video: true });
    await online(alice, bob);

    const outgoing = alice.session.call(bob.userID, alice.stream);
    expect(outgoing.state).toBe(CallState.dialing);
    const incoming = await bob.nextIncoming();
    expect(incoming.direction).toBe("incoming");
    expect(incoming.remote).toEqual({ userID: alice.userID, username: "Alice", avatar: undefined });
    expect(incoming.callId).toEqual(expect.any(String));
    expect(outgoing.state).toBe(CallState.ringing);
    await waitFor("both ringing in the directory", () => alice.statusOf(bob.userID) === "connecting" && bob.statusOf(alice.userID) === "connecting");

    bob.session.accept(bob.stream);
    await waitFor("both calls active", () => outgoing.state === CallState.active && incoming.state === CallState.active);
    await waitFor("video frames both ways", () => alice.frames > 0 && bob.frames > 0);
    expect(outgoing.remoteStream?.getVideoTracks()).toHaveLength(1);
    expect(incoming.remoteStream?.getVideoTracks()).toHaveLength(1);
    await waitFor("both in_call in the directory", () => alice.statusOf(bob.userID) === "in_call" && bob.statusOf(alice.userID) === "in_call");

    alice.session.hangUp();
    expect(outgoing.state).toBe(CallState.ended);
    expect(alice.lastEnd).toEqual({ reason: "hang_up", byLocal: true });
    await waitFor("bob's call ends", () => incoming.ended);
    expect(bob.lastEnd).toEqual({ reason: "hang_up", byLocal: false });
    expect(bob.session.currentCall).toBeUndefined();
    await waitFor("both back online", () => alice.statusOf(bob.userID) === "online" && bob.statusOf(alice.userID) === "online");
  });

  it("a caller with no camera still receives the callee's video (the offer asks for audio and video)", async () => {
    const alice = new TestPhone("Alice");
    const bob = new TestPhone("Bob", { video: true });
    await online(alice, bob);
    const { outgoing } = await connectedCall(alice, bob);
    await waitFor("alice decodes bob's video", () => alice.frames > 0);
    expect(outgoing.remoteStream?.getVideoTracks()).toHaveLength(1);
    expect(bob.frames).toBe(0);
    bob.session.hangUp();
    await waitFor("alice's call ends", () => outgoing.ended);
    expect(alice.lastEnd).toEqual({ reason: "hang_up", byLocal: false });
  });

  it("the callee may hang up too, and the two can call again, the other way round", async () => {
    const alice = new TestPhone("Alice");
    const bob = new TestPhone("Bob", { video: true });
    await online(alice, bob);
    const first = await connectedCall(alice, bob);
    bob.session.hangUp();
    await waitFor("alice's call ends", () => first.outgoing.ended);
    await waitFor("both online again", () => alice.statusOf(bob.userID) === "online" && bob.statusOf(alice.userID) === "online");
    expect(alice.session.canCall(bob.userID)).toBe(true);
    const second = await connectedCall(bob, alice);
    expect(second.outgoing.direction).toBe("outgoing");
    alice.session.hangUp();
    await waitFor("bob's second call ends", () => second.outgoing.ended);
  });

  it("chat and media state travel over the call's data channel both ways; a message typed while ringing arrives once connected; refusals carry the room's codes", async () => {
    const alice = new TestPhone("Alice");
    const bob = new TestPhone("Bob");
    await online(alice, bob);
    const codeOf = (send: () => unknown): unknown => {
      try {
        send();
        return undefined;
      } catch (error) {
        return error instanceof PhoneError ? error.code : error;
      }
    };
    expect(codeOf(() => alice.session.sendChat("nobody to talk to"))).toBe("not_ready");
    const aliceChat: string[] = [];
    const bobChat: Array<{ from: unknown; text: string }> = [];
    alice.session.on("chat-message", ({ message }) => aliceChat.push(message.text));
    bob.session.on("chat-message", ({ message }) => bobChat.push({ from: message.from, text: message.text }));
    // Announced before the call: sent to the call once its connection is up.
    alice.session.setMediaState({ audio: false, video: true });

    const outgoing = alice.session.call(bob.userID);
    const early = alice.session.sendChat("typed while ringing");
    expect(early).toEqual({ id: expect.any(String), from: { id: alice.userID, username: "Alice" }, text: "typed while ringing", sentAtMs: expect.any(Number), receivedAtMs: early.sentAtMs });
    const incoming = await bob.nextIncoming();
    bob.session.accept();
    await waitFor("both calls active", () => outgoing.state === CallState.active && incoming.state === CallState.active);
    await waitFor("bob gets the early message", () => bobChat.length === 1);
    expect(bobChat).toEqual([{ from: { id: alice.userID, username: "Alice" }, text: "typed while ringing" }]);
    await waitFor("bob learns alice is muted", () => incoming.remoteMedia !== undefined);
    expect(incoming.remoteMedia).toEqual({ audio: false, video: true });

    bob.session.sendChat("<b>hello</b>");
    bob.session.setMediaState({ audio: true, video: false });
    await waitFor("alice gets the reply and bob's camera off", () => aliceChat.length === 1 && outgoing.remoteMedia?.video === false);
    expect(aliceChat).toEqual(["<b>hello</b>"]);
    expect(outgoing.remoteMedia).toEqual({ audio: true, video: false });
    expect(codeOf(() => alice.session.sendChat("x".repeat(CHAT_MAX_CHARS + 1)))).toBe("chat_too_long");
    expect(codeOf(() => alice.session.sendChat(""))).toBe("chat_empty");
    alice.session.hangUp();
    await waitFor("bob's call ends", () => incoming.ended);
  });

  it("call-state reports each call's states in order, ending with call-ended", async () => {
    const alice = new TestPhone("Alice");
    const bob = new TestPhone("Bob");
    await online(alice, bob);
    const aliceStates: string[] = [];
    const bobStates: string[] = [];
    alice.session.on("call-state", ({ state }) => aliceStates.push(state));
    bob.session.on("call-state", ({ state }) => bobStates.push(state));
    const { outgoing } = await connectedCall(alice, bob);
    alice.session.hangUp();
    await waitFor("bob's call ends", () => bob.ended.length === 1);
    expect(outgoing.ended).toBe(true);
    expect(aliceStates).toEqual(["dialing", "ringing", "connecting", "active", "ended"]);
    expect(bobStates[0]).toBe("ringing");
    expect(bobStates[1]).toBe("answering");
    // The callee's peer may connect before or after the server's startCommunication arrives.
    expect(bobStates.slice(2, -2).every((state) => state === "connecting")).toBe(true);
    expect(bobStates.slice(-2)).toEqual(["active", "ended"]);
  });
});

describe("phone session, calls that do not connect", () => {
  it("B rejects: both calls end rejected, caused by B", async () => {
    const alice = new TestPhone("Alice", { video: true });
    const bob = new TestPhone("Bob");
    await online(alice, bob);
    const outgoing = alice.session.call(bob.userID, alice.stream);
    const incoming = await bob.nextIncoming();
    expect(bob.session.reject()).toBe(true);
    expect(incoming.end).toEqual({ reason: "rejected", byLocal: true });
    await waitFor("alice's call ends", () => outgoing.ended);
    expect(outgoing.end).toEqual({ reason: "rejected", byLocal: false });
    expect(bob.missed).toEqual([]);
  });

  it("A cancels while ringing: B's call ends cancelled and B gets a missed call from A", async () => {
    const alice = new TestPhone("Alice");
    const bob = new TestPhone("Bob");
    await online(alice, bob);
    const outgoing = alice.session.call(bob.userID);
    const incoming = await bob.nextIncoming();
    expect(alice.session.cancel()).toBe(true);
    expect(outgoing.end).toEqual({ reason: "cancelled", byLocal: true });
    await waitFor("bob's call ends", () => incoming.ended);
    expect(incoming.end).toEqual({ reason: "cancelled", byLocal: false });
    expect(bob.missed).toEqual([{ callId: incoming.callId, callerID: alice.userID, username: "Alice", avatar: undefined, reason: "cancelled", atMs: expect.any(Number) }]);
    expect(bob.session.missedCalls).toHaveLength(1);
  });

  it("nobody answers: after the ring timeout both calls end no_answer and B gets a missed call", async () => {
    const alice = new TestPhone("Alice");
    const bob = new TestPhone("Bob");
    await online(alice, bob);
    const outgoing = alice.session.call(bob.userID);
    const incoming = await bob.nextIncoming();
    await waitFor("both calls end", () => outgoing.ended && incoming.ended);
    expect(outgoing.end).toEqual({ reason: "no_answer", byLocal: false });
    expect(incoming.end).toEqual({ reason: "no_answer", byLocal: false });
    expect(bob.missed.map((missed) => missed.reason)).toEqual(["no_answer"]);
  });

  it("C calls A during the A–B call: C's call ends busy and the A–B call goes on", async () => {
    const alice = new TestPhone("Alice", { video: true });
    const bob = new TestPhone("Bob", { video: true });
    const carol = new TestPhone("Carol");
    await online(alice, bob, carol);
    const { outgoing, incoming } = await connectedCall(alice, bob);
    await waitFor("carol sees alice in_call", () => carol.statusOf(alice.userID) === "in_call");
    expect(carol.session.canCall(alice.userID)).toBe(false);

    const busy = carol.session.call(alice.userID);
    await waitFor("carol's call ends", () => busy.ended);
    expect(busy.end).toEqual({ reason: "busy", byLocal: false });
    expect(alice.incoming).toHaveLength(0);
    expect(outgoing.state).toBe(CallState.active);
    expect(incoming.state).toBe(CallState.active);
  });

  it("calling a user who is not online ends not_online", async () => {
    const alice = new TestPhone("Alice");
    await online(alice);
    const call = alice.session.call("nobody-at-all");
    await waitFor("the call ends", () => call.ended);
    expect(call.end).toEqual({ reason: "not_online", byLocal: false });
  });

  it("A and B calling each other at once end with one ringing call, which B can accept", async () => {
    const alice = new TestPhone("Alice");
    const bob = new TestPhone("Bob");
    await online(alice, bob);
    const fromAlice = alice.session.call(bob.userID);
    const fromBob = bob.session.call(alice.userID);
    await waitFor("one side is rung", () => alice.incoming.length + bob.incoming.length === 1);
    const [caller, callee] = alice.incoming.length === 1 ? [bob, alice] : [alice, bob];
    const [ringing, givenUp] = caller === alice ? [fromAlice, fromBob] : [fromBob, fromAlice];
    expect(givenUp.end?.reason).toBe("busy");
    expect(ringing.state).toBe(CallState.ringing);
    callee.session.accept();
    await waitFor("the ringing call connects", () => ringing.state === CallState.active);
    // The server's inCalling for the given-up call did not end anything else.
    expect(caller.ended).toHaveLength(0);
  });
});

describe("phone session, failure cases", () => {
  it("connect rejects with login_rejected and the server's code when the user id is invalid", async () => {
    const bad = new TestPhone("Bad", { userID: "   " });
    const error = await bad.session.connect().catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(PhoneError);
    expect(error).toMatchObject({ code: "login_rejected", serverCode: "bad_message" });
    expect(bad.session.closed).toBe(true);
  });

  it("connect rejects with signaling_unreachable when no server listens", async () => {
    const lost = new TestPhone("Lost", { url: "ws://127.0.0.1:9/ws" });
    await expect(lost.session.connect()).rejects.toMatchObject({ code: "signaling_unreachable" });
    expect(lost.session.closed).toBe(true);
  });

  it("misuse throws a PhoneError with a stable code and changes nothing", async () => {
    const alice = new TestPhone("Alice");
    const bob = new TestPhone("Bob");
    expect(() => alice.session.call(bob.userID)).toThrow(expect.objectContaining({ code: "not_ready" }));
    await online(alice, bob);
    expect(() => alice.session.call(alice.userID)).toThrow(expect.objectContaining({ code: "self_call" }));
    expect(() => alice.session.accept()).toThrow(expect.objectContaining({ code: "no_incoming_call" }));
    expect(alice.session.cancel()).toBe(false);
    expect(alice.session.reject()).toBe(false);
    alice.session.call(bob.userID);
    expect(() => alice.session.call(bob.userID)).toThrow(expect.objectContaining({ code: "call_in_progress" }));
    await expect(alice.session.connect()).rejects.toMatchObject({ code: "not_ready" });
  });

  it("B's connection drops mid-call and B does not reconnect: A's call ends disconnected, B's ends disconnected on its side", async () => {
    const alice = new TestPhone("Alice", { video: true });
    const bob = new TestPhone("Bob", { video: true, reconnect: false });
    await online(alice, bob);
    const { outgoing, incoming } = await connectedCall(alice, bob);
    for (const socket of bob.sockets) {
      socket.terminate();
    }
    await waitFor("both calls end", () => outgoing.ended && incoming.ended);
    expect(outgoing.end).toEqual({ reason: "disconnected", byLocal: false });
    expect(incoming.end).toEqual({ reason: "disconnected", byLocal: true });
    expect(bob.session.closed).toBe(true);
    await waitFor("alice sees bob offline", () => alice.statusOf(bob.userID) === "offline");
  });

  it("B reloads mid-call (a new session, the same reclaim key store): the old session is logged out and closed as replaced, A's call ends replaced", async () => {
    const browserStorage = new MemoryReclaimKeyStore();
    const alice = new TestPhone("Alice", { video: true });
    const bob = new TestPhone("Bob", { video: true, reclaimKeys: browserStorage });
    await online(alice, bob);
    const { outgoing, incoming } = await connectedCall(alice, bob);
    const bobAgain = new TestPhone("Bob", { userID: bob.userID, reclaimKeys: browserStorage });
    await bobAgain.session.connect();
    await waitFor("both calls end", () => outgoing.ended && incoming.ended);
    expect(outgoing.end).toEqual({ reason: "replaced", byLocal: false });
    expect(incoming.end).toEqual({ reason: "replaced", byLocal: true });
    await waitFor("the old session closes", () => bob.closeInfo !== undefined);
    expect(bob.loggedOut).toBe(true);
    expect(bob.closeInfo).toMatchObject({ code: 4003, replaced: true });
    expect(alice.session.user(bob.userID)).toBeDefined();
  });

  it("a stranger logging in as B mid-call (another browser: no reclaim key) is refused user_online, and B's call goes on", async () => {
    const alice = new TestPhone("Alice", { video: true });
    const bob = new TestPhone("Bob", { video: true, reclaimKeys: new MemoryReclaimKeyStore() });
    await online(alice, bob);
    const { outgoing, incoming } = await connectedCall(alice, bob);
    await waitFor("alice sees bob in the call", () => alice.statusOf(bob.userID) === "in_call");
    const stranger = new TestPhone("Mallory", { userID: bob.userID, reclaimKeys: new MemoryReclaimKeyStore() });
    const refusal = await stranger.session.connect().then(() => undefined, (error: unknown) => error);
    expect(refusal).toBeInstanceOf(PhoneError);
    expect(refusal).toMatchObject({ code: "login_rejected", serverCode: "user_online" });
    expect(bob.closeInfo).toBeUndefined();
    expect(bob.loggedOut).toBe(false);
    expect(alice.statusOf(bob.userID)).toBe("in_call");
    expect(alice.session.user(bob.userID)?.username).toBe("Bob");
    // Still connected on both sides: media keeps arriving, and the hang-up reaches bob.
    const framesBefore = alice.frames;
    await waitFor("more video from bob", () => alice.frames > framesBefore);
    expect([outgoing.ended, incoming.ended]).toEqual([false, false]);
    alice.session.hangUp();
    await waitFor("bob's call ends", () => incoming.ended);
    expect(incoming.end).toEqual({ reason: "hang_up", byLocal: false });
  });

  it("a callee that cannot apply the offer answers exception: its call ends exception by itself, the caller gets callResponse exception", async () => {
    const caller = await rawUser("raw-caller");
    const bob = new TestPhone("Bob");
    await online(bob);
    caller.client.send({ type: "call", calleeID: bob.userID, sdpOffer: "this is not SDP" });
    const incoming = await bob.nextIncoming();
    bob.session.accept();
    await waitFor("bob's call ends", () => incoming.ended);
    expect(incoming.end).toMatchObject({ reason: "exception", byLocal: true });
    expect(await caller.client.next("callResponse")).toEqual({ type: "callResponse", callResponse: "exception", calleeID: bob.userID });
  });

  it("a caller whose callee answers exception ends its call exception, caused by the remote", async () => {
    const callee = await rawUser("raw-callee");
    const alice = new TestPhone("Alice");
    await online(alice);
    const call = alice.session.call(callee.userID);
    const ring = await callee.client.next("incomingCall");
    expect(ring.sdpOffer).toContain("m=");
    callee.client.send({ type: "incomingCallResponse", callerID: alice.userID, callId: ring.callId, callResponse: "exception" });
    await waitFor("alice's call ends", () => call.ended);
    expect(call.end).toEqual({ reason: "exception", byLocal: false });
  });

  it("stopCommunication exception from the other party ends the call media_failed", async () => {
    const callee = await rawUser("raw-callee");
    const alice = new TestPhone("Alice");
    await online(alice);
    const call = alice.session.call(callee.userID);
    const ring = await callee.client.next("incomingCall");
    callee.client.send({ type: "incomingCallResponse", callerID: alice.userID, callId: ring.callId, callResponse: "accepted", sdpAnswer: ANSWER_SDP });
    await waitFor("alice's call is accepted", () => call.state !== CallState.ringing);
    callee.client.send({ type: "stop", reason: "exception" });
    await waitFor("alice's call ends", () => call.ended);
    expect(call.end).toEqual({ reason: "media_failed", byLocal: false });
  });

  it("closing the session mid-call hangs up first, so the other side sees a normal end", async () => {
    const alice = new TestPhone("Alice");
    const bob = new TestPhone("Bob", { video: true });
    await online(alice, bob);
    const { outgoing } = await connectedCall(alice, bob);
    bob.session.close();
    bob.session.close();
    await waitFor("alice's call ends", () => outgoing.ended);
    expect(outgoing.end).toEqual({ reason: "hang_up", byLocal: false });
    expect(bob.closeInfo).toMatchObject({ byClient: true, replaced: false });
  });
});
