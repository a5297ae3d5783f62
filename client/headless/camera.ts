/**
 * A camera peer: one video source (an IP camera, a stream, a file, a V4L2 device, read by an
 * `ffmpeg` child process) published into a room by a headless, publish-only participant, with the
 * source's sound when it has some.
 *
 * One decode per camera however many people watch: ffmpeg's frames go into one `RTCVideoSource`
 * and its sound into one `RTCAudioSource`, whose tracks are published once (sources `camera` and
 * `microphone`); the room session adds them to every pair, and each pair only encodes them. The participant asks the others to send it nothing (`receiveMedia: false`),
 * so it decodes no media either.
 *
 * The source side is a small supervisor with explicit states ({@link CameraSourceState}):
 * `starting` (ffmpeg spawned, no frame yet) → `live` (frames flow); a source that ends or stalls
 * (no frame for `stallSeconds`) is `offline` and is tried again with backoff, while the camera
 * stays in the room with the same track; nobody else in the room for `idleStopSeconds` stops
 * ffmpeg (`idle`) until someone joins. The room side is a {@link RoomSession} that reconnects by
 * itself, and that the camera replaces, with backoff, when it closes for good.
 *
 * With `login`, the camera also logs in as a **device user** (a {@link PhoneSession} with
 * `device: true`, or a login token with the `device` grant): anyone on `/call` may watch it
 * without being asked (docs/protocol-calls.md, "Watches"). Each watcher gets its own publish-only
 * peer connection with the same track, so watchers and room members all share one decode; its
 * watchers count as audience for the idle stop like room members do. The room is optional then.
 */
import wrtc from "@roamhq/wrtc";
import WebSocket from "ws";
import {
  exponentialBackoff,
  PeerState,
  PhoneSession,
  RoomSession,
  TypedEmitter,
  WebRtcRoomError,
  type ReconnectPolicy,
  type WebSocketConstructor,
} from "../core/index.ts";
import { isCameraStatusMessage, type CameraStatusMessage } from "../core/camera-status.ts";
import { AUDIO_FORMAT, FfmpegProcess, isMissingAudioExit, type FfmpegExit, type FrameFormat, type RtspTransport } from "./ffmpeg-source.ts";
import { isUdpCandidate } from "./peers.ts";

type RTCVideoSource = InstanceType<typeof wrtc.nonstandard.RTCVideoSource>;
type RTCAudioSource = InstanceType<typeof wrtc.nonstandard.RTCAudioSource>;

/** Default picture size sent to the room. */
export const DEFAULT_CAMERA_FORMAT: FrameFormat = { width: 640, height: 360, fps: 15 };
/** Default time with nobody else in the room before ffmpeg is stopped. */
export const DEFAULT_IDLE_STOP_SECONDS = 30;
/** Default time without a frame after which a source counts as stalled (and is restarted). */
export const DEFAULT_STALL_SECONDS = 10;
/**
 * How long a new ffmpeg may take to deliver its first frame (when `stallSeconds` is shorter):
 * opening an RTSP stream means probing it and waiting for a key frame, several seconds on many
 * cameras.
 */
export const FIRST_FRAME_TIMEOUT_SECONDS = 20;
/** Longest wait between two attempts to reach the source, or to get back into the room. */
export const CAMERA_RETRY_MAX_DELAY_MS = 30_000;
/** Upper bound of the first wait before reaching the source again. */
export const CAMERA_RETRY_BASE_DELAY_MS = 1_000;

/**
 * The default retry policy of a camera: exponential backoff with full jitter from 1 s, capped at
 * 30 s, and never giving up (a camera is a device: it waits for its source as long as it runs).
 */
export const DEFAULT_CAMERA_RETRY_POLICY: ReconnectPolicy = exponentialBackoff({
  baseDelayMs: CAMERA_RETRY_BASE_DELAY_MS,
  maxDelayMs: CAMERA_RETRY_MAX_DELAY_MS,
  maxAttempts: Number.POSITIVE_INFINITY,
});

/** The log's words for going idle. */
const IDLE_DETAIL = "nobody else in the room; ffmpeg stopped until someone joins";

/** States of a camera's source; see the module comment. */
export const CameraSourceState = {
  /** ffmpeg is running and no frame has arrived yet. */
  starting: "starting",
  /** Frames flow into the published track. */
  live: "live",
  /** The source ended, failed or stalled; another attempt is scheduled. */
  offline: "offline",
  /** ffmpeg is stopped because nobody else is in the room. */
  idle: "idle",
  /** The camera was closed. */
  closed: "closed",
} as const;

/** A value of {@link CameraSourceState}. */
export type CameraSourceState = (typeof CameraSourceState)[keyof typeof CameraSourceState];

export { isCameraStatusMessage, type CameraStatusMessage } from "../core/camera-status.ts";

/** Events of a {@link Camera}. */
export type CameraEvents = {
  /** The source changed state; `detail` says why, in words, for the log. */
  status: { state: CameraSourceState; detail: string };
  /** An ffmpeg process started (`pid`) or ended. */
  ffmpeg: { pid: number | undefined; running: boolean };
  /** A progress or error line for the log. */
  log: { message: string };
};

/** Options of a {@link Camera}. */
export interface CameraOptions {
  /** Signaling URL of the server, e.g. `ws://127.0.0.1:8080/ws`. */
  url: string;
  /** The room to join as a publish-only participant; none with `login` only. */
  room?: string;
  /** The camera's display name in the room (and in the directory with `login`). */
  name: string;
  /** Logs in with this user id as a device user that anyone may watch (see the module comment). */
  login?: string;
  /** The login token (with the `device` grant) for a server in token mode. */
  loginToken?: string;
  /** What ffmpeg reads: `rtsp://…`, `http://…` (MJPEG…), a file, `/dev/video0`. */
  source: string;
  /** Join token for a server in token mode. */
  token?: string;
  /** Size and rate of the published video; {@link DEFAULT_CAMERA_FORMAT} by default. */
  format?: FrameFormat;
  /** How ffmpeg reaches an RTSP source; `tcp` by default. */
  rtspTransport?: RtspTransport;
  /** Seconds with nobody else in the room before ffmpeg stops; 0 never stops it. Default 30. */
  idleStopSeconds?: number;
  /**
   * Seconds without a frame after which a live source counts as stalled. Default 10. A new ffmpeg
   * gets at least {@link FIRST_FRAME_TIMEOUT_SECONDS} for its first frame.
   */
  stallSeconds?: number;
  /**
   * Seconds a new ffmpeg may take to deliver its first frame before it is stopped and tried
   * again; default {@link FIRST_FRAME_TIMEOUT_SECONDS} (or `stallSeconds` when longer).
   */
  firstFrameSeconds?: number;
  /**
   * Publish the source's sound too (default true). Whether the source has any is found out by
   * the first ffmpeg run (ffmpeg refuses to start when it has none; it runs again without audio,
   * once per camera); false never asks for audio and saves that run on a silent source.
   */
  audio?: boolean;
  /** Delay before source attempt `attempt`, and before getting back into the room. */
  retryPolicy?: ReconnectPolicy;
  /** The ffmpeg executable; `ffmpeg` from `PATH` by default. */
  ffmpegPath?: string;
  /** WebSocket class; `ws` by default. */
  WebSocket?: WebSocketConstructor;
}

/** One ffmpeg run and why it is being stopped, if it is. */
interface SourceRun {
  process: FfmpegProcess;
  /** Fires when no frame came for too long: the first-frame bound, then `stallMs` once live. */
  stallTimer: ReturnType<typeof setTimeout>;
  stallMs: number;
  stopReason: "idle" | "stall" | "close" | undefined;
  /** This run decodes the source's audio too. */
  audio: boolean;
}

/** What the camera knows of its source's sound: not yet asked, some, or none. */
type SourceAudio = "unknown" | "present" | "absent";

/** A camera peer; see the module comment. `start()` once, `close()` at the end. */
export class Camera extends TypedEmitter<CameraEvents> {
  readonly name: string;
  readonly format: FrameFormat;
  readonly #options: CameraOptions;
  readonly #videoSource: RTCVideoSource;
  readonly #track: MediaStreamTrack;
  /** The sound's source and track; undefined with `audio: false`. */
  readonly #audio: { source: RTCAudioSource; track: MediaStreamTrack } | undefined;
  #sourceAudio: SourceAudio;
  readonly #retryPolicy: ReconnectPolicy;
  #session: RoomSession | undefined;
  #phone: PhoneSession | undefined;
  #loginAttempts = 0;
  #loginRetryTimer: ReturnType<typeof setTimeout> | undefined;
  #state: CameraSourceState = CameraSourceState.starting;
  #run: SourceRun | undefined;
  #sourceAttempts = 0;
  #roomAttempts = 0;
  #sourceRetryTimer: ReturnType<typeof setTimeout> | undefined;
  #roomRetryTimer: ReturnType<typeof setTimeout> | undefined;
  #idleTimer: ReturnType<typeof setTimeout> | undefined;
  #framesSent = 0;
  /** Peers that announced themselves as cameras: they do not count as watchers. */
  readonly #cameraPeerIds = new Set<string>();
  #closing = false;
  #closed: Promise<void> | undefined;

  constructor(options: CameraOptions) {
    super();
    this.#options = options;
    this.name = options.name;
    this.format = options.format ?? DEFAULT_CAMERA_FORMAT;
    this.#retryPolicy = options.retryPolicy ?? DEFAULT_CAMERA_RETRY_POLICY;
    this.#videoSource = new wrtc.nonstandard.RTCVideoSource();
    this.#track = this.#videoSource.createTrack();
    if (options.audio === false) {
      this.#audio = undefined;
      this.#sourceAudio = "absent";
    } else {
      const source = new wrtc.nonstandard.RTCAudioSource();
      this.#audio = { source, track: source.createTrack() };
      this.#sourceAudio = "unknown";
    }
  }

  /** The source's current state. */
  get state(): CameraSourceState {
    return this.#state;
  }

  /** True once the source delivered sound (its audio is published); false while unknown or without. */
  get hasAudio(): boolean {
    return this.#sourceAudio === "present";
  }

  /** Frames handed to the published track so far (one decode, whatever the number of watchers). */
  get framesSent(): number {
    return this.#framesSent;
  }

  /** The pid of the running ffmpeg, if one runs. */
  get ffmpegPid(): number | undefined {
    return this.#run?.process.pid;
  }

  /** The current room session (replaced when one closes for good). */
  get session(): RoomSession | undefined {
    return this.#session;
  }

  /** The current login as a device user, with `login` (replaced when one closes for good). */
  get phone(): PhoneSession | undefined {
    return this.#phone;
  }

  /** Joins the room, logs in (with `login`) and starts the source. Resolves once the first attempts settled. */
  async start(): Promise<void> {
    this.#startSource();
    await Promise.all([this.#options.room !== undefined ? this.#joinRoom() : undefined, this.#options.login !== undefined ? this.#logIn() : undefined]);
  }

  /**
   * Leaves the room and stops ffmpeg (SIGTERM, then SIGKILL after a bound); resolves once ffmpeg
   * has exited. Safe to call twice.
   */
  close(): Promise<void> {
    this.#closed ??= this.#close();
    return this.#closed;
  }

  async #close(): Promise<void> {
    this.#closing = true;
    clearTimeout(this.#sourceRetryTimer);
    clearTimeout(this.#roomRetryTimer);
    clearTimeout(this.#loginRetryTimer);
    clearTimeout(this.#idleTimer);
    const run = this.#run;
    if (run) {
      run.stopReason = "close";
      await run.process.stop();
    }
    this.#session?.leave();
    this.#phone?.close();
    // The session closes its connections in a microtask; end the track after that, so that
    // libwebrtc never sees a track stop under senders that are still attached.
    await Promise.resolve();
    this.#track.stop();
    this.#audio?.track.stop();
    this.#setState(CameraSourceState.closed, "left the room, ffmpeg stopped");
    this.removeAllListeners();
  }

  // ---- the room ----

  /** Opens a new room session with the track published, and joins. */
  async #joinRoom(): Promise<void> {
    const options = this.#options;
    const session = new RoomSession({
      url: options.url,
      room: options.room ?? "",
      username: options.name,
      ...(options.token !== undefined ? { token: options.token } : {}),
      wrtc,
      WebSocket: options.WebSocket ?? WebSocket,
      candidateFilter: isUdpCandidate,
      receiveMedia: false,
      // A device keeps trying: the session's own policy would give up after about 90 s.
      reconnect: this.#retryPolicy,
    });
    this.#session = session;
    session.publications.publish("camera", this.#track);
    if (this.#audio) {
      session.publications.publish("microphone", this.#audio.track);
    }
    session.on("peer-joined", ({ peer }) => {
      this.#log(`${peer.username} joined (${session.peers.size} others in the room)`);
      this.#onAudienceChange();
    });
    session.on("peer-left", ({ peer, reason }) => {
      this.#cameraPeerIds.delete(peer.id);
      if (reason === "left") {
        this.#log(`${peer.username} left (${session.peers.size} others in the room)`);
      }
      this.#onAudienceChange();
    });
    session.on("peer-data", ({ peer, data }) => {
      // Another camera watches nobody: it must not keep this one's ffmpeg running.
      if (isCameraStatusMessage(data) && !this.#cameraPeerIds.has(peer.id)) {
        this.#cameraPeerIds.add(peer.id);
        this.#onAudienceChange();
      }
    });
    session.on("peer-state", ({ peer, state }) => {
      if (state === PeerState.connected) {
        session.send(peer.id, this.#statusMessage());
      }
    });
    session.on("error", ({ code, message }) => this.#log(`room error ${code}: ${message}`));
    session.on("reconnecting", ({ attempt, delayMs }) => this.#log(`signaling lost; reconnecting (attempt ${attempt}, in ${formatSeconds(delayMs)})`));
    session.on("reconnected", ({ resumed }) => this.#log(resumed ? "signaling back, session resumed" : "signaling back, joined the room again"));
    session.on("state", ({ state }) => {
      if (state === "closed" && !this.#closing) {
        this.#scheduleRejoin();
      }
    });
    try {
      const info = await session.join();
      this.#roomAttempts = 0;
      this.#log(`joined room "${info.room}" as ${info.id} (${session.peers.size} others present)`);
      session.setMediaState(this.#mediaState());
      this.#onAudienceChange();
    } catch (error) {
      const code = error instanceof WebRtcRoomError ? `${error.code}: ` : "";
      this.#log(`cannot join room "${options.room}": ${code}${error instanceof Error ? error.message : String(error)}`);
    }
  }

  /** The room session closed for good (refused, unreachable, given up): try again with backoff. */
  #scheduleRejoin(): void {
    this.#roomAttempts += 1;
    const delayMs = this.#retryPolicy(this.#roomAttempts) ?? CAMERA_RETRY_MAX_DELAY_MS;
    this.#log(`out of the room; joining again in ${formatSeconds(delayMs)}`);
    this.#onAudienceChange();
    this.#roomRetryTimer = setTimeout(() => {
      if (!this.#closing) {
        void this.#joinRoom();
      }
    }, delayMs);
  }

  // ---- the device login ----

  /** Logs in as the device user `login`, whose watchers get the camera's track. */
  async #logIn(): Promise<void> {
    const options = this.#options;
    const userID = options.login ?? "";
    const phone = new PhoneSession({
      url: options.url,
      userID,
      username: options.name,
      device: true,
      ...(options.loginToken !== undefined ? { loginToken: options.loginToken } : {}),
      wrtc,
      WebSocket: options.WebSocket ?? WebSocket,
      candidateFilter: isUdpCandidate,
      reconnect: this.#retryPolicy,
      // Every watcher gets the same tracks, so all of them share the one decode.
      watchStream: new wrtc.MediaStream([this.#track, ...(this.#audio ? [this.#audio.track] : [])]),
    });
    this.#phone = phone;
    phone.on("watchers", ({ watchers }) => {
      this.#log(`watched by ${watchers.length === 0 ? "nobody" : watchers.map((watcher) => watcher.username).join(", ")}`);
      this.#onAudienceChange();
    });
    phone.on("error", ({ code, message }) => this.#log(`login error ${code}: ${message}`));
    phone.on("close", () => {
      if (!this.#closing && this.#phone === phone) {
        this.#scheduleLogin();
      }
    });
    try {
      await phone.connect();
      this.#loginAttempts = 0;
      this.#log(`logged in as device user "${phone.login?.userID ?? userID}"`);
      this.#announceAvailability();
      this.#onAudienceChange();
    } catch (error) {
      const code = error instanceof WebRtcRoomError ? `${error.code}: ` : "";
      this.#log(`cannot log in as "${userID}": ${code}${error instanceof Error ? error.message : String(error)}`);
    }
  }

  /** The login closed for good (refused, unreachable, replaced): log in again with backoff. */
  #scheduleLogin(): void {
    this.#loginAttempts += 1;
    const delayMs = this.#retryPolicy(this.#loginAttempts) ?? CAMERA_RETRY_MAX_DELAY_MS;
    this.#log(`logged out; logging in again in ${formatSeconds(delayMs)}`);
    this.#onAudienceChange();
    this.#loginRetryTimer = setTimeout(() => {
      if (!this.#closing) {
        void this.#logIn();
      }
    }, delayMs);
  }

  /**
   * Someone joined, left, or started or stopped watching: start the source for a watcher, or
   * count down to stopping it. Every other room participant is a watcher except other cameras,
   * and so is everyone watching the device login.
   */
  #onAudienceChange(): void {
    if (this.#closing) {
      return;
    }
    const session = this.#session;
    const roomWatchers = session?.isJoined ? [...session.peers.keys()].filter((id) => !this.#cameraPeerIds.has(id)).length : 0;
    const phone = this.#phone;
    const watchers = roomWatchers + (phone?.isReady ? phone.watchers.length : 0);
    const idleStopSeconds = this.#options.idleStopSeconds ?? DEFAULT_IDLE_STOP_SECONDS;
    if (watchers > 0 || idleStopSeconds === 0) {
      clearTimeout(this.#idleTimer);
      this.#idleTimer = undefined;
      if (this.#state === CameraSourceState.idle) {
        this.#startSource();
      }
      return;
    }
    if (this.#idleTimer === undefined && this.#state !== CameraSourceState.idle) {
      this.#idleTimer = setTimeout(() => {
        this.#idleTimer = undefined;
        this.#goIdle();
      }, idleStopSeconds * 1000);
    }
  }

  /** Nobody came for `idleStopSeconds`: stop ffmpeg (or the pending retry) until someone joins. */
  #goIdle(): void {
    clearTimeout(this.#sourceRetryTimer);
    this.#sourceRetryTimer = undefined;
    const run = this.#run;
    if (run) {
      run.stopReason = "idle";
      void run.process.stop();
      // The state follows when the process has exited (#onSourceExit).
      return;
    }
    this.#setState(CameraSourceState.idle, IDLE_DETAIL);
  }

  // ---- the source ----

  /** Spawns ffmpeg for the source (unless one runs). */
  #startSource(): void {
    if (this.#closing || this.#run) {
      return;
    }
    clearTimeout(this.#sourceRetryTimer);
    this.#sourceRetryTimer = undefined;
    const options = this.#options;
    const stallMs = (options.stallSeconds ?? DEFAULT_STALL_SECONDS) * 1000;
    const firstFrameMs = Math.max(stallMs, (options.firstFrameSeconds ?? FIRST_FRAME_TIMEOUT_SECONDS) * 1000);
    const audio = this.#sourceAudio !== "absent";
    const ffmpeg = new FfmpegProcess({
      source: options.source,
      format: this.format,
      rtspTransport: options.rtspTransport ?? "tcp",
      audio,
      ...(options.ffmpegPath !== undefined ? { ffmpegPath: options.ffmpegPath } : {}),
      onFrame: (frame) => this.#onFrame(run, frame),
      onAudio: (samples) => this.#onAudio(run, samples),
    });
    const run: SourceRun = {
      process: ffmpeg,
      stallTimer: setTimeout(() => this.#onStall(run, firstFrameMs), firstFrameMs),
      stallMs,
      stopReason: undefined,
      audio,
    };
    this.#run = run;
    void ffmpeg.exited.then((exit) => this.#onSourceExit(run, exit));
    this.emit("ffmpeg", { pid: ffmpeg.pid, running: true });
    this.#setState(CameraSourceState.starting, `ffmpeg started (pid ${ffmpeg.pid ?? "none"}) for ${redactUrls(options.source)}`);
  }

  #onFrame(run: SourceRun, frame: Uint8Array): void {
    if (run !== this.#run || run.stopReason !== undefined) {
      return;
    }
    if (this.#state === CameraSourceState.live) {
      run.stallTimer.refresh();
    } else {
      clearTimeout(run.stallTimer);
      run.stallTimer = setTimeout(() => this.#onStall(run, run.stallMs), run.stallMs);
    }
    const { width, height } = this.format;
    this.#videoSource.onFrame({ width, height, data: frame });
    this.#framesSent += 1;
    if (this.#state !== CameraSourceState.live) {
      this.#sourceAttempts = 0;
      this.#setState(CameraSourceState.live, `frames flowing (${width}x${height} at ${this.format.fps} fps)`);
    }
  }

  /** A 10 ms block of the source's sound; the first one makes the camera's audio "on". */
  #onAudio(run: SourceRun, samples: Int16Array): void {
    if (run !== this.#run || run.stopReason !== undefined || !this.#audio) {
      return;
    }
    const { sampleRate, bitsPerSample, channelCount, samplesPerBlock } = AUDIO_FORMAT;
    this.#audio.source.onData({ samples, sampleRate, bitsPerSample, channelCount, numberOfFrames: samplesPerBlock });
    if (this.#sourceAudio !== "present") {
      this.#sourceAudio = "present";
      this.#log("the source has sound: publishing it");
      this.#announceMediaState();
    }
  }

  #onStall(run: SourceRun, stallMs: number): void {
    if (run !== this.#run || run.stopReason !== undefined) {
      return;
    }
    this.#log(`no frame for ${formatSeconds(stallMs)}; restarting ffmpeg`);
    run.stopReason = "stall";
    void run.process.stop();
  }

  #onSourceExit(run: SourceRun, exit: FfmpegExit): void {
    clearTimeout(run.stallTimer);
    if (this.#run === run) {
      this.#run = undefined;
    }
    this.emit("ffmpeg", { pid: run.process.pid, running: false });
    switch (run.stopReason) {
      case "close":
        return;
      case "idle":
        this.#setState(CameraSourceState.idle, IDLE_DETAIL);
        // Someone may have joined while ffmpeg was exiting.
        this.#onAudienceChange();
        return;
      case "stall":
      case undefined: {
        if (this.#closing) {
          return;
        }
        if (run.audio && run.stopReason === undefined && isMissingAudioExit(exit)) {
          // Not a failure: the source is silent. Once per camera, at once, without backoff.
          this.#sourceAudio = "absent";
          this.#log("the source has no sound: video only");
          this.#startSource();
          return;
        }
        this.#sourceAttempts += 1;
        const delayMs = this.#retryPolicy(this.#sourceAttempts) ?? CAMERA_RETRY_MAX_DELAY_MS;
        const why = run.stopReason === "stall" ? "stalled" : describeExit(exit);
        this.#setState(CameraSourceState.offline, `camera offline: ${why}; retrying in ${formatSeconds(delayMs)} (attempt ${this.#sourceAttempts})`);
        this.#sourceRetryTimer = setTimeout(() => {
          this.#sourceRetryTimer = undefined;
          this.#startSource();
        }, delayMs);
        return;
      }
    }
  }

  // ---- status ----

  #statusMessage(): CameraStatusMessage {
    const state = this.#state === CameraSourceState.closed ? CameraSourceState.offline : this.#state;
    return { type: "camera_status", camera: this.name, state };
  }

  /** What the room's tiles show: the video and the sound only while frames flow. */
  #mediaState(): { audio: boolean; video: boolean } {
    const live = this.#state === CameraSourceState.live;
    return { audio: live && this.#sourceAudio === "present", video: live };
  }

  #announceMediaState(): void {
    const session = this.#session;
    if (session?.isJoined) {
      session.setMediaState(this.#mediaState());
    }
  }

  #setState(state: CameraSourceState, detail: string): void {
    const changed = this.#state !== state;
    this.#state = state;
    if (changed && state !== CameraSourceState.closed) {
      const session = this.#session;
      if (session?.isJoined) {
        session.setMediaState(this.#mediaState());
        session.broadcast(this.#statusMessage());
      }
      this.#announceAvailability();
    }
    this.emit("status", { state, detail });
  }

  /**
   * The device login's presence status: `unavailable` while the source is `offline`, `online`
   * once frames flow again or ffmpeg is idle on purpose; a retry (`starting`) changes nothing, so
   * that a source that keeps failing does not flap.
   */
  #announceAvailability(): void {
    const phone = this.#phone;
    if (!phone?.isReady) {
      return;
    }
    const status = this.#state === CameraSourceState.offline ? "unavailable" : this.#state === CameraSourceState.starting ? undefined : "online";
    if (status !== undefined && phone.self?.status !== status) {
      phone.setStatus(status);
    }
  }

  #log(message: string): void {
    this.emit("log", { message });
  }
}

/** ffmpeg's exit in words: its last stderr line, or its code or signal. */
function describeExit(exit: FfmpegExit): string {
  const how = exit.signal ? `killed by ${exit.signal}` : `exited with code ${exit.code}`;
  const lastLine = exit.stderrTail.split("\n").at(-1)?.trim();
  return lastLine ? `ffmpeg ${how}: ${redactUrls(lastLine)}` : `ffmpeg ${how}`;
}

/** `text` with the password of every URL in it (`rtsp://user:secret@host`) replaced by `***`, for the log. */
export function redactUrls(text: string): string {
  return text.replace(/([a-z][a-z0-9+.-]*:\/\/[^/@:\s]*):[^/@\s]*@/gi, "$1:***@");
}

function formatSeconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}
