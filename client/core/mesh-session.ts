/**
 * A mesh session: membership of one room and one peer connection per other member (seed 004).
 *
 * The session keeps the client side of the room's `connectionList` as a map from participant id
 * to {@link MeshPeer}. Who offers is fixed by join order: the newcomer (the participant whose id
 * is the `connection_list`'s `newUserId`) offers to every member already present, and those
 * members only answer, so two peers never offer to each other at the same time. A member leaves
 * the map when the server says so (`close_connection`), whether it left on purpose or its socket
 * died; the server's idle timeout bounds how long a vanished member can linger.
 */
import {
  PROTOCOL_VERSION,
  assertNever,
  type CommonServerMessage,
  type ErrorCode,
  type IceServer,
  type Participant,
  type RoomServerMessage,
  type ServerMessage,
} from "../../shared/protocol/index.ts";
import type { MediaState } from "../../shared/protocol/mesh.ts";
import { TypedEmitter, type ListenerErrorHandler } from "./emitter.ts";
import {
  MeshPeer,
  PING_TIMEOUT_MS,
  type CandidateFilter,
  type PeerErrorCode,
  type PeerState,
  type RemotePeer,
  type WebRtcImplementation,
} from "./peer.ts";
import { SignalingClient, type SignalingCloseInfo, type WebSocketConstructor } from "./signaling-client.ts";

/** Lifecycle of a {@link MeshSession}. Only moves forward; a session is used for one stay in one room. */
export const MeshSessionState = {
  /** Created; `join()` not called yet. */
  idle: "idle",
  /** Connecting to the server and waiting for the `joined` acknowledgement. */
  joining: "joining",
  /** In the room: peers come and go. */
  joined: "joined",
  /** Left, refused, or cut off from the server. Every peer is closed. */
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
  /** The signaling socket closed while in the room (server restart, network loss, idle timeout). */
  | "signaling_closed"
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
  "peer-stream": { peer: RemotePeer; stream: MediaStream };
  /** An application payload from a remote's `send()` or `broadcast()`. */
  "peer-data": { peer: RemotePeer; data: unknown };
  /** A remote announced whether its audio and video are on. */
  "peer-media": { peer: RemotePeer; media: MediaState };
  /** Something went wrong; `peerId` names the remote when one is involved. */
  error: { code: MeshErrorCode; message: string; peerId?: string };
};

/** What the server told this session when it joined. */
export interface JoinInfo {
  /** This participant's server-assigned id. */
  id: string;
  room: string;
  username: string;
  iceServers: IceServer[];
  roomCapacity: number;
}

/** Options of a {@link MeshSession}. */
export interface MeshSessionOptions {
  /** Signaling URL, e.g. `wss://example.org/ws`. */
  url: string;
  room: string;
  username: string;
  /** Local media sent to every peer; omit to only receive. */
  stream?: MediaStream;
  /** WebRTC implementation for Node (`@roamhq/wrtc`); browsers use their own. */
  wrtc?: WebRtcImplementation;
  /** WebSocket class for Node (`ws`); browsers use their own. */
  WebSocket?: WebSocketConstructor;
  /** Local ICE candidates for which this returns false are not signaled (all are by default). */
  candidateFilter?: CandidateFilter;
  /** Bound on `join()`, from opening the socket to the `joined` acknowledgement. */
  joinTimeoutMs?: number;
  onListenerError?: ListenerErrorHandler;
}

/** The server messages a mesh session acts on: the room family and the family-less ones. */
type MeshServerMessage = RoomServerMessage | CommonServerMessage;

/** Every {@link MeshServerMessage} type; a `Record` so that a new room message cannot be forgotten here. */
const MESH_SERVER_MESSAGE_TYPES: Record<MeshServerMessage["type"], true> = {
  joined: true,
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

/** Default bound on `join()`. */
export const JOIN_TIMEOUT_MS = 10_000;

/** Everything the session holds for one remote: its peer and the unsubscribers of our listeners. */
interface PeerEntry {
  peer: MeshPeer;
  unsubscribe: Array<() => void>;
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
  #pendingJoin: PendingJoin | undefined;
  #mediaState: MediaState | undefined;
  readonly #unsubscribeSignaling: Array<() => void>;

  constructor(options: MeshSessionOptions) {
    super(options.onListenerError);
    this.#options = options;
    this.#signaling = new SignalingClient({
      url: options.url,
      ...(options.WebSocket ? { WebSocket: options.WebSocket } : {}),
      ...(options.onListenerError ? { onListenerError: options.onListenerError } : {}),
    });
    this.#unsubscribeSignaling = [
      this.#signaling.on("message", (message) => this.#onServerMessage(message)),
      this.#signaling.on("bad-message", ({ detail }) => this.#report("bad_server_message", detail)),
      this.#signaling.on("close", (info) => this.#onSignalingClose(info)),
    ];
  }

  /** Current lifecycle state. */
  get state(): MeshSessionState {
    return this.#state;
  }

  /** True while in the room. */
  get isJoined(): boolean {
    return this.#state === MeshSessionState.joined;
  }

  /** True once the session has ended; it cannot be joined again. */
  get closed(): boolean {
    return this.#state === MeshSessionState.closed;
  }

  /** What the server acknowledged, once joined. */
  get info(): JoinInfo | undefined {
    return this.#info;
  }

  /** This participant's id, once joined. */
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
      const timeoutMs = this.#options.joinTimeoutMs ?? JOIN_TIMEOUT_MS;
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
    this.#signaling.send({
      type: "new_user",
      room: this.#options.room,
      username: this.#options.username,
      protocolVersion: PROTOCOL_VERSION,
    });
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
   * Leaves the room: tells the server, closes every peer connection and the socket, and drops
   * every listener. Safe to call twice and in any state.
   */
  leave(): void {
    if (this.#state === MeshSessionState.closed) {
      return;
    }
    // The explicit leave makes the server tell the others at once, before the socket close lands.
    this.#signaling.send({ type: "close_connection" });
    this.#close();
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
    if (this.#state === MeshSessionState.joined) {
      this.#report("signaling_closed", `signaling socket closed (${detail})`);
    }
    this.#close(new MeshError("signaling_closed", `signaling socket closed before joining (${detail})`));
  }

  #onServerMessage(message: ServerMessage): void {
    if (!isMeshServerMessage(message)) {
      // Call and presence messages belong to other clients sharing the protocol, not to rooms.
      return;
    }
    switch (message.type) {
      case "joined": {
        const pending = this.#pendingJoin;
        if (!pending) {
          return;
        }
        this.#pendingJoin = undefined;
        clearTimeout(pending.timer);
        this.#info = {
          id: message.id,
          room: message.room,
          username: message.username,
          iceServers: message.iceServers,
          roomCapacity: message.roomCapacity,
        };
        this.#setState(MeshSessionState.joined);
        pending.resolve(this.#info);
        return;
      }
      case "connection_list":
        this.#onConnectionList(message.newUserId, message.list);
        return;
      case "send_offer":
      case "send_aswer":
      case "new_candidate": {
        // An offer may come from someone whose connection_list entry we never saw; answer it.
        const peer = this.#entries.get(message.id)?.peer ??
          (message.type === "send_offer" ? this.#addPeer({ id: message.id, username: message.username }, false) : undefined);
        peer?.signal(message);
        return;
      }
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
        if (this.#pendingJoin && message.refType === "new_user") {
          this.#close(new MeshError(message.code, message.message));
        } else {
          this.#report(message.code, message.message);
        }
        return;
      case "pong":
        return;
      default:
        assertNever(message);
    }
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

  #addPeer(participant: Participant, initiator: boolean): MeshPeer | undefined {
    const info = this.#info;
    if (!info) {
      return undefined;
    }
    const peer = new MeshPeer({
      id: participant.id,
      username: participant.username,
      initiator,
      iceServers: info.iceServers,
      ...(this.#options.stream ? { stream: this.#options.stream } : {}),
      ...(this.#options.wrtc ? { wrtc: this.#options.wrtc } : {}),
      ...(this.#options.candidateFilter ? { candidateFilter: this.#options.candidateFilter } : {}),
      ...(this.#options.onListenerError ? { onListenerError: this.#options.onListenerError } : {}),
    });
    const unsubscribe = [
      peer.on("signal", (signal) => {
        this.#signaling.send({ ...signal, targetId: peer.id });
      }),
      peer.on("state", ({ state, previous }) => {
        if (state === "connected" && this.#mediaState) {
          peer.sendMediaState(this.#mediaState);
        }
        this.emit("peer-state", { peer, state, previous });
      }),
      peer.on("stream", (stream) => this.emit("peer-stream", { peer, stream })),
      peer.on("data", (data) => this.emit("peer-data", { peer, data })),
      peer.on("media", (media) => this.emit("peer-media", { peer, media })),
      peer.on("error", ({ code, message }) => this.#report(code, message, peer.id)),
    ];
    this.#entries.set(participant.id, { peer, unsubscribe });
    this.emit("peer-joined", { peer });
    return peer;
  }

  #removePeer(id: string, reason: PeerLeftReason): void {
    const entry = this.#entries.get(id);
    if (!entry) {
      return;
    }
    this.#entries.delete(id);
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
