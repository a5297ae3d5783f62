/**
 * Calls across a signaling cut, on the real server with real WebRTC (@roamhq/wrtc): one user
 * reaches the server through a TCP proxy that the test cuts (test/support/tcp-proxy.ts), as in
 * `test/resilience/signaling-cut.test.ts` for rooms.
 *
 * Within the grace window the phone's connection resumes the session: an accepted call keeps its
 * media (over relay-only TURN with the credentials from `loginResponse` when coturn is installed),
 * a ringing call keeps ringing and can be accepted after, and a logged-in observer sees no presence
 * change. Past the window the phone logs in again and reports the call ended `session_lost`. One
 * {@link ServerConnection} carries a room and a phone and takes both back with a single `resume`.
 */
import wrtc from "@roamhq/wrtc";
import { afterAll, afterEach, beforeAll, describe, expect, test } from "vitest";
import WebSocket from "ws";
import { isUdpCandidate, settleWebRtc, SyntheticVideo } from "../client/headless/peers.ts";
import { CallState, PhoneSession, type CallEnd, type PhoneCall, type PhoneSessionOptions } from "../client/core/phone.ts";
import { RoomSession, ServerConnection, type WebSocketConstructor } from "../client/core/index.ts";
import type { RunningServer } from "../server/server.ts";
import { requireCoturn, startCoturn, type RunningCoturn } from "./support/coturn.ts";
import { startTcpProxy, type TcpProxy } from "./support/tcp-proxy.ts";
import { startTestServer, waitFor } from "./mesh/helpers.ts";

/** The short cut. */
const SHORT_CUT_MS = 2_000;
/** Grace window of the server for the expiry case: short, so that the cut outlasts it quickly. */
const SHORT_GRACE_MS = 1_500;
/** Comfortably past {@link SHORT_GRACE_MS}. */
const LONG_CUT_MS = SHORT_GRACE_MS + 2_500;
const TURN_SECRET = "calls-cut-turn-secret";

const hasCoturn = requireCoturn();

/** A protocol message as it crossed the socket, parsed. */
type WireMessage = { type: string } & Record<string, unknown>;

/** A `ws` class whose instances record every frame both ways into `log`, and count themselves (refused attempts included). */
function recordingWebSocket(log: { sent: WireMessage[]; received: WireMessage[]; sockets: number }): WebSocketConstructor {
  return class RecordingWebSocket extends WebSocket {
    constructor(address: string) {
      super(address);
      log.sockets += 1;
      this.on("message", (frame) => log.received.push(JSON.parse(String(frame)) as WireMessage));
    }

    override send(text: string): void {
      log.sent.push(JSON.parse(text) as WireMessage);
      super.send(text);
    }
  };
}

/** Video frames decoded so far on `pc` (`framesDecoded` of its inbound video), 0 without one. */
async function framesDecoded(pc: RTCPeerConnection | undefined): Promise<number> {
  const report = (await pc?.getStats()) ?? new Map<string, Record<string, unknown>>();
  let frames = 0;
  for (const entry of report.values() as Iterable<Record<string, unknown>>) {
    if (entry.type === "inbound-rtp" && entry.kind === "video" && typeof entry.framesDecoded === "number") {
      frames += entry.framesDecoded;
    }
  }
  return frames;
}

/** Polls `framesDecoded` until it passes `above`. */
async function framesRiseAbove(description: string, pc: RTCPeerConnection | undefined, above: number): Promise<void> {
  let frames = await framesDecoded(pc);
  await waitFor(description, () => {
    void framesDecoded(pc).then((now) => (frames = now));
    return frames > above;
  });
}

/** One user: a phone with synthetic video, recording its wire frames and what its session reported. */
class User {
  readonly session: PhoneSession;
  readonly userID: string;
  readonly video = new SyntheticVideo();
  readonly wire = { sent: [] as WireMessage[], received: [] as WireMessage[], sockets: 0 };
  readonly ended: CallEnd[] = [];
  readonly incoming: PhoneCall[] = [];
  readonly reconnected: boolean[] = [];
  /** `user-updated <id> <status>` / `user-left <id>`, in order. */
  readonly presence: string[] = [];
  directories = 0;

  constructor(name: string, url: string, options: Partial<PhoneSessionOptions> = {}) {
    this.userID = `${name}-${Math.random().toString(36).slice(2, 8)}`;
    this.session = new PhoneSession({ url, userID: this.userID, wrtc, WebSocket: recordingWebSocket(this.wire), candidateFilter: isUdpCandidate, ...options });
    this.session.on("call-ended", ({ end }) => this.ended.push(end));
    this.session.on("incoming-call", (call) => this.incoming.push(call));
    this.session.on("reconnected", ({ resumed }) => this.reconnected.push(resumed));
    this.session.on("user-updated", ({ user }) => this.presence.push(`user-updated ${user.userID} ${user.status}`));
    this.session.on("user-left", ({ userID }) => this.presence.push(`user-left ${userID}`));
    this.session.on("directory", () => (this.directories += 1));
  }

  /**
   * What this user saw of the presence of `others` since its `from`-th presence event. (Users of
   * earlier tests may still be listed: a socket cut by closing its proxy leaves a suspended login.)
   */
  presenceOf(from: number, ...others: User[]): string[] {
    return this.presence.slice(from).filter((line) => others.some((other) => line.split(" ")[1] === other.userID));
  }

  /** Frame types of `type` this user's sockets received. */
  receivedOf(type: string): WireMessage[] {
    return this.wire.received.filter((message) => message.type === type);
  }

  sentOf(type: string): WireMessage[] {
    return this.wire.sent.filter((message) => message.type === type);
  }

  stop(): void {
    this.session.close();
    this.video.stop();
  }
}

const users: User[] = [];
const proxies: TcpProxy[] = [];
const closers: Array<() => void> = [];

/** Alice and an observer log in directly, Bob through a proxy; everyone sees everyone. */
async function threeUsers(server: RunningServer, options: Partial<PhoneSessionOptions> = {}, bobOptions: Partial<PhoneSessionOptions> = {}): Promise<{ alice: User; bob: User; observer: User; proxy: TcpProxy }> {
  const proxy = await startTcpProxy({ port: server.port });
  proxies.push(proxy);
  const alice = new User("alice", server.wsUrl, options);
  const bob = new User("bob", proxy.wsUrl, { ...options, ...bobOptions });
  const observer = new User("observer", server.wsUrl);
  users.push(alice, bob, observer);
  for (const user of [alice, bob, observer]) {
    await user.session.connect();
  }
  await waitFor("everyone sees everyone", () => [alice, bob, observer].every((user) => [alice, bob, observer].every((other) => user.session.user(other.userID) !== undefined)));
  return { alice, bob, observer, proxy };
}

/** Alice calls Bob with video both ways and Bob accepts; resolves once video decodes both ways. */
async function acceptedCall(alice: User, bob: User): Promise<{ outgoing: PhoneCall; incoming: PhoneCall }> {
  const outgoing = alice.session.call(bob.userID, alice.video.stream);
  await waitFor("bob is rung", () => bob.incoming.length === 1);
  const incoming = bob.incoming[0] as PhoneCall;
  bob.session.accept(bob.video.stream);
  await waitFor("both calls active", () => outgoing.state === CallState.active && incoming.state === CallState.active);
  await framesRiseAbove("alice decodes bob's video", outgoing.peerConnection, 5);
  await framesRiseAbove("bob decodes alice's video", incoming.peerConnection, 5);
  return { outgoing, incoming };
}

afterEach(async () => {
  for (const user of users.splice(0)) {
    user.stop();
  }
  for (const close of closers.splice(0)) {
    close();
  }
  for (const proxy of proxies.splice(0)) {
    await proxy.close();
  }
  await settleWebRtc();
});

/**
 * A 2 s cut of the callee during an accepted call: media keeps flowing through and after it,
 * nobody's call ends, the observer sees no presence change, and the callee resumes its login.
 */
async function mediaSurvivesShortCut(alice: User, bob: User, observer: User, proxy: TcpProxy): Promise<void> {
  const { outgoing, incoming } = await acceptedCall(alice, bob);
  const observedBefore = observer.presence.length;
  const directoriesBefore = bob.directories;

  const cutOver = proxy.cut(SHORT_CUT_MS);
  await waitFor("bob noticed the cut", () => bob.session.isReconnecting);
  const framesAtCut = { alice: await framesDecoded(outgoing.peerConnection), bob: await framesDecoded(incoming.peerConnection) };
  await cutOver;
  // Frames decoded while the signaling was cut: the media never depended on it.
  expect(await framesDecoded(outgoing.peerConnection)).toBeGreaterThan(framesAtCut.alice);
  expect(await framesDecoded(incoming.peerConnection)).toBeGreaterThan(framesAtCut.bob);

  await waitFor("bob resumed its login", () => bob.reconnected.length === 1);
  expect(bob.reconnected).toEqual([true]);
  expect(bob.session.isReady).toBe(true);
  expect(bob.sentOf("resume")).toHaveLength(1);
  // The whole directory follows `resumed`, and the session reads it again.
  await waitFor("bob re-read the directory", () => bob.directories > directoriesBefore);
  expect(bob.session.user(alice.userID)?.status).toBe("in_call");
  expect(bob.session.user(observer.userID)?.status).toBe("online");

  const framesAfter = { alice: await framesDecoded(outgoing.peerConnection), bob: await framesDecoded(incoming.peerConnection) };
  await framesRiseAbove("alice keeps decoding after the resume", outgoing.peerConnection, framesAfter.alice + 10);
  await framesRiseAbove("bob keeps decoding after the resume", incoming.peerConnection, framesAfter.bob + 10);
  // The same call on both sides, still up; nothing ended it or announced its end.
  expect(alice.session.currentCall).toBe(outgoing);
  expect(bob.session.currentCall).toBe(incoming);
  expect([outgoing.state, incoming.state]).toEqual([CallState.active, CallState.active]);
  expect([...alice.ended, ...bob.ended]).toEqual([]);
  expect([...alice.receivedOf("stopCommunication"), ...bob.receivedOf("stopCommunication")]).toEqual([]);
  expect(observer.presenceOf(observedBefore, alice, bob)).toEqual([]);
  // The call still works both ways through the server after the resume: bob's data reaches alice.
  expect(bob.session.send("after the cut")).toBe(true);
}

describe.skipIf(!hasCoturn)("a signaling cut during an accepted call over relay-only TURN", () => {
  let turn: RunningCoturn;
  let server: RunningServer;

  beforeAll(async () => {
    turn = await startCoturn({ secret: TURN_SECRET });
    server = await startTestServer({ turnUrls: [turn.url], turnSecret: TURN_SECRET });
  });

  afterAll(async () => {
    await server?.close();
    await turn?.stop();
  });

  test("a 2 s cut: media keeps flowing relay to relay, no call ends, the observer sees no presence change", async () => {
    const { alice, bob, observer, proxy } = await threeUsers(server, { rtcConfiguration: { iceTransportPolicy: "relay" } });
    const [login] = bob.receivedOf("loginResponse");
    expect((login?.iceServers as Array<{ urls: unknown; credential?: string }>).some((entry) => String(entry.urls).startsWith("turn:") && entry.credential !== undefined)).toBe(true);
    await mediaSurvivesShortCut(alice, bob, observer, proxy);
  });
});

describe("calls across a signaling cut within the grace window", () => {
  let server: RunningServer;

  beforeAll(async () => {
    server = await startTestServer();
  });

  afterAll(async () => {
    await server.close();
  });

  test("a 2 s cut during an accepted call: media keeps flowing, no call ends, the observer sees no presence change", async () => {
    const { alice, bob, observer, proxy } = await threeUsers(server);
    await mediaSurvivesShortCut(alice, bob, observer, proxy);
  });

  test("a 2 s cut while the callee is rung: it still rings after the resume, accepting works and media flows", async () => {
    const { alice, bob, observer, proxy } = await threeUsers(server);
    const outgoing = alice.session.call(bob.userID, alice.video.stream);
    await waitFor("bob is rung", () => bob.incoming.length === 1);
    const incoming = bob.incoming[0] as PhoneCall;
    await waitFor("the observer sees both ringing", () => observer.session.user(alice.userID)?.status === "connecting" && observer.session.user(bob.userID)?.status === "connecting");
    const observedBefore = observer.presence.length;

    const cutOver = proxy.cut(SHORT_CUT_MS);
    await waitFor("bob noticed the cut", () => bob.session.isReconnecting);
    await cutOver;
    await waitFor("bob resumed its login", () => bob.reconnected.length === 1);
    expect(bob.reconnected).toEqual([true]);
    expect(observer.presenceOf(observedBefore, alice, bob)).toEqual([]);

    // Still the same ring on both sides.
    expect(bob.session.currentCall).toBe(incoming);
    expect(incoming.state).toBe(CallState.ringing);
    expect(outgoing.state).toBe(CallState.ringing);
    expect(bob.incoming).toHaveLength(1);
    bob.session.accept(bob.video.stream);
    await waitFor("both calls active", () => outgoing.state === CallState.active && incoming.state === CallState.active);
    await framesRiseAbove("alice decodes bob's video", outgoing.peerConnection, 5);
    await framesRiseAbove("bob decodes alice's video", incoming.peerConnection, 5);
    expect([...alice.ended, ...bob.ended]).toEqual([]);
  });

  test("one ServerConnection carries a room and a phone: one cut, one resume, and both carry on", async () => {
    const proxy = await startTcpProxy({ port: server.port });
    proxies.push(proxy);
    const wire = { sent: [] as WireMessage[], received: [] as WireMessage[], sockets: 0 };
    const connection = new ServerConnection({ url: proxy.wsUrl, WebSocket: recordingWebSocket(wire) });
    closers.push(() => connection.close());
    const room = new RoomSession({ connection, room: "shared", username: "both", wrtc, candidateFilter: isUdpCandidate });
    const phone = new PhoneSession({ connection, userID: `both-${Math.random().toString(36).slice(2, 8)}`, wrtc, candidateFilter: isUdpCandidate });
    const witness = new RoomSession({ url: server.wsUrl, room: "shared", username: "witness", wrtc, WebSocket, candidateFilter: isUdpCandidate });
    closers.push(() => room.leave(), () => phone.close(), () => witness.leave());
    const observer = new User("observer", server.wsUrl);
    users.push(observer);

    await witness.join();
    const joined = await room.join();
    await phone.connect();
    await observer.session.connect();
    // One socket, one session: the login got the room's session.
    expect(wire.sockets).toBe(1);
    expect(connection.session?.id).toBe(joined.id);
    await waitFor("the pair is connected", () => [...room.peers.values(), ...witness.peers.values()].every((peer) => peer.isConnected) && room.peers.size === 1 && witness.peers.size === 1);
    await waitFor("the observer sees the phone", () => observer.session.user(phone.login?.userID ?? "") !== undefined);
    const witnessPeer = witness.peers.get(joined.id);
    const roomReconnected: boolean[] = [];
    const phoneReconnected: boolean[] = [];
    const witnessLeft: string[] = [];
    room.on("reconnected", ({ resumed, id }) => roomReconnected.push(resumed && id === joined.id));
    phone.on("reconnected", ({ resumed }) => phoneReconnected.push(resumed));
    witness.on("peer-left", ({ peer }) => witnessLeft.push(peer.id));
    const observedBefore = observer.presence.length;

    const cutOver = proxy.cut(SHORT_CUT_MS);
    await waitFor("both noticed the cut", () => room.isReconnecting && phone.isReconnecting);
    await cutOver;
    await waitFor("both are back", () => roomReconnected.length === 1 && phoneReconnected.length === 1);

    expect(roomReconnected).toEqual([true]);
    expect(phoneReconnected).toEqual([true]);
    expect(wire.sent.filter((message) => message.type === "resume")).toHaveLength(1);
    expect(wire.sent.filter((message) => message.type === "login" || message.type === "new_user")).toHaveLength(2);
    expect(room.id).toBe(joined.id);
    expect(phone.isReady).toBe(true);
    expect(witnessLeft).toEqual([]);
    expect(witness.peers.get(joined.id)).toBe(witnessPeer);
    const phoneID = phone.login?.userID ?? "";
    expect(observer.presence.slice(observedBefore).filter((line) => line.split(" ")[1] === phoneID)).toEqual([]);
    // Both families still work on the resumed session: the pair talks, and the phone can be rung.
    const witnessData: unknown[] = [];
    witness.on("peer-data", ({ data }) => witnessData.push(data));
    expect(room.send(witness.id ?? "", "after the cut")).toBe(true);
    await waitFor("the witness got the room's data", () => witnessData.length === 1);
    const rings: PhoneCall[] = [];
    phone.on("incoming-call", (call) => rings.push(call));
    observer.session.call(phone.login?.userID ?? "");
    await waitFor("the phone is rung", () => rings.length === 1);
  });
});

describe("a signaling cut past the grace window", () => {
  let server: RunningServer;

  beforeAll(async () => {
    server = await startTestServer({ resumeGraceMs: SHORT_GRACE_MS });
  });

  afterAll(async () => {
    await server.close();
  });

  test("the phone logs in again and reports the call ended session_lost; the other party's call ends disconnected", async () => {
    // Bob's peer-loss grace outlasts the test, so that only the restart can end his call.
    const { alice, bob, observer, proxy } = await threeUsers(server, {}, { peerLossGraceMs: 60_000 });
    const { outgoing, incoming } = await acceptedCall(alice, bob);

    const cutOver = proxy.cut(LONG_CUT_MS);
    await waitFor("alice's call ended when bob's grace window ran out", () => outgoing.ended);
    expect(outgoing.end).toEqual({ reason: "disconnected", byLocal: false });
    await waitFor("the observer saw bob go offline", () => observer.session.user(bob.userID) === undefined);
    expect(incoming.ended).toBe(false);
    await cutOver;

    await waitFor("bob logged in again", () => bob.reconnected.length === 1);
    expect(bob.reconnected).toEqual([false]);
    expect(incoming.end).toMatchObject({ reason: "session_lost", byLocal: true });
    expect(bob.ended.map((end) => end.reason)).toEqual(["session_lost"]);
    expect(bob.session.currentCall).toBeUndefined();
    expect(bob.session.isReady).toBe(true);
    expect(bob.sentOf("resume")).toHaveLength(1);
    expect(bob.sentOf("login")).toHaveLength(2);
    await waitFor("everyone sees bob online again", () => alice.session.user(bob.userID)?.status === "online" && observer.session.user(bob.userID)?.status === "online");
    expect(bob.session.user(alice.userID)?.status).toBe("online");
    // And bob can be called again.
    alice.session.call(bob.userID);
    await waitFor("bob is rung again", () => bob.incoming.length === 2);
  });
});
