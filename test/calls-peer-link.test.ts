/**
 * Calls on the peer link, over the real server and real WebRTC (@roamhq/wrtc): what calls gained
 * from sharing the link with rooms. A call over relay-only TURN (a real coturn) with nothing but the
 * credentials from `loginResponse`; candidates that keep their `usernameFragment` end to end;
 * publishing a track and restarting ICE in an accepted call through `callDescription`, from either
 * side; the call's data channel.
 */
import wrtc from "@roamhq/wrtc";
import { afterAll, afterEach, beforeAll, describe, expect, test } from "vitest";
import { isUdpCandidate, settleWebRtc, SyntheticVideo } from "../client/headless/peers.ts";
import { CallState, PhoneSession, type PhoneCall, type PhoneSessionOptions } from "../client/core/phone.ts";
import type { IceServer } from "../shared/protocol/index.ts";
import type { TrackSource } from "../shared/protocol/mesh.ts";
import { startServer, type RunningServer } from "../server/server.ts";
import { requireCoturn, startCoturn, type RunningCoturn } from "./support/coturn.ts";
import { LOOPBACK_TEST_LIMITS } from "./support/loopback-limits.ts";
import { recordingWebSocket, type WireMessage } from "./support/recording-websocket.ts";
import { waitFor } from "./mesh/helpers.ts";

type RTCVideoSink = InstanceType<typeof wrtc.nonstandard.RTCVideoSink>;

const TURN_SECRET = "calls-turn-secret";
/** Short, so that a renewal comes within the test (the server rounds the expiry down: 4–5 s). */
const CREDENTIAL_TTL_SECONDS = 5;

const hasCoturn = requireCoturn();

/** The ICE ufrag a candidate line names (`… ufrag <ufrag> …`). */
function ufragOf(candidate: string): string | undefined {
  return / ufrag (\S+)/.exec(candidate)?.[1];
}

/** The candidate types (`host`, `srflx`, `relay`) of the pair the connection selected. */
async function selectedCandidateTypes(pc: RTCPeerConnection | undefined): Promise<{ local: unknown; remote: unknown }> {
  const report = (await pc?.getStats()) ?? new Map<string, Record<string, unknown>>();
  const stats = [...report.values()] as Array<Record<string, unknown>>;
  const byId = new Map(stats.map((entry) => [entry.id, entry]));
  const transport = stats.find((entry) => entry.type === "transport" && typeof entry.selectedCandidatePairId === "string");
  const pair = transport
    ? byId.get(transport.selectedCandidatePairId)
    : stats.find((entry) => entry.type === "candidate-pair" && entry.nominated === true && entry.state === "succeeded");
  return { local: byId.get(pair?.localCandidateId)?.candidateType, remote: byId.get(pair?.remoteCandidateId)?.candidateType };
}

/**
 * One user: a {@link PhoneSession} whose socket records every message both ways, synthetic video,
 * and the frames it decodes from the other party, by source.
 */
class Caller {
  readonly session: PhoneSession;
  readonly userID: string;
  readonly camera = new SyntheticVideo();
  readonly sent: WireMessage[] = [];
  readonly received: WireMessage[] = [];
  readonly framesBySource = new Map<TrackSource, number>();
  readonly data: unknown[] = [];
  readonly incoming: PhoneCall[] = [];
  readonly #videos: SyntheticVideo[] = [this.camera];
  readonly #sinks: RTCVideoSink[] = [];

  constructor(name: string, url: string, options: Partial<PhoneSessionOptions> = {}) {
    this.userID = `${name}-${Math.random().toString(36).slice(2, 8)}`;
    this.session = new PhoneSession({ url, userID: this.userID, wrtc, WebSocket: recordingWebSocket(this.sent, this.received), candidateFilter: isUdpCandidate, ...options });
    this.session.on("incoming-call", (call) => this.incoming.push(call));
    this.session.on("call-data", ({ data }) => this.data.push(data));
    this.session.on("remote-track-published", ({ source, track }) => {
      if (track.kind !== "video") {
        return;
      }
      const sink = new wrtc.nonstandard.RTCVideoSink(track);
      sink.onframe = () => this.framesBySource.set(source, (this.framesBySource.get(source) ?? 0) + 1);
      this.#sinks.push(sink);
    });
  }

  /** Frames decoded so far from the other party's `source`. */
  frames(source: TrackSource): number {
    return this.framesBySource.get(source) ?? 0;
  }

  /** Messages of `type` this side sent or received. */
  sentOf(type: string): WireMessage[] {
    return this.sent.filter((message) => message.type === type);
  }

  receivedOf(type: string): WireMessage[] {
    return this.received.filter((message) => message.type === type);
  }

  /** A video track of its own (stopped with the caller), e.g. a screen to publish. */
  newVideoTrack(): MediaStreamTrack {
    const video = new SyntheticVideo();
    this.#videos.push(video);
    const [track] = video.stream.getVideoTracks();
    if (!track) {
      throw new Error("synthetic video without a track");
    }
    return track;
  }

  stop(): void {
    this.session.close();
    for (const video of this.#videos) {
      video.stop();
    }
    for (const sink of this.#sinks.splice(0)) {
      sink.stop();
    }
  }
}

const callers: Caller[] = [];

/** Two users online who see each other, then a call from the first, accepted by the second, with video both ways. */
async function acceptedCall(url: string, options: Partial<PhoneSessionOptions> = {}): Promise<{ alice: Caller; bob: Caller; outgoing: PhoneCall; incoming: PhoneCall }> {
  const alice = new Caller("alice", url, options);
  const bob = new Caller("bob", url, options);
  callers.push(alice, bob);
  await alice.session.connect();
  await bob.session.connect();
  await waitFor("alice sees bob online", () => alice.session.canCall(bob.userID));
  const outgoing = alice.session.call(bob.userID, alice.camera.stream);
  await waitFor("bob is rung", () => bob.incoming.length === 1);
  const incoming = bob.incoming[0] as PhoneCall;
  bob.session.accept(bob.camera.stream);
  await waitFor("both calls active", () => outgoing.state === CallState.active && incoming.state === CallState.active);
  return { alice, bob, outgoing, incoming };
}

afterEach(async () => {
  for (const caller of callers.splice(0)) {
    caller.stop();
  }
  await settleWebRtc();
});

describe.skipIf(!hasCoturn)("a call over relay-only TURN", () => {
  let turn: RunningCoturn;
  let server: RunningServer;

  beforeAll(async () => {
    turn = await startCoturn({ secret: TURN_SECRET });
    server = await startServer({ ...LOOPBACK_TEST_LIMITS, host: "127.0.0.1", port: 0, iceServers: [], turnUrls: [turn.url], turnSecret: TURN_SECRET, turnCredentialTtlSeconds: CREDENTIAL_TTL_SECONDS });
  });

  afterAll(async () => {
    await server?.close();
    await turn?.stop();
  });

  test("with only the credentials from loginResponse, the call connects relay to relay and video decodes both ways", async () => {
    // No `iceServers` option: the session has nothing but what the server hands out.
    const { alice, bob, outgoing, incoming } = await acceptedCall(server.wsUrl, { rtcConfiguration: { iceTransportPolicy: "relay" } });
    const [login] = alice.receivedOf("loginResponse");
    const issued = login?.iceServers as IceServer[] | undefined;
    expect(issued?.some((entry) => String(entry.urls).startsWith("turn:") && entry.credential !== undefined)).toBe(true);
    expect(outgoing.peerConnection?.getConfiguration().iceServers).toEqual(issued?.map((entry) => expect.objectContaining(entry)));
    await waitFor("video decodes both ways", () => alice.frames("camera") > 5 && bob.frames("camera") > 5);
    expect(await selectedCandidateTypes(outgoing.peerConnection)).toEqual({ local: "relay", remote: "relay" });
    expect(await selectedCandidateTypes(incoming.peerConnection)).toEqual({ local: "relay", remote: "relay" });
    // Only relay candidates travelled.
    const candidates = [...alice.sentOf("onIceCandidate"), ...bob.sentOf("onIceCandidate")].map((message) => (message.candidate as { candidate: string }).candidate);
    expect(candidates.length).toBeGreaterThan(0);
    expect(candidates.every((candidate) => candidate.includes(" typ relay"))).toBe(true);
  });

  test("the session renews the server's ICE servers with refresh_ice_servers before they expire", async () => {
    const alice = new Caller("alice", server.wsUrl);
    callers.push(alice);
    const usernames: Array<string | undefined> = [];
    alice.session.on("ice-servers", ({ iceServers }) => usernames.push(iceServers.find((entry) => entry.username !== undefined)?.username));
    await alice.session.connect();
    await waitFor("a renewal", () => usernames.length >= 2);
    expect(alice.sentOf("refresh_ice_servers").length).toBeGreaterThanOrEqual(1);
    // TURN REST usernames start with their expiry (Unix seconds): the renewed one lives longer.
    const [first, renewed] = usernames.map((username) => Number(username?.split(":")[0]));
    expect(renewed).toBeGreaterThan(first ?? Infinity);
  });
});

describe("calls on the peer link", () => {
  let server: RunningServer;

  beforeAll(async () => {
    server = await startServer({ ...LOOPBACK_TEST_LIMITS, host: "127.0.0.1", port: 0, iceServers: [] });
  });

  afterAll(async () => {
    await server.close();
  });

  test("trickled candidates keep their usernameFragment from one side to the other", async () => {
    const { alice, bob } = await acceptedCall(server.wsUrl);
    const sent = alice.sentOf("onIceCandidate").map((message) => message.candidate as { candidate: string; usernameFragment?: string });
    expect(sent.length).toBeGreaterThan(0);
    for (const candidate of sent) {
      expect(candidate.usernameFragment).toBe(ufragOf(candidate.candidate));
    }
    await waitFor("bob received alice's candidates", () => bob.receivedOf("iceCandidate").length >= sent.length);
    expect(bob.receivedOf("iceCandidate").map((message) => message.candidate)).toEqual(sent);
  });

  test("the caller publishes a screen during the call: renegotiated through callDescription, the callee decodes it", async () => {
    const { alice, bob, outgoing } = await acceptedCall(server.wsUrl);
    outgoing.publications?.publish("screen", alice.newVideoTrack());
    await waitFor("bob decodes alice's screen", () => bob.frames("screen") > 5);
    expect(alice.sentOf("callDescription").map((message) => (message.sdp as { type: string }).type)).toEqual(["offer"]);
    expect(bob.sentOf("callDescription").map((message) => (message.sdp as { type: string }).type)).toEqual(["answer"]);
    expect(bob.session.currentCall?.state).toBe(CallState.active);
    // The camera kept flowing on the same connection.
    const framesBefore = bob.frames("camera");
    await waitFor("bob's camera frames keep rising", () => bob.frames("camera") > framesBefore + 5);
  });

  test("the callee publishes a screen during the call: the caller offers again through callDescription", async () => {
    const { alice, bob, incoming } = await acceptedCall(server.wsUrl);
    incoming.publications?.publish("screen", bob.newVideoTrack());
    await waitFor("alice decodes bob's screen", () => alice.frames("screen") > 5);
    // Only the caller offers: the callee asked over the data channel, not through the server.
    expect(alice.sentOf("callDescription").every((message) => (message.sdp as { type: string }).type === "offer")).toBe(true);
    expect(bob.sentOf("callDescription").every((message) => (message.sdp as { type: string }).type === "answer")).toBe(true);
    expect(bob.sentOf("callDescription").length).toBeGreaterThan(0);
  });

  test("an ICE restart during the call gathers new candidates under new ufrags and the call carries on", async () => {
    const { alice, bob, outgoing } = await acceptedCall(server.wsUrl);
    const ufragsBefore = new Set(alice.sentOf("onIceCandidate").map((message) => ufragOf((message.candidate as { candidate: string }).candidate)));
    expect(bob.session.restartIce()).toBe(false);
    expect(alice.session.restartIce()).toBe(true);
    await waitFor("alice sends candidates under a new ufrag", () =>
      alice.sentOf("onIceCandidate").some((message) => !ufragsBefore.has(ufragOf((message.candidate as { candidate: string }).candidate))));
    await waitFor("bob answered the restart", () => bob.sentOf("callDescription").length === 1);
    await waitFor("the connection is up again", () => outgoing.peerConnection?.iceConnectionState === "connected" || outgoing.peerConnection?.iceConnectionState === "completed");
    const framesBefore = alice.frames("camera");
    await waitFor("alice's camera frames keep rising", () => alice.frames("camera") > framesBefore + 5);
    expect(outgoing.state).toBe(CallState.active);
  });

  test("the call's data channel carries application payloads both ways", async () => {
    const { alice, bob } = await acceptedCall(server.wsUrl);
    expect(alice.session.send({ hello: "bob" })).toBe(true);
    expect(bob.session.send("hi alice")).toBe(true);
    await waitFor("both payloads arrived", () => alice.data.length === 1 && bob.data.length === 1);
    expect(bob.data).toEqual([{ hello: "bob" }]);
    expect(alice.data).toEqual(["hi alice"]);
  });

  test("send() returns false without a connected call", async () => {
    const alice = new Caller("alice", server.wsUrl);
    callers.push(alice);
    await alice.session.connect();
    expect(alice.session.send("nobody")).toBe(false);
    expect(alice.session.restartIce()).toBe(false);
  });
});
