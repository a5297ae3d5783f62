/**
 * A mesh session: membership of one room and one peer connection per other member (seed 004).
 *
 * The session keeps the client side of the room's `connectionList` as a map from participant id
 * to {@link MeshPeer}. Who offers is fixed by join order: the newcomer (the participant whose id
 * is the `connection_list`'s `newUserId`) offers to every member already present, and those
 * members only answer, so two peers never offer to each other at the same time. A member leaves
 * the map when the server says so (`close_connection`), whether it left on purpose or its socket
 * died; the server's idle timeout and resume grace window bound how long a vanished member can
 * linger.
 *
 * The session survives the loss of its signaling socket: media and data channels are peer to
 * peer and keep flowing, the signaling client reconnects with backoff, and the session `resume`s
 * as the same participant within the server's grace window (the others notice nothing), or joins
 * again as a new one after it. A pair whose connection fails is rebuilt alone, with the same rule
 * about who offers. TURN credentials are renewed before they expire.
 */
import {
  PROTOCOL_VERSION,
  assertNever,
  type CommonServerMessage,
  type ErrorCode,
  type IceServer,
  type Participant,
  type ClientMessage,
  type RoomServerMessage,
  type ServerMessage,
} from "../../shared/protocol/index.ts";
import type { MediaState, TrackSource } from "../../shared/protocol/mesh.ts";
import { TypedEmitter, type ListenerErrorHandler } from "./emitter.ts";
import {
  MeshPeer,
  PING_TIMEOUT_MS,
  PeerState,
  type CandidateFilter,
  type PeerErrorCode,
  type PeerSignal,
  type RemotePeer,
  type RemotePublication,
  type RtcConfigurationExtras,
  type WebRtcImplementation,
} from "./peer-link.ts";
import { LocalPublications } from "./publications.ts";
import { DEFAULT_RECONNECT_POLICY, type ReconnectPolicy } from "./reconnect.ts";
import { SignalingClient, type DroppedReason, type SignalingCloseInfo, type WebSocketConstructor } from "./signaling-client.ts";

/**
 * Lifecycle of a {@link MeshSession}: `idle → joining → joined ⇄ reconnecting → closed`. A session
 * is used for one stay in one room; `reconnecting` is part of the stay (the peers stay up).
 */
export const MeshSessionState = {
  /** Created; `join()` not called yet. */
  idle: "idle",
  /** Connecting to the server and waiting for the `joined` acknowledgement. */
  joining: "joining",
  /** In the room: peers come and go. */
  joined: "joined",
  /**
   * Still in the room, but the signaling socket was lost: reconnecting, then resuming (or joining
   * again as new). Peer connections and data channels keep working; signaling sent meanwhile is
   * queued. Back to `joined` once the server took the session back.
   */
  reconnecting: "reconnecting",
  /** Left, refused, or cut off from the server for good. Every peer is closed. */
  closed: "closed",
} as const;

/** A value of {@link MeshSessionState}. */
export type MeshSessionState = (typeof MeshSessionState)[keyof typeof MeshSessionState];

/** Codes a session reports: the server's error codes, plus what can go wrong on this side. */
export type MeshErrorCode =
  | ErrorCode
  | PeerErrorCode
  /** The server did not acknowledge `new_user` within `joinTimeoutMs`. */
  | "join_timeout"
  /** The signaling socket could not be opened. */
  | "signaling_unreachable"
  /**
   * The signaling connection is gone for good while in the room: reconnecting is off, the close
   * code forbids it (4001, 4003, 4004), or the reconnect policy gave up.
   */
  | "signaling_closed"
  /**
   * Signaling messages sent while reconnecting were dropped: the queue was full, or the session
   * had to join again as new (they were addressed under its old id). Peers they concerned are
   * rebuilt or gone anyway; the error says that nothing vanished silently.
   */
  | "signaling_messages_dropped"
  /** The server did not answer `resume` within `joinTimeoutMs`; the session joins again as new. */
  | "resume_timeout"
  /** The server sent a frame that is not a protocol message. */
  | "bad_server_message";

/** An error with a stable code; `join()` rejects with one. */
export class MeshError extends Error {
  override name = "MeshError";
  readonly code: MeshErrorCode;

  constructor(code: MeshErrorCode, message: string) {
    super(message);
    this.code = code;
  }
}

/** Why a peer left the session's map. */
export type PeerLeftReason =
  /** The server announced that the remote left the room (or its connection was dropped). */
  | "left"
  /**
   * This session lost its place in the room (its resume was refused, e.g. after the grace window
   * or a server restart) and joins again under a new id; the remote comes back as a new peer.
   */
  | "rejoined"
  /** This session closed. */
  | "session_closed";

/** Events of a {@link MeshSession}. */
export type MeshSessionEvents = {
  state: { state: MeshSessionState; previous: MeshSessionState };
  /** A remote participant entered the map; its connection is `connecting`. */
  "peer-joined": { peer: RemotePeer };
  /** A remote participant left the map; its connection is closed. */
  "peer-left": { peer: RemotePeer; reason: PeerLeftReason };
  "peer-state": { peer: RemotePeer; state: PeerState; previous: PeerState };
  /** A remote's camera/microphone stream arrived (again after a rebuild). */
  "peer-stream": { peer: RemotePeer; stream: MediaStream };
  /** A remote's track of `source` arrived, or replaced the one before (a new connection). */
  "peer-track-published": { peer: RemotePeer } & RemotePublication;
  /** A remote stopped publishing `source`, or the connection that carried it was replaced. */
  "peer-track-unpublished": { peer: RemotePeer; source: TrackSource };
  /** An application payload from a remote's `send()` or `broadcast()`. */
  "peer-data": { peer: RemotePeer; data: unknown };
  /** A remote announced whether its audio and video are on. */
  "peer-media": { peer: RemotePeer; media: MediaState };
  /** Something went wrong; `peerId` names the remote when one is involved. */
  error: { code: MeshErrorCode; message: string; peerId?: string };
  /**
   * The signaling socket was lost and attempt `attempt` starts in `delayMs` (once per attempt).
   * The session is `reconnecting`; peers keep working.
   */
  reconnecting: { attempt: number; delayMs: number };
  /**
   * The session is back in the room: `resumed` as the same participant (`id === previousId`,
   * nobody noticed), or joined again as a new one (`resumed: false`, new `id`; every old peer was
   * dropped with reason `rejoined` and the mesh forms again).
   */
  reconnected: { id: string; previousId: string; resumed: boolean };
  /** New ICE servers (fresh TURN credentials) were applied to every peer. */
  "ice-servers": { iceServers: IceServer[]; expiresAtMs: number | undefined };
};

/** What the server told this session when it joined (updated on resume, rejoin and ICE refresh). */
export interface JoinInfo {
  /** This participant's server-assigned id. */
  id: string;
  room: string;
  username: string;
  iceServers: IceServer[];
  roomCapacity: number;
  /** When the TURN credentials in `iceServers` expire (epoch ms); absent when they do not. */
  iceServersExpireAtMs?: number;
  /** How long the server keeps this participant after its socket is lost, in ms. */
  resumeGraceMs?: number;
}

/** Options of a {@link MeshSession}. */
export interface MeshSessionOptions {
  /** Signaling URL, e.g. `wss://example.org/ws`. */
  url: string;
  room: string;
  username: string;
  /**
   * Local media sent to every peer; omit to only receive. Its audio track is published as
   * `microphone` and its video track as `camera` (see {@link MeshSession.publications}).
   */
  stream?: MediaStream;
  /** WebRTC implementation for Node (`@roamhq/wrtc`); browsers use their own. */
  wrtc?: WebRtcImplementation;
  /** WebSocket class for Node (`ws`); browsers use their own. */
  WebSocket?: WebSocketConstructor;
  /** Local ICE candidates for which this returns false are not signaled (all are by default). */
  candidateFilter?: CandidateFilter;
  /** Bound on `join()`, from opening the socket to the `joined` acknowledgement; also bounds `resume`. */
  joinTimeoutMs?: number;
  /**
   * Signaling reconnect policy; `false` makes the first loss of the socket final (the session
   * closes with `signaling_closed`). Defaults to {@link DEFAULT_RECONNECT_POLICY}.
   */
  reconnect?: ReconnectPolicy | false;
  /** Delay before the offering side rebuilds failed pair number `attempt` (1-based); defaults to {@link peerRebuildDelayMs}. */
  peerRebuildDelayMs?: (attempt: number) => number;
  /** `RTCConfiguration` fields besides `iceServers` for every peer, e.g. `{ iceTransportPolicy: "relay" }`. */
  rtcConfiguration?: RtcConfigurationExtras;
  /** How long ICE may stay `disconnected` before a pair counts as failed and is rebuilt. */
  iceDisconnectedTimeoutMs?: number;
  onListenerError?: ListenerErrorHandler;
}

/** The server messages a mesh session acts on: the room family and the family-less ones. */
type MeshServerMessage = RoomServerMessage | CommonServerMessage;

/** Every {@link MeshServerMessage} type; a `Record` so that a new room message cannot be forgotten here. */
const MESH_SERVER_MESSAGE_TYPES: Record<MeshServerMessage["type"], true> = {
  joined: true,
  resumed: true,
  ice_servers: true,
  connection_list: true,
  send_offer: true,
  send_aswer: true,
  new_candidate: true,
  close_connection: true,
  rest_connection_list: true,
  error: true,
  pong: true,
};

function isMeshServerMessage(message: ServerMessage): message is MeshServerMessage {
  return Object.hasOwn(MESH_SERVER_MESSAGE_TYPES, message.type);
}

/** A negotiation message the server relayed from a remote. */
type RoomSignalMessage = Extract<RoomServerMessage, { type: "send_offer" | "send_aswer" | "new_candidate" }>;

/** The room message that carries a link's signal to participant `targetId`. */
function roomSignalMessage(signal: PeerSignal, targetId: string): ClientMessage {
  switch (signal.kind) {
    case "offer":
      return { type: "send_offer", targetId, sdp: { type: "offer", sdp: signal.sdp } };
    case "answer":
      return { type: "send_aswer", targetId, sdp: { type: "answer", sdp: signal.sdp } };
    case "candidate":
      return { type: "new_candidate", targetId, ice: signal.candidate };
  }
}

/** The link signal a relayed room message carries. */
function peerSignalOf(message: RoomSignalMessage): PeerSignal {
  switch (message.type) {
    case "send_offer":
      return { kind: "offer", sdp: message.sdp.sdp };
    case "send_aswer":
      return { kind: "answer", sdp: message.sdp.sdp };
    case "new_candidate":
      return { kind: "candidate", candidate: message.ice };
  }
}

/** Default bound on `join()`. */
export const JOIN_TIMEOUT_MS = 10_000;

/**
 * Share of the remaining credential lifetime after which fresh ICE servers are asked for: at 75 %
 * a refresh that takes a while (or a reconnect in between) still lands before expiry.
 */
export const ICE_REFRESH_AT_FRACTION = 0.75;

/** Floor of the delay before an ICE server refresh, so that a clock skew cannot make it spin. */
export const MIN_ICE_REFRESH_DELAY_MS = 500;

/** First delay before a failed pair is rebuilt; doubles per consecutive failure of the pair. */
export const PEER_REBUILD_BASE_DELAY_MS = 1_000;

/** Largest delay before a failed pair is rebuilt. */
export const PEER_REBUILD_MAX_DELAY_MS = 15_000;

/**
 * The default delay before the offering side rebuilds a failed pair: 0.5–1 s the first time,
 * doubling up to 15 s. Never immediate: when a remote leaves, its connections close a moment
 * before the server's `close_connection` arrives, and that remote must not be offered to again.
 */
export function peerRebuildDelayMs(attempt: number): number {
  const boundMs = Math.min(PEER_REBUILD_MAX_DELAY_MS, PEER_REBUILD_BASE_DELAY_MS * 2 ** (Math.max(1, attempt) - 1));
  return Math.round(boundMs * (0.5 + Math.random() / 2));
}

/** Everything the session holds for one remote: its peer and the unsubscribers of our listeners. */
interface PeerEntry {
  peer: MeshPeer;
  unsubscribe: Array<() => void>;
  /** Consecutive failures since the pair was last connected. */
  failures: number;
  rebuildTimer: ReturnType<typeof setTimeout> | undefined;
}

/** Re-identification in progress on a new socket: `resume`, or `new_user` after a refused resume. */
interface PendingReentry {
  kind: "resume" | "rejoin";
  previousId: string;
  timer: ReturnType<typeof setTimeout>;
}

interface PendingJoin {
  resolve: (info: JoinInfo) => void;
  reject: (error: MeshError) => void;
  timer: ReturnType<typeof setTimeout>;
}

/** Membership of one room with a full mesh of peer connections. */
export class MeshSession extends TypedEmitter<MeshSessionEvents> {
  readonly #options: MeshSessionOptions;
  readonly #signaling: SignalingClient;
  readonly #entries = new Map<string, PeerEntry>();
  #state: MeshSessionState = MeshSessionState.idle;
  #info: JoinInfo | undefined;
  /** Secret for the next `resume`; `undefined` once refused (the next reconnect joins as new). */
  #resumeToken: string | undefined;
  #pendingJoin: PendingJoin | undefined;
  #reentry: PendingReentry | undefined;
  #iceRefreshTimer: ReturnType<typeof setTimeout> | undefined;
  #mediaState: MediaState | undefined;
  readonly #publications: LocalPublications;
  readonly #unsubscribeSignaling: Array<() => void>;

  constructor(options: MeshSessionOptions) {
    super(options.onListenerError);
    this.#options = options;
    this.#publications = new LocalPublications({
      createStream: () => new (options.wrtc?.MediaStream ?? globalThis.MediaStream)(),
      ...(options.stream ? { stream: options.stream } : {}),
    });
    const reconnect = options.reconnect === false ? undefined : (options.reconnect ?? DEFAULT_RECONNECT_POLICY);
    this.#signaling = new SignalingClient({
      url: options.url,
      ...(options.WebSocket ? { WebSocket: options.WebSocket } : {}),
      ...(reconnect ? { reconnect } : {}),
      ...(options.onListenerError ? { onListenerError: options.onListenerError } : {}),
    });
    this.#unsubscribeSignaling = [
      this.#signaling.on("message", (message) => this.#onServerMessage(message)),
      this.#signaling.on("bad-message", ({ detail }) => this.#report("bad_server_message", detail)),
      this.#signaling.on("reconnecting", ({ attempt, delayMs }) => this.#onReconnecting(attempt, delayMs)),
      this.#signaling.on("reconnected", () => this.#onReconnected()),
      this.#signaling.on("dropped", ({ messages, reason }) => this.#onDropped(messages.length, reason)),
      this.#signaling.on("close", (info) => this.#onSignalingClose(info)),
    ];
  }

  /** Current lifecycle state. */
  get state(): MeshSessionState {
    return this.#state;
  }

  /**
   * True while in the room: `joined`, and also `reconnecting`, because the server keeps the
   * participant through its grace window and the peers stay connected. Use
   * {@link MeshSession.isReconnecting} to tell the two apart.
   */
  get isJoined(): boolean {
    return this.#state === MeshSessionState.joined || this.#state === MeshSessionState.reconnecting;
  }

  /** True while the signaling connection is being re-established. */
  get isReconnecting(): boolean {
    return this.#state === MeshSessionState.reconnecting;
  }

  /** True once the session has ended; it cannot be joined again. */
  get closed(): boolean {
    return this.#state === MeshSessionState.closed;
  }

  /**
   * The tracks this participant sends, by source: `publish`, `unpublish` and `replace` work
   * before and after joining, on every pair at once (adding or removing a track renegotiates,
   * replacing does not); a rebuilt pair sends what is published at that moment.
   */
  get publications(): LocalPublications {
    return this.#publications;
  }

  /** What the server acknowledged, once joined. */
  get info(): JoinInfo | undefined {
    return this.#info;
  }

  /** This participant's id, once joined. It changes when the session has to join again as new. */
  get id(): string | undefined {
    return this.#info?.id;
  }

  /** The remote participants, by id: the client side of the room's `connectionList`. */
  get peers(): ReadonlyMap<string, RemotePeer> {
    return new Map([...this.#entries].map(([id, entry]) => [id, entry.peer]));
  }

  /**
   * Connects and joins the room. Resolves once the server acknowledged; the peers of members
   * already present are created right after. Rejects with a {@link MeshError} (`room_full`,
   * `join_timeout`, `signaling_unreachable`…) and closes the session on failure. Call once.
   */
  async join(): Promise<JoinInfo> {
    if (this.#state !== MeshSessionState.idle) {
      // A programming error, not a room condition: sessions are single-use.
      throw new Error(`join() called in state "${this.#state}"; create a new MeshSession to join again`);
    }
    this.#setState(MeshSessionState.joining);
    const joined = new Promise<JoinInfo>((resolve, reject) => {
      const timeoutMs = this.#joinTimeoutMs;
      const timer = setTimeout(() => {
        this.#close(new MeshError("join_timeout", `no "joined" from ${this.#options.url} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.#pendingJoin = { resolve, reject, timer };
    });
    try {
      await this.#signaling.connect();
    } catch {
      // The socket's close event has already closed the session and rejected `joined`.
      return joined;
    }
    this.#sendNewUser();
    return joined;
  }

  /**
   * Sends an application payload (a small JSON value) to one peer. Returns false when that peer
   * is unknown or not connected yet.
   */
  send(peerId: string, data: unknown): boolean {
    return this.#entries.get(peerId)?.peer.send(data) ?? false;
  }

  /** Sends an application payload to every connected peer; returns how many it was sent to. */
  broadcast(data: unknown): number {
    let sent = 0;
    for (const { peer } of this.#entries.values()) {
      if (peer.send(data)) {
        sent += 1;
      }
    }
    return sent;
  }

  /**
   * Announces whether this side's audio and video are on. Sent to every connected peer now and
   * to each peer that connects later. Muting itself is `track.enabled = false` on the stream.
   */
  setMediaState(state: MediaState): void {
    this.#mediaState = { audio: state.audio, video: state.video };
    for (const { peer } of this.#entries.values()) {
      peer.sendMediaState(this.#mediaState);
    }
  }

  /** One data-channel round trip to `peerId`, in milliseconds. */
  ping(peerId: string, timeoutMs: number = PING_TIMEOUT_MS): Promise<number> {
    const entry = this.#entries.get(peerId);
    if (!entry) {
      return Promise.reject(new Error(`no peer "${peerId}" in this session`));
    }
    return entry.peer.ping(timeoutMs);
  }

  /**
   * Restarts ICE on the pairs this side offers to (all of them, or only `peerId`), e.g. after a
   * network change: new candidates and TURN allocations with the current ICE servers, same
   * connections. Returns how many restarts began; pairs where the remote offers are skipped.
   */
  restartIce(peerId?: string): number {
    let restarted = 0;
    for (const [id, { peer }] of this.#entries) {
      if ((peerId === undefined || id === peerId) && peer.restartIce()) {
        restarted += 1;
      }
    }
    return restarted;
  }

  /**
   * Fails the connection to `peerId` as a real failure would (closes its `RTCPeerConnection`),
   * so that the pair is rebuilt. For tests and diagnostics; returns false for an unknown peer.
   */
  debugFailPeer(peerId: string, reason = "forced by debugFailPeer()"): boolean {
    const entry = this.#entries.get(peerId);
    if (!entry || entry.peer.closed) {
      return false;
    }
    entry.peer.fail(reason);
    return true;
  }

  /**
   * Leaves the room: tells the server, closes every peer connection and the socket, and drops
   * every listener. Safe to call twice and in any state. While reconnecting the server cannot be
   * told; it lets the participant go when the grace window ends.
   */
  leave(): void {
    if (this.#state === MeshSessionState.closed) {
      return;
    }
    // The explicit leave makes the server tell the others at once, before the socket close lands.
    this.#signaling.sendNow({ type: "close_connection" });
    this.#close();
  }

  get #joinTimeoutMs(): number {
    return this.#options.joinTimeoutMs ?? JOIN_TIMEOUT_MS;
  }

  #sendNewUser(): void {
    this.#signaling.sendNow({
      type: "new_user",
      room: this.#options.room,
      username: this.#options.username,
      protocolVersion: PROTOCOL_VERSION,
    });
  }

  /**
   * Ends the session: rejects a pending `join()` with `joinError`, closes the socket and every
   * peer, emits the final `state` and drops every listener.
   */
  #close(joinError: MeshError = new MeshError("signaling_closed", "the session closed before it joined")): void {
    if (this.#state === MeshSessionState.closed) {
      return;
    }
    const pending = this.#pendingJoin;
    this.#pendingJoin = undefined;
    if (pending) {
      clearTimeout(pending.timer);
      pending.reject(joinError);
    }
    this.#clearReentry();
    clearTimeout(this.#iceRefreshTimer);
    this.#iceRefreshTimer = undefined;
    for (const unsubscribe of this.#unsubscribeSignaling) {
      unsubscribe();
    }
    this.#signaling.close();
    for (const id of [...this.#entries.keys()]) {
      this.#removePeer(id, "session_closed");
    }
    this.#setState(MeshSessionState.closed);
    this.removeAllListeners();
  }

  #onSignalingClose(info: SignalingCloseInfo): void {
    const detail = `code ${info.code}${info.reason ? `, ${info.reason}` : ""}`;
    if (!info.opened) {
      this.#close(new MeshError("signaling_unreachable", `cannot open ${this.#options.url} (${detail})`));
      return;
    }
    if (this.isJoined) {
      this.#report("signaling_closed", `signaling connection closed for good (${detail})`);
    }
    this.#close(new MeshError("signaling_closed", `signaling socket closed before joining (${detail})`));
  }

  // ---- reconnect and resume ----

  #onReconnecting(attempt: number, delayMs: number): void {
    // A lost `resume` or rejoin is simply tried again on the next socket.
    this.#clearReentry();
    if (this.#state === MeshSessionState.joined) {
      this.#setState(MeshSessionState.reconnecting);
    }
    this.emit("reconnecting", { attempt, delayMs });
  }

  /** A new socket is open; the queue is held until this session has its place in the room back. */
  #onReconnected(): void {
    const info = this.#info;
    if (!info) {
      // Lost before `joined`: `join()` is still pending (its timeout runs); just ask again.
      this.#signaling.discardQueue();
      this.#sendNewUser();
      return;
    }
    if (this.#resumeToken === undefined) {
      this.#rejoinAsNew(info.id);
      return;
    }
    this.#signaling.sendNow({ type: "resume", id: info.id, resumeToken: this.#resumeToken });
    this.#startReentry("resume", info.id, () => {
      this.#report("resume_timeout", `no answer to "resume" within ${this.#joinTimeoutMs} ms`);
      this.#rejoinAsNew(info.id);
    });
  }

  #startReentry(kind: PendingReentry["kind"], previousId: string, onTimeout: () => void): void {
    this.#clearReentry();
    this.#reentry = { kind, previousId, timer: setTimeout(onTimeout, this.#joinTimeoutMs) };
  }

  #clearReentry(): void {
    if (this.#reentry) {
      clearTimeout(this.#reentry.timer);
      this.#reentry = undefined;
    }
  }

  /**
   * The server took the participant back: keep every peer that is still in the room (their
   * connections never depended on the server), drop the others, then let the queued signaling go.
   */
  #onResumed(message: Extract<RoomServerMessage, { type: "resumed" }>): void {
    const reentry = this.#reentry;
    const info = this.#info;
    const { room, username, list } = message;
    // A session that resumes for a room always gets the room back; the fields are optional on the
    // wire only because a login-only session resumes without them.
    if (reentry?.kind !== "resume" || !info || room === undefined || username === undefined || list === undefined) {
      return;
    }
    this.#clearReentry();
    this.#resumeToken = message.resumeToken;
    this.#info = {
      ...info,
      id: message.id,
      room,
      username,
      iceServers: message.iceServers,
      ...(message.iceServersExpireAtMs !== undefined ? { iceServersExpireAtMs: message.iceServersExpireAtMs } : {}),
    };
    if (message.iceServersExpireAtMs === undefined) {
      delete this.#info.iceServersExpireAtMs;
    }
    const present = new Set(list.map((participant) => participant.id));
    for (const id of [...this.#entries.keys()]) {
      if (!present.has(id)) {
        this.#removePeer(id, "left");
      }
    }
    // Someone who joined meanwhile is not added here: its `connection_list` and offer were kept
    // for this participant and follow `resumed`.
    this.#applyIceServers(message.iceServers, message.iceServersExpireAtMs);
    this.#signaling.flushQueue();
    this.#setState(MeshSessionState.joined);
    this.emit("reconnected", { id: message.id, previousId: reentry.previousId, resumed: true });
  }

  /**
   * The old participant is lost: drop every peer and everything queued under the old id, and
   * join again as a newcomer, who offers to everyone present.
   */
  #rejoinAsNew(previousId: string): void {
    this.#resumeToken = undefined;
    for (const id of [...this.#entries.keys()]) {
      this.#removePeer(id, "rejoined");
    }
    this.#signaling.discardQueue();
    this.#sendNewUser();
    this.#startReentry("rejoin", previousId, () => {
      this.#close(new MeshError("join_timeout", `no "joined" within ${this.#joinTimeoutMs} ms after reconnecting`));
    });
  }

  #onDropped(count: number, reason: DroppedReason): void {
    const why = reason === "queue_full" ? "the reconnect queue was full" : reason === "discarded" ? "the session joined again as new" : "the connection closed";
    this.#report("signaling_messages_dropped", `${count} signaling message(s) not sent: ${why}`);
  }

  // ---- ICE servers ----

  /** Applies fresh ICE servers to every peer and schedules the next refresh. */
  #applyIceServers(iceServers: IceServer[], expiresAtMs: number | undefined): void {
    for (const { peer } of this.#entries.values()) {
      peer.setIceServers(iceServers);
    }
    this.#scheduleIceRefresh(expiresAtMs);
    this.emit("ice-servers", { iceServers, expiresAtMs });
  }

  #scheduleIceRefresh(expiresAtMs: number | undefined): void {
    clearTimeout(this.#iceRefreshTimer);
    this.#iceRefreshTimer = undefined;
    if (expiresAtMs === undefined) {
      return;
    }
    const delayMs = Math.max(MIN_ICE_REFRESH_DELAY_MS, (expiresAtMs - Date.now()) * ICE_REFRESH_AT_FRACTION);
    this.#iceRefreshTimer = setTimeout(() => {
      this.#iceRefreshTimer = undefined;
      // While reconnecting it waits in the queue; `resumed` brings fresh servers anyway.
      this.#signaling.send({ type: "refresh_ice_servers" });
    }, delayMs);
  }

  // ---- server messages ----

  #onServerMessage(message: ServerMessage): void {
    if (!isMeshServerMessage(message)) {
      // Call and presence messages belong to other clients sharing the protocol, not to rooms.
      return;
    }
    switch (message.type) {
      case "joined": {
        const info: JoinInfo = {
          id: message.id,
          room: message.room,
          username: message.username,
          iceServers: message.iceServers,
          roomCapacity: message.roomCapacity,
          resumeGraceMs: message.resumeGraceMs,
          ...(message.iceServersExpireAtMs !== undefined ? { iceServersExpireAtMs: message.iceServersExpireAtMs } : {}),
        };
        const pending = this.#pendingJoin;
        const reentry = this.#reentry;
        if (pending) {
          this.#pendingJoin = undefined;
          clearTimeout(pending.timer);
        } else if (reentry?.kind === "rejoin") {
          this.#clearReentry();
        } else {
          return;
        }
        this.#info = info;
        this.#resumeToken = message.resumeToken;
        this.#scheduleIceRefresh(message.iceServersExpireAtMs);
        this.#signaling.flushQueue();
        this.#setState(MeshSessionState.joined);
        if (pending) {
          pending.resolve(info);
        } else if (reentry) {
          this.emit("reconnected", { id: info.id, previousId: reentry.previousId, resumed: false });
        }
        return;
      }
      case "resumed":
        this.#onResumed(message);
        return;
      case "ice_servers":
        if (this.#info) {
          this.#info = { ...this.#info, iceServers: message.iceServers };
          if (message.iceServersExpireAtMs === undefined) {
            delete this.#info.iceServersExpireAtMs;
          } else {
            this.#info.iceServersExpireAtMs = message.iceServersExpireAtMs;
          }
          this.#applyIceServers(message.iceServers, message.iceServersExpireAtMs);
        }
        return;
      case "connection_list":
        this.#onConnectionList(message.newUserId, message.list);
        return;
      case "send_offer":
      case "send_aswer":
      case "new_candidate":
        this.#onSignal(message);
        return;
      case "close_connection":
        this.#removePeer(message.id, "left");
        return;
      case "rest_connection_list": {
        // The authoritative remaining list: drop anyone we still hold who is not on it.
        const present = new Set(message.list.map((participant) => participant.id));
        for (const id of [...this.#entries.keys()]) {
          if (!present.has(id)) {
            this.#removePeer(id, "left");
          }
        }
        return;
      }
      case "error":
        this.#onError(message);
        return;
      case "pong":
        return;
      default:
        assertNever(message);
    }
  }

  #onError(message: Extract<CommonServerMessage, { type: "error" }>): void {
    if (this.#pendingJoin && message.refType === "new_user") {
      this.#close(new MeshError(message.code, message.message));
      return;
    }
    const reentry = this.#reentry;
    if (reentry?.kind === "resume" && message.code === "resume_failed") {
      this.#rejoinAsNew(reentry.previousId);
      return;
    }
    if (reentry?.kind === "rejoin" && message.refType === "new_user") {
      // The room filled up (or the server refuses this client) while it was away: the stay is over.
      this.#report(message.code, message.message);
      this.#close(new MeshError(message.code, message.message));
      return;
    }
    this.#report(message.code, message.message);
  }

  /** An offer, answer or candidate from a remote. */
  #onSignal(message: RoomSignalMessage): void {
    let entry = this.#entries.get(message.id);
    if (message.type === "send_offer") {
      if (!entry) {
        // An offer may come from someone whose connection_list entry we never saw; answer it.
        entry = this.#addPeer({ id: message.id, username: message.username }, false);
      } else if (!entry.peer.initiator) {
        const failed = entry.peer.state === PeerState.failed;
        switch (entry.peer.classifyOffer(message.sdp.sdp)) {
          case "stale":
            return;
          case "renegotiation":
            if (failed) {
              // From the connection that just failed here; its owner will notice and rebuild.
              return;
            }
            break;
          case "first":
            if (failed) {
              entry.peer.rebuild();
            }
            break;
          case "new":
            // The offering side rebuilt the pair (whatever this side thought of the old one).
            entry.peer.rebuild();
            break;
        }
      }
    }
    entry?.peer.signal(peerSignalOf(message));
  }

  /**
   * `connection_list` goes to the whole room on every join. The newcomer creates an offering
   * peer for every member already present; each member creates one answering peer for the newcomer.
   */
  #onConnectionList(newUserId: string, list: Participant[]): void {
    const selfId = this.#info?.id;
    if (selfId === undefined) {
      return;
    }
    if (newUserId === selfId) {
      for (const participant of list) {
        if (participant.id !== selfId && !this.#entries.has(participant.id)) {
          this.#addPeer(participant, true);
        }
      }
      return;
    }
    const newcomer = list.find((participant) => participant.id === newUserId);
    if (newcomer && !this.#entries.has(newUserId)) {
      this.#addPeer(newcomer, false);
    }
  }

  // ---- peers ----

  #addPeer(participant: Participant, initiator: boolean): PeerEntry | undefined {
    const info = this.#info;
    if (!info) {
      return undefined;
    }
    const options = this.#options;
    const peer = new MeshPeer({
      id: participant.id,
      username: participant.username,
      initiator,
      iceServers: info.iceServers,
      publications: this.#publications,
      ...(options.wrtc ? { wrtc: options.wrtc } : {}),
      ...(options.candidateFilter ? { candidateFilter: options.candidateFilter } : {}),
      ...(options.rtcConfiguration ? { rtcConfiguration: options.rtcConfiguration } : {}),
      ...(options.iceDisconnectedTimeoutMs !== undefined ? { disconnectedTimeoutMs: options.iceDisconnectedTimeoutMs } : {}),
      ...(options.onListenerError ? { onListenerError: options.onListenerError } : {}),
    });
    const entry: PeerEntry = { peer, unsubscribe: [], failures: 0, rebuildTimer: undefined };
    entry.unsubscribe = [
      peer.on("signal", (signal) => {
        this.#signaling.send(roomSignalMessage(signal, peer.id));
      }),
      peer.on("state", ({ state, previous }) => {
        if (state === PeerState.connected) {
          entry.failures = 0;
          if (this.#mediaState) {
            peer.sendMediaState(this.#mediaState);
          }
        }
        this.emit("peer-state", { peer, state, previous });
        if (state === PeerState.failed) {
          this.#onPeerFailed(entry);
        }
      }),
      peer.on("stream", (stream) => this.emit("peer-stream", { peer, stream })),
      peer.on("publication", (publication) => this.emit("peer-track-published", { peer, ...publication })),
      peer.on("unpublication", ({ source }) => this.emit("peer-track-unpublished", { peer, source })),
      this.#publications.attach(peer),
      peer.on("data", (data) => this.emit("peer-data", { peer, data })),
      peer.on("media", (media) => this.emit("peer-media", { peer, media })),
      peer.on("error", ({ code, message }) => this.#report(code, message, peer.id)),
    ];
    this.#entries.set(participant.id, entry);
    this.emit("peer-joined", { peer });
    return entry;
  }

  /**
   * One pair is down. The side that offered rebuilds it after a delay (growing with repeated
   * failures); the other side waits for that offer. Nothing else in the room is touched.
   */
  #onPeerFailed(entry: PeerEntry): void {
    if (!entry.peer.initiator || entry.rebuildTimer !== undefined) {
      return;
    }
    entry.failures += 1;
    const delayMs = (this.#options.peerRebuildDelayMs ?? peerRebuildDelayMs)(entry.failures);
    entry.rebuildTimer = setTimeout(() => {
      entry.rebuildTimer = undefined;
      if (this.#entries.get(entry.peer.id) === entry && entry.peer.state === PeerState.failed) {
        entry.peer.rebuild();
      }
    }, delayMs);
  }

  #removePeer(id: string, reason: PeerLeftReason): void {
    const entry = this.#entries.get(id);
    if (!entry) {
      return;
    }
    this.#entries.delete(id);
    clearTimeout(entry.rebuildTimer);
    entry.rebuildTimer = undefined;
    entry.peer.destroy();
    for (const unsubscribe of entry.unsubscribe) {
      unsubscribe();
    }
    this.emit("peer-left", { peer: entry.peer, reason });
  }

  #report(code: MeshErrorCode, message: string, peerId?: string): void {
    this.emit("error", peerId === undefined ? { code, message } : { code, message, peerId });
  }

  #setState(state: MeshSessionState): void {
    const previous = this.#state;
    if (previous === state) {
      return;
    }
    this.#state = state;
    this.emit("state", { state, previous });
  }
}
