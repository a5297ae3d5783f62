/**
 * The watches of a phone session (see `shared/protocol/watch.ts`): this user watching others'
 * cameras, and others watching this user's. A {@link PhoneSession} owns one {@link PhoneWatches}
 * and forwards its events; the wire stays the {@link ServerConnection}'s business.
 *
 * Each started watch has its own {@link PeerLink}, next to a call's and independent of it (a call
 * does not block a watch, a watch does not block a call). The **watched** side's link is the
 * offering side and publish-only (`receiveMedia: false`: `sendonly` where it has a track), sending
 * the stream its `watchStream` provider gives (the same camera track a call may send too); the
 * **watcher**'s link answers with no track of its own, so its transceivers are `recvonly` and it
 * sends no media at all. Descriptions and candidates travel in `watchDescription` /
 * `watchCandidate`, keyed by `watchId`.
 *
 * A signaling blip changes nothing here (the media is peer to peer; what is sent meanwhile is
 * queued by the connection); a lost login ends every watch ({@link WatchEndReason.sessionLost}).
 */
import { assertNever, type ErrorCode, type IceServer, type WatchServerMessage, type Watcher } from "../../shared/protocol/index.ts";
import type { ListenerErrorHandler } from "./emitter.ts";
import { PeerLink, PeerState, type CandidateFilter, type PeerSignal, type RtcConfigurationExtras, type WebRtcImplementation } from "./peer-link.ts";
import { LocalPublications } from "./publications.ts";
import type { ServerConnection } from "./server-connection.ts";

/** Which side of a watch this user is. */
export type WatchRole = "watcher" | "watched";

/** Lifecycle of one watch on this side. Only moves forward. */
export const WatchState = {
  /** Watcher: `watch` sent; the watched user is being asked (or the server is deciding). */
  requesting: "requesting",
  /** Started on the server; the peer connection is being set up. */
  connecting: "connecting",
  /** The peer connection is up. */
  active: "active",
  /** Over; see {@link PhoneWatch.end}. */
  ended: "ended",
} as const;

/** A value of {@link WatchState}. */
export type WatchState = (typeof WatchState)[keyof typeof WatchState];

/** Why a watch ended, on this side. */
export const WatchEndReason = {
  /** Either side sent `stopWatching` (`byLocal` says which). */
  stopped: "stopped",
  /** The watched user said no (or turned the request down with `stopWatching`). */
  denied: "denied",
  /** The watched user is not online, or went away while asked. */
  offline: "offline",
  /** The watched user did not answer within the server's ring timeout. */
  timeout: "timeout",
  /** The other side's signaling connection closed (or stayed away past its grace window). */
  disconnected: "disconnected",
  /** A user id was taken over by a newer login: the other side's, or this one's. */
  replaced: "replaced",
  /** The peer connection failed, or the watched side had no stream to send. */
  mediaFailed: "media_failed",
  /** The server refused the `watch` (`code`: `too_many_watchers`, `self_target`, `rate_limited`…). */
  refused: "refused",
  /** This side's login was lost (signaling away past the grace window); the session logged in again. */
  sessionLost: "session_lost",
} as const;

/** A value of {@link WatchEndReason}. */
export type WatchEndReason = (typeof WatchEndReason)[keyof typeof WatchEndReason];

/** How a watch ended. */
export interface WatchEnd {
  reason: WatchEndReason;
  /** True when this side caused it. */
  byLocal: boolean;
  /** The server's code, with `refused`. */
  code?: ErrorCode;
  message?: string;
}

/** The other side of a watch. */
export interface WatchParty {
  userID: string;
  username: string;
  avatar: string | undefined;
}

/** What the application may read about a watch; listeners get the same object. */
export interface PhoneWatch {
  readonly role: WatchRole;
  readonly remote: WatchParty;
  /** The server's id; known once the server answered the `watch`. */
  readonly watchId: string | undefined;
  readonly state: WatchState;
  readonly ended: boolean;
  readonly end: WatchEnd | undefined;
  /** Watcher: the watched user's camera stream, once it arrived. */
  readonly remoteStream: MediaStream | undefined;
  /** Watched: the stream sent to this watcher. */
  readonly localStream: MediaStream | undefined;
  /** The watch's `RTCPeerConnection` (for `getStats()`), while it has one. */
  readonly peerConnection: RTCPeerConnection | undefined;
  /** Ends the watch (or withdraws the request); safe to call twice. */
  stop(): void;
}

/** Someone asks to watch this user: show Allow / Deny. */
export interface WatchRequest {
  readonly watchId: string;
  readonly from: WatchParty;
  /** Lets the watch start (the session sends `watchAnswer {accept: true}`). */
  accept(): void;
  /** Turns it down (`watchAnswer {accept: false}`). */
  deny(): void;
}

/** Events of the watches, forwarded by the phone session. */
export type WatchEvents = {
  /** Someone asks to watch this user's camera. */
  "watch-request": WatchRequest;
  /** A request this user was asked ended without an answer (withdrawn, timed out, the asker left). */
  "watch-request-ended": { watchId: string; reason: "stopped" | "timeout" | "disconnected" | "replaced" };
  /** A watch started (either role); the peer connection is being set up. */
  "watch-started": PhoneWatch;
  /** Watcher: the watched user's camera stream arrived. */
  "watch-stream": { watch: PhoneWatch; stream: MediaStream };
  /** A watch (or this user's request) is over. */
  "watch-ended": { watch: PhoneWatch; end: WatchEnd };
  /** Who watches this user now (after every change). */
  watchers: { watchers: readonly Watcher[] };
};

/** What {@link PhoneWatches} works with. */
export interface PhoneWatchesOptions {
  connection: ServerConnection;
  /** The ICE servers for a new watch's connection. */
  iceServers(): IceServer[];
  /** The stream to send to a new watcher; none ends that watch (`media_failed`). */
  watchStream?: () => MediaStream | undefined | Promise<MediaStream | undefined>;
  /** The directory entry of `userID`, to name a watched user. */
  userOf(userID: string): { username: string; avatar?: string } | undefined;
  emit<Name extends keyof WatchEvents>(name: Name, payload: WatchEvents[Name]): void;
  /** A peer error that ends nothing by itself. */
  peerError(message: string): void;
  /** How long a failed peer connection waits for the server's `watchEnded` before ending the watch `media_failed`. */
  peerLossGraceMs: number;
  wrtc?: WebRtcImplementation;
  candidateFilter?: CandidateFilter;
  rtcConfiguration?: RtcConfigurationExtras;
  iceDisconnectedTimeoutMs?: number;
  onListenerError?: ListenerErrorHandler;
}

/** The session's record of a watch. */
class WatchRecord implements PhoneWatch {
  readonly role: WatchRole;
  readonly remote: WatchParty;
  watchId: string | undefined;
  state: WatchState;
  end: WatchEnd | undefined;
  remoteStream: MediaStream | undefined;
  localStream: MediaStream | undefined;
  link: PeerLink | undefined;
  unsubscribeLink: Array<() => void> = [];
  lossTimer: ReturnType<typeof setTimeout> | undefined;
  /** Watcher: `stop()` came before the server named the watch; sent once it does. */
  stopWanted = false;
  readonly #stop: (watch: WatchRecord) => void;

  constructor(role: WatchRole, remote: WatchParty, state: WatchState, stop: (watch: WatchRecord) => void, watchId?: string) {
    this.role = role;
    this.remote = remote;
    this.state = state;
    this.watchId = watchId;
    this.#stop = stop;
  }

  get ended(): boolean {
    return this.state === WatchState.ended;
  }

  get peerConnection(): RTCPeerConnection | undefined {
    return this.link?.peerConnection;
  }

  stop(): void {
    this.#stop(this);
  }
}

/** Every watch of one login, both roles. */
export class PhoneWatches {
  readonly #options: PhoneWatchesOptions;
  /** Watcher records the server has not answered yet, in `watch` order (one answer each). */
  readonly #awaiting: WatchRecord[] = [];
  /** watch id → started or requested watch. */
  readonly #byId = new Map<string, WatchRecord>();
  /** Requests this user is asked, by watch id. */
  readonly #requests = new Map<string, WatchRequest>();
  #watchers: readonly Watcher[] = [];

  constructor(options: PhoneWatchesOptions) {
    this.#options = options;
  }

  /** Every watch in progress, both roles, requests this user made included. */
  get watches(): readonly PhoneWatch[] {
    return [...this.#awaiting, ...this.#byId.values()];
  }

  /** Who watches this user now. */
  get watchers(): readonly Watcher[] {
    return this.#watchers;
  }

  /** Requests waiting for this user's answer. */
  get requests(): readonly WatchRequest[] {
    return [...this.#requests.values()];
  }

  /** Asks to watch `userID`; follow the returned watch with `watch-started`, `watch-stream`, `watch-ended`. */
  watch(userID: string): PhoneWatch {
    const entry = this.#options.userOf(userID);
    const watch = new WatchRecord("watcher", { userID, username: entry?.username ?? userID, avatar: entry?.avatar }, WatchState.requesting, (record) => this.#stopWatch(record));
    this.#awaiting.push(watch);
    this.#options.connection.watch(userID);
    return watch;
  }

  /** Ends the watch `watchId` (either role) or withdraws this user's request; false when there is none. */
  stop(watchId: string): boolean {
    const watch = this.#byId.get(watchId);
    if (!watch) {
      return false;
    }
    this.#stopWatch(watch);
    return true;
  }

  /** New ICE servers for the watches in progress. */
  setIceServers(iceServers: IceServer[]): void {
    for (const watch of this.#byId.values()) {
      watch.link?.setIceServers(iceServers);
    }
  }

  /** Stops every watch (telling the server) and forgets the requests: the session closes. */
  stopAll(): void {
    for (const watch of [...this.#byId.values()]) {
      this.#stopWatch(watch);
    }
    this.#requests.clear();
  }

  /** Ends every watch here without telling the server, which already ended them (`reason`). */
  endAll(reason: WatchEndReason): void {
    for (const watch of [...this.#awaiting, ...this.#byId.values()]) {
      this.#end(watch, { reason, byLocal: true });
    }
    this.#requests.clear();
    this.#setWatchers([]);
  }

  /** A watch message from the server. */
  onMessage(message: WatchServerMessage): void {
    switch (message.type) {
      case "watchRequested": {
        const watch = this.#answered(message.userID);
        if (watch) {
          this.#named(watch, message.watchId);
        }
        return;
      }
      case "watchRequest":
        this.#onRequest(message.watchId, { userID: message.from.userID, username: message.from.username, avatar: message.from.avatar });
        return;
      case "watchStarted":
        if (message.role === "watcher") {
          const watch = this.#byId.get(message.watchId) ?? this.#answered(message.userID);
          if (watch && !watch.ended) {
            this.#named(watch, message.watchId);
            if (!watch.ended) {
              this.#startWatcher(watch);
            }
          }
        } else {
          void this.#startWatched(message.watchId, message.userID);
        }
        return;
      case "watchRefused": {
        const watch = this.#byId.get(message.watchId) ?? this.#answered(message.userID);
        if (watch) {
          this.#end(watch, { reason: message.reason, byLocal: false });
        }
        return;
      }
      case "watchEnded": {
        if (this.#requests.delete(message.watchId)) {
          this.#options.emit("watch-request-ended", { watchId: message.watchId, reason: message.reason });
          return;
        }
        const watch = this.#byId.get(message.watchId);
        if (watch) {
          const byLocal = message.reason === "stopped" && message.by !== watch.remote.userID;
          this.#end(watch, { reason: message.reason, byLocal });
        }
        return;
      }
      case "watchers":
        this.#setWatchers(message.watchers);
        return;
      case "watchAllowed":
        // The answer to `allowWatching`, taken by its request; a late one changes nothing.
        return;
      case "watchDescription":
        this.#byId.get(message.watchId)?.link?.signal({ kind: message.sdp.type, sdp: message.sdp.sdp });
        return;
      case "watchCandidate":
        this.#byId.get(message.watchId)?.link?.signal({ kind: "candidate", candidate: message.candidate });
        return;
      default:
        assertNever(message);
    }
  }

  /**
   * An `error` refusing a watch message. A refused `watch` ends the oldest request waiting for its
   * answer (each `watch` gets exactly one); the rest crossed the end of their watch: nothing to do.
   * Returns false when the error is not about watches.
   */
  onError(refType: string, code: ErrorCode, message: string): boolean {
    if (refType === "watch") {
      const watch = this.#awaiting.shift();
      if (watch) {
        this.#end(watch, { reason: WatchEndReason.refused, byLocal: false, code, message });
      }
      return true;
    }
    return refType === "watchAnswer" || refType === "stopWatching" || refType === "watchDescription" || refType === "watchCandidate" || refType === "allowWatching";
  }

  /** Takes the watcher record for `userID` out of the ones waiting for an answer. */
  #answered(userID: string): WatchRecord | undefined {
    const index = this.#awaiting.findIndex((watch) => watch.remote.userID === userID);
    return index < 0 ? undefined : this.#awaiting.splice(index, 1)[0];
  }

  /** The server named `watch`: a stop asked before goes out now. */
  #named(watch: WatchRecord, watchId: string): void {
    watch.watchId = watchId;
    this.#byId.set(watchId, watch);
    if (watch.stopWanted) {
      this.#stopWatch(watch);
    }
  }

  #onRequest(watchId: string, from: WatchParty): void {
    const { connection } = this.#options;
    const answer = (accept: boolean) => {
      if (this.#requests.delete(watchId)) {
        connection.answerWatch(watchId, accept);
      }
    };
    const request: WatchRequest = { watchId, from, accept: () => answer(true), deny: () => answer(false) };
    this.#requests.set(watchId, request);
    this.#options.emit("watch-request", request);
  }

  /** The watcher's side: a receive-only link that answers the watched side's offer. */
  #startWatcher(watch: WatchRecord): void {
    watch.state = WatchState.connecting;
    this.#createLink(watch, false, undefined);
    this.#options.emit("watch-started", watch);
  }

  /** The watched side: a publish-only link offering the stream of `watchStream`. */
  async #startWatched(watchId: string, watcherID: string): Promise<void> {
    this.#requests.delete(watchId);
    const entry = this.#options.userOf(watcherID);
    const watch = new WatchRecord("watched", { userID: watcherID, username: entry?.username ?? watcherID, avatar: entry?.avatar }, WatchState.connecting, (record) => this.#stopWatch(record), watchId);
    this.#byId.set(watchId, watch);
    let stream: MediaStream | undefined;
    try {
      stream = await this.#options.watchStream?.();
    } catch (error) {
      this.#options.peerError(`the watch stream failed: ${error instanceof Error ? error.message : String(error)}`);
    }
    if (watch.ended) {
      return;
    }
    if (!stream) {
      this.#options.connection.stopWatching(watchId);
      this.#end(watch, { reason: WatchEndReason.mediaFailed, byLocal: true, message: "no stream to send to the watcher" });
      return;
    }
    watch.localStream = stream;
    this.#createLink(watch, true, stream);
    this.#options.emit("watch-started", watch);
  }

  #createLink(watch: WatchRecord, initiator: boolean, stream: MediaStream | undefined): void {
    const options = this.#options;
    const publications = stream
      ? new LocalPublications({ createStream: () => new (options.wrtc?.MediaStream ?? globalThis.MediaStream)(), stream })
      : undefined;
    const link = new PeerLink({
      id: watch.remote.userID,
      username: watch.remote.username,
      initiator,
      iceServers: options.iceServers(),
      ...(publications ? { publications } : {}),
      // The watched side sends and receives nothing; the watcher's answer is recvonly by itself.
      ...(initiator ? { receiveMedia: false } : {}),
      ...(options.wrtc ? { wrtc: options.wrtc } : {}),
      ...(options.candidateFilter ? { candidateFilter: options.candidateFilter } : {}),
      ...(options.rtcConfiguration ? { rtcConfiguration: options.rtcConfiguration } : {}),
      ...(options.iceDisconnectedTimeoutMs !== undefined ? { disconnectedTimeoutMs: options.iceDisconnectedTimeoutMs } : {}),
      ...(options.onListenerError ? { onListenerError: options.onListenerError } : {}),
    });
    watch.link = link;
    watch.unsubscribeLink = [
      ...(publications ? [publications.attach(link)] : []),
      link.on("signal", (signal) => this.#onLinkSignal(watch, signal)),
      link.on("state", ({ state }) => {
        if (state === PeerState.connected && watch.state === WatchState.connecting) {
          watch.state = WatchState.active;
        } else if (state === PeerState.failed) {
          this.#onPeerLost(watch);
        }
      }),
      link.on("stream", (remote) => {
        watch.remoteStream = remote;
        this.#options.emit("watch-stream", { watch, stream: remote });
      }),
      link.on("error", ({ code, message }) => this.#options.peerError(`${code}: ${message}`)),
    ];
  }

  /**
   * The peer failed or closed: when the other side stopped, its connection may close before the
   * server's `watchEnded` arrives, so the server gets the same grace as for calls to say so.
   */
  #onPeerLost(watch: WatchRecord): void {
    if (watch.ended || watch.lossTimer !== undefined) {
      return;
    }
    watch.lossTimer = setTimeout(() => {
      watch.lossTimer = undefined;
      if (!watch.ended) {
        this.#options.connection.stopWatching(watch.watchId ?? "");
        this.#end(watch, { reason: WatchEndReason.mediaFailed, byLocal: true, message: "the watch's peer connection failed" });
      }
    }, this.#options.peerLossGraceMs);
  }

  #onLinkSignal(watch: WatchRecord, signal: PeerSignal): void {
    const watchId = watch.watchId;
    if (watchId === undefined || watch.ended) {
      return;
    }
    if (signal.kind === "candidate") {
      this.#options.connection.sendWatchCandidate(watchId, signal.candidate);
    } else {
      this.#options.connection.sendWatchDescription(watchId, { type: signal.kind, sdp: signal.sdp });
    }
  }

  /** This user stops `watch`: the server is told (once it named the watch), and it ends here. */
  #stopWatch(watch: WatchRecord): void {
    if (watch.ended) {
      return;
    }
    if (watch.watchId === undefined) {
      watch.stopWanted = true;
      return;
    }
    this.#options.connection.stopWatching(watch.watchId);
    this.#end(watch, { reason: WatchEndReason.stopped, byLocal: true });
  }

  #end(watch: WatchRecord, end: WatchEnd): void {
    if (watch.ended) {
      return;
    }
    clearTimeout(watch.lossTimer);
    watch.lossTimer = undefined;
    for (const unsubscribe of watch.unsubscribeLink.splice(0)) {
      unsubscribe();
    }
    watch.link?.destroy();
    watch.link = undefined;
    watch.end = end;
    watch.state = WatchState.ended;
    const waiting = this.#awaiting.indexOf(watch);
    if (waiting >= 0) {
      this.#awaiting.splice(waiting, 1);
    }
    if (watch.watchId !== undefined && this.#byId.get(watch.watchId) === watch) {
      this.#byId.delete(watch.watchId);
    }
    this.#options.emit("watch-ended", { watch, end });
  }

  #setWatchers(watchers: readonly Watcher[]): void {
    if (watchers.length === 0 && this.#watchers.length === 0) {
      return;
    }
    this.#watchers = watchers;
    this.#options.emit("watchers", { watchers });
  }
}
