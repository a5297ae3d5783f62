/**
 * Headless peers: real WebRTC participants in Node (`@roamhq/wrtc` + `ws`) built on the same mesh
 * core as the browser client. Used by `webrtc-room peers` to load-test a server, by the mesh
 * tests and by the mesh benchmark.
 */
import wrtc from "@roamhq/wrtc";
import { nanoid } from "nanoid";
import WebSocket from "ws";
import type { IceCandidate } from "../../shared/protocol/index.ts";
import {
  MeshError,
  MeshSession,
  PeerState,
  type JoinInfo,
  type MeshErrorCode,
  type MeshSessionOptions,
  type WebSocketConstructor,
} from "../core/index.ts";

type RTCVideoSource = InstanceType<typeof wrtc.nonstandard.RTCVideoSource>;
type RTCAudioSource = InstanceType<typeof wrtc.nonstandard.RTCAudioSource>;
type RTCVideoSink = InstanceType<typeof wrtc.nonstandard.RTCVideoSink>;

/** Synthetic video width in pixels: small, so that dozens of encoders fit on a laptop core. */
export const SYNTHETIC_VIDEO_WIDTH = 160;
/** Synthetic video height in pixels. */
export const SYNTHETIC_VIDEO_HEIGHT = 120;
/** Synthetic video frames per second. */
export const SYNTHETIC_VIDEO_FPS = 15;

/**
 * A video track fed from a timer with I420 frames whose brightness changes every frame (so the
 * encoder always has something to send). `stop()` ends the timer and the track.
 */
export class SyntheticVideo {
  readonly stream: MediaStream;
  readonly #source: RTCVideoSource;
  readonly #track: MediaStreamTrack;
  readonly #frame = new Uint8Array(SYNTHETIC_VIDEO_WIDTH * SYNTHETIC_VIDEO_HEIGHT * 1.5);
  #timer: ReturnType<typeof setInterval> | undefined;
  #frameCount = 0;

  constructor() {
    this.#source = new wrtc.nonstandard.RTCVideoSource();
    this.#track = this.#source.createTrack();
    this.stream = new wrtc.MediaStream([this.#track]);
    this.#timer = setInterval(() => this.#pushFrame(), 1000 / SYNTHETIC_VIDEO_FPS);
  }

  /** Stops feeding frames and ends the track. Safe to call twice. */
  stop(): void {
    if (this.#timer === undefined) {
      return;
    }
    clearInterval(this.#timer);
    this.#timer = undefined;
    this.#track.stop();
  }

  #pushFrame(): void {
    const lumaBytes = SYNTHETIC_VIDEO_WIDTH * SYNTHETIC_VIDEO_HEIGHT;
    this.#frame.fill((this.#frameCount++ * 8) % 256, 0, lumaBytes);
    this.#source.onFrame({ width: SYNTHETIC_VIDEO_WIDTH, height: SYNTHETIC_VIDEO_HEIGHT, data: this.#frame });
  }
}

/** Sample rate of {@link SyntheticAudio}. */
export const SYNTHETIC_AUDIO_SAMPLE_RATE = 48_000;
/** Pitch of {@link SyntheticAudio}'s tone, in Hz. */
export const SYNTHETIC_TONE_HZ = 440;
/** 10 ms of audio per frame, what libwebrtc's audio sources take. */
const AUDIO_FRAME_MS = 10;

/**
 * An audio track fed from a timer with 16-bit mono frames: a sine `tone` at half of full scale
 * (a "speaker"), or `silence`. `stop()` ends the timer and the track.
 */
export class SyntheticAudio {
  readonly track: MediaStreamTrack;
  readonly #source: RTCAudioSource;
  readonly #samples = new Int16Array((SYNTHETIC_AUDIO_SAMPLE_RATE * AUDIO_FRAME_MS) / 1000);
  readonly #amplitude: number;
  #timer: ReturnType<typeof setInterval> | undefined;
  #phase = 0;

  constructor(kind: "tone" | "silence") {
    this.#source = new wrtc.nonstandard.RTCAudioSource();
    this.track = this.#source.createTrack();
    this.#amplitude = kind === "tone" ? 0.5 * 32_767 : 0;
    this.#timer = setInterval(() => this.#pushFrame(), AUDIO_FRAME_MS);
  }

  /** Stops feeding samples and ends the track. Safe to call twice. */
  stop(): void {
    if (this.#timer === undefined) {
      return;
    }
    clearInterval(this.#timer);
    this.#timer = undefined;
    this.track.stop();
  }

  #pushFrame(): void {
    const step = (2 * Math.PI * SYNTHETIC_TONE_HZ) / SYNTHETIC_AUDIO_SAMPLE_RATE;
    for (let index = 0; index < this.#samples.length; index += 1) {
      this.#samples[index] = Math.round(this.#amplitude * Math.sin(this.#phase));
      this.#phase = (this.#phase + step) % (2 * Math.PI);
    }
    this.#source.onData({
      samples: this.#samples,
      sampleRate: SYNTHETIC_AUDIO_SAMPLE_RATE,
      bitsPerSample: 16,
      channelCount: 1,
      numberOfFrames: this.#samples.length,
    });
  }
}

/**
 * True for UDP candidates. Headless peers signal only those: in one Node process every new
 * `RTCPeerConnection` makes libwebrtc re-gather TCP host candidates on every existing one (a
 * 6-peer room sent ~900 of them, enough to trip the server's rate limit), and on loopback a TCP
 * candidate can never win over UDP anyway.
 */
export function isUdpCandidate(ice: IceCandidate): boolean {
  // candidate:<foundation> <component> <transport> <priority> <address> <port> typ <type> …
  return ice.candidate.split(" ")[2]?.toLowerCase() === "udp";
}

/** Options of a {@link HeadlessPeer}. */
export interface HeadlessPeerOptions {
  /** Signaling URL, e.g. `ws://127.0.0.1:8080/ws`. */
  url: string;
  room: string;
  username: string;
  /** The join token a token-mode server requires. */
  token?: string;
  /** Send a synthetic video track to every peer. */
  video?: boolean;
  /**
   * Number of remote peers that makes this peer "fully connected" (room size minus one); when
   * set, {@link HeadlessPeer.joinToFullyConnectedMs} is recorded.
   */
  expectedRemotes?: number;
  joinTimeoutMs?: number;
  /** WebSocket class; defaults to `ws`. Tests pass a subclass to reach the raw socket. */
  WebSocket?: WebSocketConstructor;
  /** Signaling reconnect policy, or `false` for none; the session's default otherwise. */
  reconnect?: MeshSessionOptions["reconnect"];
  /** `RTCConfiguration` extras for every peer, e.g. `{ iceTransportPolicy: "relay" }`. */
  rtcConfiguration?: MeshSessionOptions["rtcConfiguration"];
  /** Delay before a failed pair is rebuilt; the session's default otherwise. */
  peerRebuildDelayMs?: MeshSessionOptions["peerRebuildDelayMs"];
  /** Uplink video budget in kbit/s; the server's otherwise. */
  uplinkBudgetKbps?: number;
  /** Send a synthetic microphone: a 440 Hz `tone` or `silence`. */
  audio?: "tone" | "silence";
  /**
   * How often to read the others' audio levels (`levels` and `active-speaker` events), in ms.
   * Off (0) by default: a load test of many peers should not pay for it.
   */
  audioLevelIntervalMs?: number;
}

/**
 * One headless participant: a {@link MeshSession} over `@roamhq/wrtc`, counting what a load test
 * reports: when each remote connected, video frames received per remote, errors by code.
 */
export class HeadlessPeer {
  readonly session: MeshSession;
  readonly room: string;
  readonly username: string;
  /** Error counts by code, including a failed join. */
  readonly errors = new Map<string, number>();
  readonly #video: SyntheticVideo | undefined;
  readonly #audio: SyntheticAudio | undefined;
  readonly #expectedRemotes: number | undefined;
  readonly #frames = new Map<string, number>();
  readonly #sinks = new Map<string, RTCVideoSink[]>();
  #joinStartedAtMs: number | undefined;
  #fullyConnectedAtMs: number | undefined;

  constructor(options: HeadlessPeerOptions) {
    this.room = options.room;
    this.username = options.username;
    this.#expectedRemotes = options.expectedRemotes;
    this.#video = options.video ? new SyntheticVideo() : undefined;
    this.#audio = options.audio ? new SyntheticAudio(options.audio) : undefined;
    const tracks = [...(this.#audio ? [this.#audio.track] : []), ...(this.#video?.stream.getVideoTracks() ?? [])];
    this.session = new MeshSession({
      url: options.url,
      room: options.room,
      username: options.username,
      wrtc,
      WebSocket: options.WebSocket ?? WebSocket,
      candidateFilter: isUdpCandidate,
      ...(options.token !== undefined ? { token: options.token } : {}),
      ...(tracks.length > 0 ? { stream: new wrtc.MediaStream(tracks) } : {}),
      ...(options.joinTimeoutMs !== undefined ? { joinTimeoutMs: options.joinTimeoutMs } : {}),
      ...(options.reconnect !== undefined ? { reconnect: options.reconnect } : {}),
      ...(options.rtcConfiguration ? { rtcConfiguration: options.rtcConfiguration } : {}),
      ...(options.peerRebuildDelayMs ? { peerRebuildDelayMs: options.peerRebuildDelayMs } : {}),
      ...(options.uplinkBudgetKbps !== undefined ? { uplinkBudgetKbps: options.uplinkBudgetKbps } : {}),
      audioLevelIntervalMs: options.audioLevelIntervalMs ?? 0,
    });
    this.session.on("peer-state", ({ state }) => {
      if (state === PeerState.connected) {
        this.#checkFullyConnected();
      }
    });
    this.session.on("peer-stream", ({ peer, stream }) => {
      // A rebuilt pair brings a new stream; the old one's tracks have ended.
      this.#stopSinks(peer.id);
      const sinks: RTCVideoSink[] = [];
      for (const track of stream.getVideoTracks()) {
        const sink = new wrtc.nonstandard.RTCVideoSink(track);
        sink.onframe = () => {
          this.#frames.set(peer.id, (this.#frames.get(peer.id) ?? 0) + 1);
        };
        sinks.push(sink);
      }
      this.#sinks.set(peer.id, sinks);
    });
    this.session.on("peer-left", ({ peer }) => this.#stopSinks(peer.id));
    this.session.on("error", ({ code }) => this.countError(code));
  }

  /** This peer's server-assigned id, once joined. */
  get id(): string | undefined {
    return this.session.id;
  }

  /** Milliseconds from `join()` to the moment `expectedRemotes` peers were connected, once reached. */
  get joinToFullyConnectedMs(): number | undefined {
    return this.#fullyConnectedAtMs !== undefined && this.#joinStartedAtMs !== undefined
      ? this.#fullyConnectedAtMs - this.#joinStartedAtMs
      : undefined;
  }

  /** Ids of the remote peers whose connection is currently up. */
  connectedPeerIds(): string[] {
    return [...this.session.peers.values()].filter((peer) => peer.isConnected).map((peer) => peer.id);
  }

  /** Video frames decoded from `peerId` so far. */
  framesFrom(peerId: string): number {
    return this.#frames.get(peerId) ?? 0;
  }

  /** Joins the room; on failure the error's code is counted and the error rethrown. */
  async join(): Promise<JoinInfo> {
    this.#joinStartedAtMs = performance.now();
    try {
      const info = await this.session.join();
      this.#checkFullyConnected();
      return info;
    } catch (error) {
      this.countError(error instanceof MeshError ? error.code : "join_failed");
      this.leave();
      throw error;
    }
  }

  /** Adds one occurrence of `code` to {@link HeadlessPeer.errors}. */
  countError(code: MeshErrorCode | "join_failed" | "ping_failed"): void {
    this.errors.set(code, (this.errors.get(code) ?? 0) + 1);
  }

  /** Leaves the room and stops the synthetic video and every sink. Safe to call twice. */
  leave(): void {
    // Sinks first, while the received tracks are still live.
    for (const peerId of [...this.#sinks.keys()]) {
      this.#stopSinks(peerId);
    }
    this.session.leave();
    // simple-peer closes each RTCPeerConnection in a microtask; end the source track after that,
    // so that libwebrtc never sees a track stop under senders that are still attached.
    const video = this.#video;
    const audio = this.#audio;
    if (video || audio) {
      queueMicrotask(() => {
        video?.stop();
        audio?.stop();
      });
    }
  }

  #checkFullyConnected(): void {
    if (this.#expectedRemotes === undefined || this.#fullyConnectedAtMs !== undefined || !this.session.isJoined) {
      return;
    }
    if (this.connectedPeerIds().length >= this.#expectedRemotes) {
      this.#fullyConnectedAtMs = performance.now();
    }
  }

  #stopSinks(peerId: string): void {
    for (const sink of this.#sinks.get(peerId) ?? []) {
      sink.stop();
    }
    this.#sinks.delete(peerId);
  }
}

/** Percentiles of a set of samples, in milliseconds rounded to 0.1. */
export interface Distribution {
  count: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
}

/** Nearest-rank percentiles of `samples`; `null` when there are none. */
export function distribution(samples: readonly number[]): Distribution | null {
  if (samples.length === 0) {
    return null;
  }
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (fraction: number): number => {
    const value = sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(fraction * sorted.length) - 1))] ?? 0;
    return Math.round(value * 10) / 10;
  };
  return { count: sorted.length, p50: at(0.5), p95: at(0.95), p99: at(0.99), max: at(1) };
}

/** Options of {@link runPeers}. */
export interface PeersRunOptions {
  /** Signaling URL of the server under test. */
  url: string;
  /** Total number of headless peers. */
  peers: number;
  /** Spread the peers over this many fresh rooms (as evenly as possible). Ignored with `room`. */
  rooms?: number;
  /** Put every peer in this room instead (e.g. one a browser is in). */
  room?: string;
  video?: boolean;
  /** Measure data-channel round trips between every pair, in both directions. */
  ping?: boolean;
  /** How long to keep the mesh up once it is complete (pings and frames accumulate meanwhile). */
  durationSeconds?: number;
  /** Bound on joining and reaching a complete mesh; the run ends then either way. */
  timeoutSeconds?: number;
  /** Delay between consecutive joins; 0 joins everyone at once. */
  joinIntervalMs?: number;
  /** Names the fresh rooms (`load-<runTag>-<n>`); random otherwise. {@link planPeers} with the same tag gives the same plan. */
  runTag?: string;
  /** Join tokens for a server in token mode, by peer username (see {@link planPeers}). */
  joinTokens?: Readonly<Record<string, string>>;
  /** Called about four times a second and on every phase change. */
  onProgress?: (progress: PeersProgress) => void;
  /** Ends the run early (the report is still produced). */
  signal?: AbortSignal;
}

/** Phases of a run, in order. */
export const RunPhase = {
  joining: "joining",
  connecting: "connecting",
  holding: "holding",
  leaving: "leaving",
} as const;

/** A value of {@link RunPhase}. */
export type RunPhase = (typeof RunPhase)[keyof typeof RunPhase];

/** A progress snapshot. */
export interface PeersProgress {
  phase: RunPhase;
  elapsedMs: number;
  peers: number;
  joined: number;
  fullyConnected: number;
  pairsConnected: number;
  pairsExpected: number;
}

/** The parameters a run used, defaults filled in. */
export interface PeersParameters {
  peers: number;
  rooms: number;
  room: string | null;
  video: boolean;
  ping: boolean;
  durationSeconds: number;
  timeoutSeconds: number;
  joinIntervalMs: number;
}

/** The JSON report of a run. */
export interface PeersReport {
  server: { url: string };
  parameters: PeersParameters;
  rooms: Array<{ name: string; peers: number; pairsConnected: number; pairsExpected: number }>;
  peersJoined: number;
  peersFullyConnected: number;
  /** Per peer, from calling `join()` to having every other room member connected. */
  joinToFullyConnectedMs: Distribution | null;
  /** Unordered pairs whose connection was up on both sides at the end of the run. */
  pairs: { connected: number; expected: number };
  /** `null` unless `ping` was on. */
  dataChannelRttMs: (Distribution & { failed: number }) | null;
  /** `null` unless `video` was on. Pairs are directed: frames `to` decoded from `from`. */
  video: {
    directedPairs: number;
    directedPairsWithFrames: number;
    framesPerPair: Distribution | null;
    perPair: Array<{ from: string; to: string; frames: number }>;
  } | null;
  errors: Record<string, number>;
  /** CPU time of this process (all peers), and per peer. */
  cpu: { userMs: number; systemMs: number; perPeerMs: number };
  elapsedMs: number;
  /** True when every expected pair connected. */
  ok: boolean;
}

/** Default bound of {@link runPeers} on reaching a complete mesh. */
export const DEFAULT_TIMEOUT_SECONDS = 30;
/** Default time {@link runPeers} holds a complete mesh. */
export const DEFAULT_DURATION_SECONDS = 3;
const PROGRESS_INTERVAL_MS = 250;
const PING_ROUND_INTERVAL_MS = 250;
const PING_TIMEOUT_MS = 2_000;

/** Room sizes for `peers` spread over `rooms`: the first rooms get one extra when it does not divide. */
export function roomSizes(peers: number, rooms: number): number[] {
  const count = Math.max(1, Math.min(rooms, peers));
  return Array.from({ length: count }, (_, index) => Math.floor(peers / count) + (index < peers % count ? 1 : 0));
}

interface RoomPlan {
  name: string;
  members: HeadlessPeer[];
}

/** One room of a run and the usernames of the headless peers that join it, in join order. */
export interface PlannedRoom {
  room: string;
  usernames: string[];
}

/** A random tag for the fresh rooms of one run. */
export function newRunTag(): string {
  return nanoid(6).replace(/[^A-Za-z0-9]/g, "x");
}

/**
 * Who joins which room in a run, room by room: `peers` spread as evenly as possible over `rooms`
 * fresh rooms named `load-<runTag>-<n>`, or all in `room`. Usernames are unique in a run
 * (`r<room>-p<peer>`), so a token minted per username before the run finds its peer.
 */
export function planPeers(options: { peers: number; rooms?: number; room?: string; runTag: string }): PlannedRoom[] {
  const rooms = options.room === undefined ? (options.rooms ?? 1) : 1;
  return roomSizes(options.peers, rooms).map((size, roomIndex) => ({
    room: options.room ?? `load-${options.runTag}-${roomIndex + 1}`,
    usernames: Array.from({ length: size }, (_, index) => `r${roomIndex + 1}-p${index + 1}`),
  }));
}

/**
 * Runs a load test: joins `peers` headless peers into rooms, waits (bounded) for every pair to
 * connect, holds the mesh for `durationSeconds` while pinging and counting frames, leaves, and
 * returns the report. Everything it opened is closed when the promise settles.
 */
export async function runPeers(options: PeersRunOptions): Promise<PeersReport> {
  const parameters: PeersParameters = {
    peers: options.peers,
    rooms: options.room === undefined ? (options.rooms ?? 1) : 1,
    room: options.room ?? null,
    video: options.video ?? false,
    ping: options.ping ?? false,
    durationSeconds: options.durationSeconds ?? DEFAULT_DURATION_SECONDS,
    timeoutSeconds: options.timeoutSeconds ?? DEFAULT_TIMEOUT_SECONDS,
    joinIntervalMs: options.joinIntervalMs ?? 0,
  };
  const startedAtMs = performance.now();
  const cpuAtStart = process.cpuUsage();
  const deadlineMs = startedAtMs + parameters.timeoutSeconds * 1000;
  const runTag = options.runTag ?? newRunTag();
  const plans: RoomPlan[] = planPeers({ ...options, runTag }).map(({ room, usernames }) => {
    const members = usernames.map((username) => {
      const token = options.joinTokens?.[username];
      return new HeadlessPeer({
        url: options.url,
        room,
        username,
        ...(token !== undefined ? { token } : {}),
        video: parameters.video,
        expectedRemotes: usernames.length - 1,
        joinTimeoutMs: Math.min(10_000, parameters.timeoutSeconds * 1000),
      });
    });
    return { name: room, members };
  });
  const everyone = plans.flatMap((plan) => plan.members);
  const rtts: number[] = [];
  let pingFailures = 0;
  let phase: RunPhase = RunPhase.joining;

  const aborted = (): boolean => options.signal?.aborted ?? false;
  const progress = (): PeersProgress => {
    const pairs = countPairs(plans);
    return {
      phase,
      elapsedMs: Math.round(performance.now() - startedAtMs),
      peers: everyone.length,
      joined: everyone.filter((peer) => peer.session.isJoined).length,
      fullyConnected: everyone.filter((peer) => peer.joinToFullyConnectedMs !== undefined).length,
      pairsConnected: pairs.connected,
      pairsExpected: pairs.expected,
    };
  };
  const report = (): void => options.onProgress?.(progress());
  const ticker = setInterval(report, PROGRESS_INTERVAL_MS);

  try {
    report();
    const joins: Array<Promise<unknown>> = [];
    for (const peer of everyone) {
      if (aborted()) {
        break;
      }
      // A failed join is counted in the peer's errors and shows as missing pairs.
      joins.push(peer.join().catch(() => undefined));
      if (parameters.joinIntervalMs > 0) {
        await sleep(parameters.joinIntervalMs);
      }
    }
    await Promise.all(joins);

    phase = RunPhase.connecting;
    report();
    while (!aborted() && performance.now() < deadlineMs) {
      const pairs = countPairs(plans);
      if (pairs.connected === pairs.expected) {
        break;
      }
      await sleep(20);
    }

    phase = RunPhase.holding;
    report();
    const holdUntilMs = performance.now() + parameters.durationSeconds * 1000;
    do {
      if (parameters.ping) {
        // One round: every peer probes every remote it is connected to, so each pair is
        // measured in both directions.
        await Promise.all(everyone.flatMap((peer) => peer.connectedPeerIds().map(async (remoteId) => {
          try {
            rtts.push(await peer.session.ping(remoteId, PING_TIMEOUT_MS));
          } catch {
            pingFailures += 1;
            peer.countError("ping_failed");
          }
        })));
      }
      await sleep(Math.min(PING_ROUND_INTERVAL_MS, Math.max(0, holdUntilMs - performance.now())));
    } while (!aborted() && performance.now() < holdUntilMs);

    phase = RunPhase.leaving;
    report();
    const cpu = process.cpuUsage(cpuAtStart);
    return buildReport({
      url: options.url,
      parameters,
      plans,
      rtts,
      pingFailures,
      cpu: {
        userMs: Math.round(cpu.user / 1000),
        systemMs: Math.round(cpu.system / 1000),
        perPeerMs: Math.round((cpu.user + cpu.system) / 1000 / Math.max(1, everyone.length)),
      },
      elapsedMs: Math.round(performance.now() - startedAtMs),
    });
  } finally {
    clearInterval(ticker);
    for (const peer of everyone) {
      peer.leave();
    }
    await settleWebRtc();
  }
}

/**
 * How long to wait after closing peer connections before the process may exit. @roamhq/wrtc
 * delivers the last close events asynchronously, and a process that exits with them in flight
 * can abort in a native finalizer ("Cannot create a handle without a HandleScope").
 */
export const WRTC_SETTLE_MS = 250;

/** Waits {@link WRTC_SETTLE_MS}; call after leaving, before the process or test file ends. */
export function settleWebRtc(): Promise<void> {
  return sleep(WRTC_SETTLE_MS);
}

function countPairs(plans: readonly RoomPlan[]): { connected: number; expected: number } {
  let connected = 0;
  let expected = 0;
  for (const plan of plans) {
    expected += (plan.members.length * (plan.members.length - 1)) / 2;
    connected += connectedPairsOf(plan.members);
  }
  return { connected, expected };
}

/** Unordered pairs of `members` whose connection is up on both sides. */
function connectedPairsOf(members: readonly HeadlessPeer[]): number {
  const up = new Map(members.map((peer) => [peer.id, new Set(peer.connectedPeerIds())]));
  let count = 0;
  for (const [id, remotes] of up) {
    for (const remote of remotes) {
      if (id !== undefined && id < remote && up.get(remote)?.has(id)) {
        count += 1;
      }
    }
  }
  return count;
}

interface RunOutcome {
  url: string;
  parameters: PeersParameters;
  plans: readonly RoomPlan[];
  rtts: readonly number[];
  pingFailures: number;
  cpu: PeersReport["cpu"];
  elapsedMs: number;
}

function buildReport({ url, parameters, plans, rtts, pingFailures, cpu, elapsedMs }: RunOutcome): PeersReport {
  const everyone = plans.flatMap((plan) => plan.members);
  const errors: Record<string, number> = {};
  for (const peer of everyone) {
    for (const [code, count] of peer.errors) {
      errors[code] = (errors[code] ?? 0) + count;
    }
  }
  const pairs = countPairs(plans);
  const perPair: Array<{ from: string; to: string; frames: number }> = [];
  for (const plan of plans) {
    for (const receiver of plan.members) {
      for (const sender of plan.members) {
        if (receiver !== sender) {
          perPair.push({ from: sender.username, to: receiver.username, frames: sender.id ? receiver.framesFrom(sender.id) : 0 });
        }
      }
    }
  }
  const rtt = distribution(rtts);
  const framesPerPair = distribution(perPair.map((pair) => pair.frames));
  return {
    server: { url },
    parameters,
    rooms: plans.map((plan) => {
      const size = plan.members.length;
      return { name: plan.name, peers: size, pairsConnected: connectedPairsOf(plan.members), pairsExpected: (size * (size - 1)) / 2 };
    }),
    peersJoined: everyone.filter((peer) => peer.id !== undefined).length,
    peersFullyConnected: everyone.filter((peer) => peer.joinToFullyConnectedMs !== undefined).length,
    joinToFullyConnectedMs: distribution(everyone.flatMap((peer) => peer.joinToFullyConnectedMs ?? [])),
    pairs,
    dataChannelRttMs: parameters.ping
      ? { ...(rtt ?? { count: 0, p50: 0, p95: 0, p99: 0, max: 0 }), failed: pingFailures }
      : null,
    video: parameters.video
      ? {
          directedPairs: perPair.length,
          directedPairsWithFrames: perPair.filter((pair) => pair.frames > 0).length,
          framesPerPair,
          perPair,
        }
      : null,
    errors,
    cpu,
    elapsedMs,
    ok: pairs.connected === pairs.expected,
  };
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
