/**
 * Watches over the real server and real WebRTC (@roamhq/wrtc): one user watches another's
 * synthetic camera through `PhoneSession.watch()`. Frames reach the watcher and the watcher sends
 * no media; the watched user is asked and may deny, or allows the watcher beforehand; either side
 * stops; two watchers at once; a watch next to a call of the watched user; the counts a third user
 * sees in presence; a watch across a 2 s signaling cut of the watched user.
 */
import wrtc from "@roamhq/wrtc";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { isUdpCandidate, settleWebRtc, SyntheticVideo } from "../client/headless/peers.ts";
import { PhoneSession, WatchState, type PhoneWatch, type PhoneSessionOptions, type WatchEnd, type WatchRequest, type Watcher } from "../client/core/phone.ts";
import { startServer, type RunningServer } from "../server/server.ts";
import { mintToken } from "../server/tokens.ts";
import { LOOPBACK_TEST_LIMITS } from "./support/loopback-limits.ts";
import { startTcpProxy, type TcpProxy } from "./support/tcp-proxy.ts";
import { waitFor } from "./mesh/helpers.ts";

type RTCVideoSink = InstanceType<typeof wrtc.nonstandard.RTCVideoSink>;

/** Generous bound for anything WebRTC does on a busy two-core machine. */
const DEADLINE_MS = 30_000;
/** The signaling cut. */
const CUT_MS = 2_000;

let server: RunningServer;
let userCounter = 0;
const users: TestUser[] = [];
const proxies: TcpProxy[] = [];

/** Sums `field` over the stats entries of `type` (and `kind` video) of `pc`. */
async function statSum(pc: RTCPeerConnection | undefined, type: string, field: string): Promise<{ entries: number; total: number }> {
  const report = (await pc?.getStats()) ?? new Map<string, Record<string, unknown>>();
  let entries = 0;
  let total = 0;
  for (const entry of report.values() as Iterable<Record<string, unknown>>) {
    if (entry.type === type) {
      entries += 1;
      total += typeof entry[field] === "number" ? entry[field] : 0;
    }
  }
  return { entries, total };
}

/** A logged-in user with a synthetic camera as its watch stream, recording what the tests check. */
class TestUser {
  readonly session: PhoneSession;
  readonly userID: string;
  readonly camera = new SyntheticVideo();
  readonly requests: WatchRequest[] = [];
  readonly ended: Array<{ watch: PhoneWatch; end: WatchEnd }> = [];
  readonly watchersSeen: Array<readonly Watcher[]> = [];
  /** Frames decoded per watched user id. */
  readonly frames = new Map<string, number>();
  /** Frames decoded from the other party of a call. */
  callFrames = 0;
  readonly #sinks: RTCVideoSink[] = [];

  constructor(name: string, options: Partial<PhoneSessionOptions> = {}) {
    userCounter += 1;
    this.userID = `${name}-${userCounter}`;
    this.session = new PhoneSession({
      url: server.wsUrl,
      userID: this.userID,
      wrtc,
      WebSocket,
      candidateFilter: isUdpCandidate,
      watchStream: this.camera.stream,
      ...options,
    });
    this.session.on("watch-request", (request) => this.requests.push(request));
    this.session.on("watch-ended", (ended) => this.ended.push(ended));
    this.session.on("watchers", ({ watchers }) => this.watchersSeen.push(watchers));
    this.session.on("watch-stream", ({ watch, stream }) => this.#count(stream, () => this.frames.set(watch.remote.userID, this.framesOf(watch.remote.userID) + 1)));
    this.session.on("remote-stream", ({ stream }) => this.#count(stream, () => (this.callFrames += 1)));
    users.push(this);
  }

  framesOf(userID: string): number {
    return this.frames.get(userID) ?? 0;
  }

  /** Waits until `count` more frames of `userID` were decoded than now. */
  async moreFramesOf(userID: string, count = 10): Promise<void> {
    const start = this.framesOf(userID);
    await waitFor(`${count} more frames of ${userID} at ${this.userID}`, () => this.framesOf(userID) >= start + count, DEADLINE_MS);
  }

  #count(stream: MediaStream, onFrame: () => void): void {
    const [track] = stream.getVideoTracks();
    if (track) {
      const sink = new wrtc.nonstandard.RTCVideoSink(track);
      sink.onframe = onFrame;
      this.#sinks.push(sink);
    }
  }

  stop(): void {
    this.session.close();
    this.camera.stop();
    for (const sink of this.#sinks.splice(0)) {
      sink.stop();
    }
  }
}

/** `names` logged in, each seeing all the others. */
async function online<Names extends string[]>(...names: Names): Promise<{ [Index in keyof Names]: TestUser }> {
  const created = names.map((name) => new TestUser(name));
  for (const user of created) {
    await user.session.connect();
  }
  for (const user of created) {
    await waitFor(`${user.userID} sees everyone`, () => created.every((other) => user.session.user(other.userID) !== undefined));
  }
  // One user per name, in order: the mapped tuple type is what `map` cannot express.
  return created as { [Index in keyof Names]: TestUser };
}

/** Waits until the watched side of `watcher`'s watch of `watched` lists it, and frames arrive. */
async function watching(watcher: TestUser, watched: TestUser): Promise<PhoneWatch> {
  const watch = watcher.session.watches.find((candidate) => candidate.role === "watcher" && candidate.remote.userID === watched.userID && !candidate.ended);
  if (!watch) {
    throw new Error(`${watcher.userID} does not watch ${watched.userID}`);
  }
  await waitFor("the watch is up", () => watch.state === WatchState.active, DEADLINE_MS);
  await watcher.moreFramesOf(watched.userID);
  return watch;
}

beforeAll(async () => {
  server = await startServer({ ...LOOPBACK_TEST_LIMITS, host: "127.0.0.1", port: 0, iceServers: [], ringTimeoutMs: 3_000, resumeGraceMs: 15_000 });
});

afterEach(async () => {
  for (const user of users.splice(0)) {
    user.stop();
  }
  for (const proxy of proxies.splice(0)) {
    await proxy.close();
  }
  await settleWebRtc();
});

afterAll(async () => {
  await server?.close();
});

describe("watching a user: happy path", () => {
  it("delivers the watched camera to the watcher, who sends no media, once the watched user allows it", async () => {
    const [alice, bob] = await online("alice", "bob");
    const watch = bob.session.watch(alice.userID);
    await waitFor("alice is asked", () => alice.requests.length === 1);
    expect(alice.requests[0]?.from.userID).toBe(bob.userID);
    alice.requests[0]?.accept();
    await watching(bob, alice);
    await bob.moreFramesOf(alice.userID);
    await waitFor("alice sees bob watching", () => alice.session.watchers.some((watcher) => watcher.userID === bob.userID));

    const decoded = await statSum(watch.peerConnection, "inbound-rtp", "framesDecoded");
    expect(decoded.total).toBeGreaterThan(0);
    const sent = await statSum(watch.peerConnection, "outbound-rtp", "bytesSent");
    expect(sent.total).toBe(0);
    const aliceSide = alice.session.watches.find((candidate) => candidate.role === "watched");
    expect((await statSum(aliceSide?.peerConnection, "inbound-rtp", "bytesReceived")).total).toBe(0);
  });

  it("starts without asking when the watched user allowed the watcher, and lets two watch at once", async () => {
    const [alice, bob, carol] = await online("alice", "bob", "carol");
    await alice.session.allowWatching(bob.userID, true);
    await alice.session.allowWatching("*", true);
    bob.session.watch(alice.userID);
    carol.session.watch(alice.userID);
    await watching(bob, alice);
    await watching(carol, alice);
    await Promise.all([bob.moreFramesOf(alice.userID), carol.moreFramesOf(alice.userID)]);
    expect(alice.requests).toEqual([]);
    await waitFor("alice sees both watchers", () => alice.session.watchers.length === 2);
  });

  it("keeps a watch going while the watched user is in a call, and the call too", async () => {
    const [alice, bob, carol] = await online("alice", "bob", "carol");
    await alice.session.allowWatching(bob.userID, true);
    bob.session.watch(alice.userID);
    await watching(bob, alice);
    carol.session.on("incoming-call", () => carol.session.accept(carol.camera.stream));
    alice.session.call(carol.userID, alice.camera.stream);
    await waitFor("the call carries video both ways", () => alice.callFrames > 10 && carol.callFrames > 10, DEADLINE_MS);
    await bob.moreFramesOf(alice.userID);
    // And a watch starts while the call runs.
    await carol.session.allowWatching(bob.userID, true);
    bob.session.watch(carol.userID);
    await watching(bob, carol);
    expect(bob.ended).toEqual([]);
    expect(alice.session.currentCall?.isActive).toBe(true);
  });

  it("shows a third user who watches and who is watched, and when it is over", async () => {
    const [alice, bob, carol] = await online("alice", "bob", "carol");
    await alice.session.allowWatching("*", true);
    const watch = bob.session.watch(alice.userID);
    await waitFor("carol sees the watch", () => carol.session.user(alice.userID)?.watchedBy === 1 && carol.session.user(bob.userID)?.watching === 1);
    watch.stop();
    await waitFor("carol sees it end", () => carol.session.user(alice.userID)?.watchedBy === undefined && carol.session.user(bob.userID)?.watching === undefined);
  });

  it("goes on across a 2 s signaling cut of the watched user", async () => {
    const proxy = await startTcpProxy({ port: server.port });
    proxies.push(proxy);
    const alice = new TestUser("alice", { url: proxy.wsUrl });
    const bob = new TestUser("bob");
    await alice.session.connect();
    await bob.session.connect();
    await waitFor("bob sees alice", () => bob.session.user(alice.userID) !== undefined);
    await alice.session.allowWatching(bob.userID, true);
    bob.session.watch(alice.userID);
    await watching(bob, alice);
    const reconnected = new Promise<{ resumed: boolean }>((resolve) => alice.session.once("reconnected", resolve));
    await proxy.cut(CUT_MS);
    expect(await reconnected).toEqual({ resumed: true });
    await bob.moreFramesOf(alice.userID);
    expect(bob.ended).toEqual([]);
    expect(alice.ended).toEqual([]);
    // The watch is still one the server knows: stopping it reaches bob.
    const aliceSide = alice.session.watches.find((candidate) => candidate.role === "watched");
    aliceSide?.stop();
    await waitFor("bob's watch ends", () => bob.ended.length === 1);
    expect(bob.ended[0]?.end).toEqual({ reason: "stopped", byLocal: false });
  });
});

describe("watching a user: refusals and endings", () => {
  it("ends the watch for the watcher when the watched user stays away past the grace window", async () => {
    const shortGrace = await startServer({ ...LOOPBACK_TEST_LIMITS, host: "127.0.0.1", port: 0, iceServers: [], resumeGraceMs: 1_500 });
    const proxy = await startTcpProxy({ port: shortGrace.port });
    proxies.push(proxy);
    try {
      const alice = new TestUser("alice", { url: proxy.wsUrl });
      const bob = new TestUser("bob", { url: shortGrace.wsUrl });
      await alice.session.connect();
      await bob.session.connect();
      await waitFor("bob sees alice", () => bob.session.user(alice.userID) !== undefined);
      await alice.session.allowWatching(bob.userID, true);
      bob.session.watch(alice.userID);
      await watching(bob, alice);
      await proxy.cut(4_000);
      await waitFor("both watches end", () => bob.ended.length === 1 && alice.ended.length === 1);
      expect(bob.ended[0]?.end).toEqual({ reason: "disconnected", byLocal: false });
      // Alice's side ends by itself: its peer connection died with bob's (media_failed) before it
      // could learn, after the cut, that its login was gone (session_lost); either is right.
      expect(["media_failed", "session_lost"]).toContain(alice.ended[0]?.end.reason);
      await waitFor("alice logged in again", () => alice.session.isReady && !alice.session.isReconnecting);
      expect(alice.session.watches).toEqual([]);
    } finally {
      for (const user of users.splice(0)) {
        user.stop();
      }
      await shortGrace.close();
    }
  });

  it("ends the watcher's request when the watched user denies", async () => {
    const [alice, bob] = await online("alice", "bob");
    bob.session.watch(alice.userID);
    await waitFor("alice is asked", () => alice.requests.length === 1);
    alice.requests[0]?.deny();
    await waitFor("bob's request ends", () => bob.ended.length === 1);
    expect(bob.ended[0]?.end).toEqual({ reason: "denied", byLocal: false });
    expect(alice.ended).toEqual([]);
  });

  it.each(["watcher", "watched"] as const)("ends the watch on both sides when the %s stops it", async (side) => {
    const [alice, bob] = await online("alice", "bob");
    await alice.session.allowWatching(bob.userID, true);
    bob.session.watch(alice.userID);
    const watch = await watching(bob, alice);
    const watchId = watch.watchId ?? "";
    expect((side === "watcher" ? bob : alice).session.stopWatching(watchId)).toBe(true);
    await waitFor("both sides ended", () => bob.ended.length === 1 && alice.ended.length === 1);
    expect(bob.ended[0]?.end).toEqual({ reason: "stopped", byLocal: side === "watcher" });
    expect(alice.ended[0]?.end).toEqual({ reason: "stopped", byLocal: side === "watched" });
    await waitFor("alice's watcher list is empty", () => alice.session.watchers.length === 0);
  });

  it("refuses watching a user who is offline, and ends the watch when the watched user closes its session", async () => {
    const [alice, bob] = await online("alice", "bob");
    bob.session.watch("nobody-here");
    await waitFor("refused", () => bob.ended.length === 1);
    expect(bob.ended[0]?.end).toEqual({ reason: "offline", byLocal: false });
    await alice.session.allowWatching(bob.userID, true);
    bob.session.watch(alice.userID);
    await watching(bob, alice);
    // Closing a session stops its watches, as it hangs up a call.
    alice.stop();
    await waitFor("bob's watch ends", () => bob.ended.length === 2);
    expect(bob.ended[1]?.end).toEqual({ reason: "stopped", byLocal: false });
  });
});

describe("watching a device", () => {
  it.each(["open", "token"] as const)("starts without asking when the watched login is a device (%s mode)", async (mode) => {
    const secret = "watch-device-secret-of-at-least-32-bytes";
    const running = mode === "open" ? server : await startServer({ ...LOOPBACK_TEST_LIMITS, host: "127.0.0.1", port: 0, iceServers: [], auth: "token", authSecret: secret });
    try {
      const loginToken = async (userId: string, device: boolean) =>
        mode === "token" ? { loginToken: await mintToken({ kind: "login", userId, grants: { call: true, device } }, secret, 600) } : {};
      const gate = new TestUser("gate", { url: running.wsUrl, ...(mode === "open" ? { device: true } : {}), ...(await loginToken(`gate-${userCounter + 1}`, true)) });
      const bob = new TestUser("bob", { url: running.wsUrl, ...(await loginToken(`bob-${userCounter + 1}`, false)) });
      await gate.session.connect();
      await bob.session.connect();
      await waitFor("bob sees the gate as a device", () => bob.session.user(gate.userID)?.device === true);
      bob.session.watch(gate.userID);
      await watching(bob, gate);
      expect(gate.requests).toEqual([]);
    } finally {
      if (running !== server) {
        for (const user of users.splice(0)) {
          user.stop();
        }
        await running.close();
      }
    }
  });
});
