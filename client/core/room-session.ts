/**
 * A room session: membership of one room and one peer connection per other member (the room
 * family of the protocol).
 *
 * The session keeps the client side of the room's `connectionList` as a map from participant id
 * to {@link MeshPeer}. Who offers is fixed by join order: the newcomer offers to every member
 * already present, and those members only answer, so two peers never offer to each other at the
 * same time. A member leaves the map when the server says so (`close_connection`), whether it left
 * on purpose or its socket died; the server's idle timeout and resume grace window bound how long a
 * vanished member can linger.
 *
 * The wire is the {@link ServerConnection}'s business: this session calls its typed sends and
 * reacts to its events; it never builds a wire message. The decisions (who offers, what an offer
 * does to a pair, what survives a resume, how to get back in after a restart, when to rebuild) are
 * pure functions in `room-decisions.ts`.
 *
 * What the room grants this participant arrives with `joined` ({@link RoomSession.grants}). A
 * viewer (no `publish` grant) publishes nothing, whatever it was given, and still receives
 * everyone: its offers ask for audio and video. Without `data` it cannot send application data.
 * A hidden participant (grant `hidden`) is missing from the lists the others receive; it offers
 * to everyone, newcomers included (the server announces each later join to it as its own), and
 * the others answer it without showing it: its pair stays out of {@link RoomSession.peers} and
 * the peer events, and only its own `close_connection` ends it.
 *
 * The session survives the loss of its signaling socket: media and data channels are peer to
 * peer and keep flowing, the connection reconnects with backoff and resumes the session within the
 * server's grace window (the others notice nothing), or restarts after it, and the session joins
 * again as a new participant. A pair whose connection fails is rebuilt alone, with the same rule
 * about who offers. TURN credentials are renewed by the connection before they expire.
 */
import { assertNever, type AccountCredentials, type ErrorCode, type IceServer, type MuteKind, type Participant, type RoomGrants, type RoomState } from "../../shared/protocol/index.ts";
import type { MediaState, TrackSource } from "../../shared/protocol/mesh.ts";
import { ChatIdMemory, chatTextRefusal, newChatChannelMessage, type ChatMessage } from "./chat.ts";
import { DEFAULT_UPLINK_BUDGET_KBPS, VideoBandwidth, type AppliedVideoFit, type VideoHint, type VideoSource } from "./bandwidth.ts";
import { TypedEmitter, type ListenerErrorHandler } from "./emitter.ts";
import { AUDIO_LEVEL_INTERVAL_MS, SpeakerDetector, type PeerAudioLevel } from "./speaking.ts";
import { ScreenShare, type ScreenShareEndReason } from "./screen-share.ts";
import { WebRtcRoomError, type ClientErrorCode } from "./errors.ts";
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
import { LocalPublications, TRACK_SOURCE_GROUP, TRACK_SOURCE_KIND } from "./publications.ts";
import type { ReconnectPolicy } from "./reconnect.ts";
import {
  absentPeers,
  actionOnJoinFailure,
  actionOnOffer,
  actionOnPeerFailed,
  appliesIceServers,
  peerRebuildDelayMs,
  peersToAddOnConnectionList,
  rebuildStillDue,
  reentryAfterRestart,
  reentryAfterResume,
  type JoinAttempt,
  type OfferTarget,
  type ReentryAction,
  type RoomStay,
} from "./room-decisions.ts";
import {
  REQUEST_TIMEOUT_MS,
  ServerConnection,
  ServerRefusalError,
  sessionConnection,
  type IceServersOrigin,
  type JoinedMessage,
  type ResumedRoom,
  type RoomMessage,
  type ServerErrorMessage,
} from "./server-connection.ts";
import type { SignalingCloseInfo, WebSocketConstructor } from "./signaling-client.ts";

/**
 * Lifecycle of a {@link RoomSession}: `idle → joining → joined ⇄ reconnecting → closed`. A session
 * is used for one stay in one room; `reconnecting` is part of the stay (the peers stay up).
 */
export const RoomSessionState = {
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

/** A value of {@link RoomSessionState}. */
export type RoomSessionState = (typeof RoomSessionState)[keyof typeof RoomSessionState];

/**
 * Codes a room session reports: the server's error codes, the peers' codes, and the client codes
 * of the connection and the join (explained in `CLIENT_ERROR_CODES`, `errors.ts`).
 */
export type RoomErrorCode =
  | ErrorCode
  | PeerErrorCode
  | Extract<
      ClientErrorCode,
      | "join_timeout"
      | "signaling_unreachable"
      | "signaling_closed"
      | "signaling_messages_dropped"
      | "resume_timeout"
      | "bad_server_message"
      | "not_allowed"
      | "not_ready"
      | "chat_too_long"
      | "chat_empty"
    >;

/** An error of a room session, with a stable code; `join()` rejects with one. */
export class RoomError extends WebRtcRoomError<RoomErrorCode> {
  override name = "MeshError";
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

/** Events of a {@link RoomSession}. */
export type RoomSessionEvents = {
  state: { state: RoomSessionState; previous: RoomSessionState };
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
  /** A chat message from a remote arrived (once per id: copies are dropped). */
  "chat-message": ChatMessage;
  /** Something went wrong; `peerId` names the remote when one is involved. */
  error: { code: RoomErrorCode; message: string; peerId?: string };
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
  /** The room's settings or hosts changed (also the answer to this host's own settings). */
  "room-state": { roomState: RoomState };
  /** What this participant may do changed: in open mode it became host when the last host left. */
  grants: { grants: RoomGrants };
  /** Hosts: who waits in the lobby now (empty when nobody does). */
  lobby: { waiting: Participant[] };
  /** The room put this session in its lobby: `join()` resolves when a host admits it, rejects with `lobby_denied` otherwise. */
  waiting: { room: string; id: string };
  /** A host (`by`) removed this participant; the session is closed right after. */
  removed: { by: string };
  /**
   * A host (`by`) asked this participant to stop sending `kind`: the session has disabled the
   * tracks of `sources` (`track.enabled = false`; they stay published, so unmuting is
   * `track.enabled = true`) and announced its media state. Tell the user ("the host muted your
   * microphone").
   */
  "mute-request": { by: string; kind: MuteKind; sources: TrackSource[] };
  /**
   * The uplink budget was divided again among this side's video senders (a peer came or went, a
   * video source was published, a receiver sent a hint): what each sender got and whether the
   * browser took it (see `bandwidth.ts`).
   */
  "video-fit": { fit: AppliedVideoFit };
  /** The remote peers' audio levels, a few times a second while joined (see `audioLevelIntervalMs`). */
  levels: { levels: PeerAudioLevel[] };
  /**
   * The active speaker changed: the remote peer that spoke loudest long enough to take over
   * (`speaking.ts`); it stays through silence. `peerId` is `undefined` when it left.
   */
  "active-speaker": { peerId: string | undefined; previousId: string | undefined };
  /**
   * This participant's screen share ended: `stopped` ({@link RoomSession.stopScreenShare}),
   * `ended` (the browser's own "Stop sharing") or `replaced` (`by` started a newer share: one
   * share per room; see `screen-share.ts`).
   */
  "screen-share-ended": { reason: ScreenShareEndReason; by: RemotePeer | undefined };
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
  /**
   * What this participant may do; see {@link RoomSession.grants}. `publish` and `data` are for
   * this side to honour (the server cannot enforce media in a mesh).
   */
  grants: RoomGrants;
  /** The room's settings and hosts, kept current from `room_state`. */
  roomState: RoomState;
  /** The server's default uplink video budget in kbit/s, when it announces one. */
  uplinkBudgetKbps?: number;
}

/** Options of a {@link RoomSession}. */
export interface RoomSessionOptions {
  /** Signaling URL, e.g. `wss://example.org/ws`; not needed with `connection`. */
  url?: string;
  /**
   * A server connection to join on, shared with a phone session, say (one socket and one resumable
   * session for both). Without it the session opens its own with `url`, `WebSocket` and
   * `reconnect`. A shared connection is the caller's: `leave()` leaves the room but keeps it open.
   */
  connection?: ServerConnection;
  room: string;
  username: string;
  /** The signed join token a token-mode server requires (`new_user.token`); minted by the application's backend. */
  token?: string;
  /** The room password, for a room whose host set one (`password_required` / `wrong_password` otherwise). */
  password?: string;
  /**
   * The account to join as, which a server running with accounts requires (`new_user.account`);
   * kept for the rejoin after a lost session, never stored.
   */
  account?: AccountCredentials;
  /**
   * Local media sent to every peer; omit to only receive. Its audio track is published as
   * `microphone` and its video track as `camera` (see {@link RoomSession.publications}). A viewer
   * (no `publish` grant) sends none of it.
   */
  stream?: MediaStream;
  /** WebRTC implementation for Node (`@roamhq/wrtc`); browsers use their own. */
  wrtc?: WebRtcImplementation;
  /** WebSocket class for Node (`ws`); browsers use their own. Unused with `connection`. */
  WebSocket?: WebSocketConstructor;
  /** Local ICE candidates for which this returns false are not signaled (all are by default). */
  candidateFilter?: CandidateFilter;
  /**
   * `false` makes the participant publish-only: it sends what it publishes and asks the others
   * to send it nothing (`sendonly`/`inactive` in every description), so it decodes no media, e.g.
   * a camera peer. Defaults to `true`.
   */
  receiveMedia?: boolean;
  /**
   * Set when the camera and microphone will be published after joining (the element opens them
   * once admitted): the offers this side makes keep a camera and a microphone section for them
   * (senders with no track yet), so that one offer and answer per member set up media both ways
   * and the later `publish` needs no renegotiation. Off by default: a session that never
   * publishes them (a headless peer without media) would negotiate sections it does not use.
   */
  reserveUserMedia?: boolean;
  /** Bound on `join()`, from opening the socket to the `joined` acknowledgement; also bounds `resume`. */
  joinTimeoutMs?: number;
  /**
   * Signaling reconnect policy; `false` makes the first loss of the socket final (the session
   * closes with `signaling_closed`). Defaults to `DEFAULT_RECONNECT_POLICY`. Unused with `connection`.
   */
  reconnect?: ReconnectPolicy | false;
  /** Delay before the offering side rebuilds failed pair number `attempt` (1-based); defaults to {@link peerRebuildDelayMs}. */
  peerRebuildDelayMs?: (attempt: number) => number;
  /** `RTCConfiguration` fields besides `iceServers` for every peer, e.g. `{ iceTransportPolicy: "relay" }`. */
  rtcConfiguration?: RtcConfigurationExtras;
  /** How long ICE may stay `disconnected` before a pair counts as failed and is rebuilt. */
  iceDisconnectedTimeoutMs?: number;
  /**
   * This side's uplink video budget in kbit/s, divided among its video senders (one per peer and
   * video source; see `bandwidth.ts`). Defaults to the server's `joined.uplinkBudgetKbps`, else
   * `DEFAULT_UPLINK_BUDGET_KBPS`.
   */
  uplinkBudgetKbps?: number;
  /**
   * How often the remote peers' audio levels are read for the `levels` and `active-speaker`
   * events, in ms (one `getStats()` per peer each time); 0 turns it off. Defaults to
   * `AUDIO_LEVEL_INTERVAL_MS` (250).
   */
  audioLevelIntervalMs?: number;
  onListenerError?: ListenerErrorHandler;
}

/** A negotiation message the server relayed from a remote. */
type RoomSignalMessage = Extract<RoomMessage, { type: "send_offer" | "send_aswer" | "new_candidate" }>;

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
export const JOIN_TIMEOUT_MS = REQUEST_TIMEOUT_MS;

/** Everything the session holds for one remote: its peer and the unsubscribers of our listeners. */
interface PeerEntry {
  peer: MeshPeer;
  unsubscribe: Array<() => void>;
  /** Consecutive failures since the pair was last connected. */
  failures: number;
  rebuildTimer: ReturnType<typeof setTimeout> | undefined;
  /** A hidden participant's pair: kept out of `peers` and the peer events. */
  hidden: boolean;
}

/** The first `join()`, until `joined`: its promise and its overall deadline. */
interface PendingJoin {
  resolve: (info: JoinInfo) => void;
  reject: (error: RoomError) => void;
  timer: ReturnType<typeof setTimeout>;
}

/** Membership of one room with a full mesh of peer connections. */
export class RoomSession extends TypedEmitter<RoomSessionEvents> {
  readonly #options: RoomSessionOptions;
  readonly #connection: ServerConnection;
  /** True when the session opened the connection itself (and closes it when it leaves). */
  readonly #ownsConnection: boolean;
  readonly #entries = new Map<string, PeerEntry>();
  #state: RoomSessionState = RoomSessionState.idle;
  #info: JoinInfo | undefined;
  #pendingJoin: PendingJoin | undefined;
  /** The id this session had before it lost its place and started joining again as new. */
  #rejoiningFrom: string | undefined;
  #mediaState: MediaState | undefined;
  /** The ids the server's latest list names; an offer from anyone else comes from a hidden participant. */
  #listed = new Set<string>();
  /** Hosts: who waits in the lobby. */
  #lobby: Participant[] = [];
  /** True while `join()` waits in the room's lobby. */
  #waiting = false;
  /** Chat ids sent or received, so that a copy is not shown twice. */
  readonly #chatIds = new ChatIdMemory();
  readonly #publications: LocalPublications;
  readonly #bandwidth: VideoBandwidth;
  readonly #speakers: SpeakerDetector;
  readonly #screenShare: ScreenShare;
  readonly #unsubscribeConnection: Array<() => void>;

  constructor(options: RoomSessionOptions) {
    super(options.onListenerError);
    this.#options = options;
    this.#publications = new LocalPublications({
      createStream: () => new (options.wrtc?.MediaStream ?? globalThis.MediaStream)(),
      ...(options.stream ? { stream: options.stream } : {}),
    });
    this.#bandwidth = new VideoBandwidth({ budgetKbps: () => this.uplinkBudgetKbps, onFit: (fit) => this.emit("video-fit", { fit }) });
    this.#publications.attach(this.#bandwidth);
    this.#speakers = new SpeakerDetector({
      peers: () => this.peers.values(),
      intervalMs: options.audioLevelIntervalMs ?? AUDIO_LEVEL_INTERVAL_MS,
      onLevels: (levels) => this.emit("levels", { levels }),
      onActiveSpeaker: (peerId, previousId) => this.emit("active-speaker", { peerId, previousId }),
    });
    this.#screenShare = new ScreenShare({
      publications: this.#publications,
      ownId: () => this.id,
      onEnded: (reason, by) => this.emit("screen-share-ended", { reason, by }),
    });
    const chosen = sessionConnection(options, options.joinTimeoutMs ?? JOIN_TIMEOUT_MS, "RoomSession");
    this.#connection = chosen.connection;
    this.#ownsConnection = chosen.owned;
    const connection = this.#connection;
    this.#unsubscribeConnection = [
      connection.on("room", (message) => this.#onRoomMessage(message)),
      connection.on("error", ({ code, message }) => this.#report(code, message)),
      connection.on("reconnecting", ({ attempt, delayMs }) => this.#onReconnecting(attempt, delayMs)),
      connection.on("resumed", ({ id, previousId, room }) => this.#onResumed(id, previousId, room)),
      connection.on("restarted", ({ previousId }) => this.#reenter(reentryAfterRestart(this.#stay), previousId)),
      connection.on("ice-servers", ({ iceServers, expiresAtMs, origin }) => this.#onIceServers(iceServers, expiresAtMs, origin)),
      connection.on("close", (info) => this.#onConnectionClose(info)),
    ];
  }
  /** Current lifecycle state. */
  get state(): RoomSessionState {
    return this.#state;
  }

  /**
   * True while in the room: `joined`, and also `reconnecting`, because the server keeps the
   * participant through its grace window and the peers stay connected. Use
   * {@link RoomSession.isReconnecting} to tell the two apart.
   */
  get isJoined(): boolean {
    return this.#state === RoomSessionState.joined || this.#state === RoomSessionState.reconnecting;
  }

  /** True while the signaling connection is being re-established. */
  get isReconnecting(): boolean {
    return this.#state === RoomSessionState.reconnecting;
  }

  /** True once the session has ended; it cannot be joined again. */
  get closed(): boolean {
    return this.#state === RoomSessionState.closed;
  }

  /**
   * The tracks this participant sends, by source: `publish`, `unpublish` and `replace` work
   * before and after joining, on every pair at once (adding or removing a track renegotiates,
   * replacing does not); a rebuilt pair sends what is published at that moment.
   */
  get publications(): LocalPublications {
    return this.#publications;
  }

  /** The uplink video budget in kbit/s: the `uplinkBudgetKbps` option, else the server's, else the default. */
  get uplinkBudgetKbps(): number {
    return this.#options.uplinkBudgetKbps ?? this.#info?.uplinkBudgetKbps ?? DEFAULT_UPLINK_BUDGET_KBPS;
  }

  /** The last division of the uplink budget among the video senders (see the `video-fit` event). */
  get videoFit(): AppliedVideoFit | undefined {
    return this.#bandwidth.lastFit;
  }

  /** The remote peer that speaks now, or spoke last (see the `active-speaker` event). */
  get activeSpeakerId(): string | undefined {
    return this.#speakers.activeId;
  }

  /** What the server acknowledged, once joined. */
  get info(): JoinInfo | undefined {
    return this.#info;
  }

  /**
   * What the room lets this participant do, once joined: `publish` (without it the session is a
   * viewer: {@link RoomSession.publications} refuses with `not_allowed`), `data` (without it
   * `send()` and `broadcast()` throw `not_allowed`), `host` (may turn true later: open-mode
   * hand-over, see the `grants` event), `hidden`.
   */
  get grants(): RoomGrants | undefined {
    return this.#info?.grants;
  }

  /** The room's lock, password, lobby and hosts, once joined. */
  get roomState(): RoomState | undefined {
    return this.#info?.roomState;
  }

  /** Hosts: who waits in the lobby to be admitted or denied. */
  get lobby(): readonly Participant[] {
    return this.#lobby;
  }

  /** True while `join()` waits in the room's lobby for a host. */
  get isWaiting(): boolean {
    return this.#waiting;
  }

  /** This participant's id, once joined. It changes when the session has to join again as new. */
  get id(): string | undefined {
    return this.#info?.id;
  }

  /** The remote participants, by id: the client side of the room's `connectionList`. Hidden participants are not in it. */
  get peers(): ReadonlyMap<string, RemotePeer> {
    return new Map([...this.#entries].filter(([, entry]) => !entry.hidden).map(([id, entry]) => [id, entry.peer]));
  }

  /**
   * The ids of hidden participants this session is connected to: they offered without being in
   * the room's list. This side sends them its media like to anyone else (mesh media is peer to
   * peer); they get no tile and no event.
   */
  get hiddenPeerIds(): string[] {
    return [...this.#entries].filter(([, entry]) => entry.hidden).map(([id]) => id);
  }

  /**
   * Connects and joins the room. Resolves once the server acknowledged; the peers of members
   * already present are created right after. Rejects with a {@link RoomError} (`room_full`,
   * `join_timeout`, `signaling_unreachable`…) and closes the session on failure. Call once.
   */
  async join(): Promise<JoinInfo> {
    if (this.#state !== RoomSessionState.idle) {
      // A programming error, not a room condition: sessions are single-use.
      throw new Error(`join() called in state "${this.#state}"; create a new RoomSession to join again`);
    }
    this.#setState(RoomSessionState.joining);
    const joined = new Promise<JoinInfo>((resolve, reject) => {
      // The bound covers the whole join, reconnections included, not one `new_user`.
      const timeoutMs = this.#joinTimeoutMs;
      const timer = setTimeout(() => {
        this.#close(new RoomError("join_timeout", `no "joined" from ${this.#connection.url} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.#pendingJoin = { resolve, reject, timer };
    });
    try {
      await this.#connection.connect();
    } catch {
      // The connection's close event has already closed the session and rejected `joined`.
      return joined;
    }
    this.#requestJoin("join");
    return joined;
  }

  /**
   * Sends an application payload (a small JSON value) to one peer. Returns false when that peer
   * is unknown or not connected yet. Throws a {@link RoomError} `not_allowed` without the `data` grant.
   */
  send(peerId: string, data: unknown): boolean {
    this.#checkDataAllowed();
    return this.#entries.get(peerId)?.peer.send(data) ?? false;
  }

  /**
   * Sends an application payload to every connected peer (hidden ones included); returns how many
   * it was sent to. Throws a {@link RoomError} `not_allowed` without the `data` grant.
   */
  broadcast(data: unknown): number {
    this.#checkDataAllowed();
    let sent = 0;
    for (const { peer } of this.#entries.values()) {
      if (peer.send(data)) {
        sent += 1;
      }
    }
    return sent;
  }

  /**
   * Sends a chat message to every participant in the room, over each pair's data channel (the
   * server never sees it). A pair whose channel is not open yet (a newcomer still connecting, a
   * pair being rebuilt) gets it once the channel opens, up to `CHAT_OUTBOX_MAX_MESSAGES` per pair.
   * Returns the message as the others receive it, for this side's own view. Throws a
   * {@link RoomError}: `chat_too_long` above 2000 characters or 4 KiB of UTF-8, `chat_empty`,
   * `not_ready` before joining, `not_allowed` without the `data` grant.
   */
  sendChat(text: string): ChatMessage {
    this.#checkDataAllowed();
    const info = this.#info;
    if (!info || !this.isJoined) {
      throw new RoomError("not_ready", "not in the room");
    }
    const refusal = chatTextRefusal(text);
    if (refusal) {
      throw new RoomError(refusal.code, refusal.message);
    }
    const message = newChatChannelMessage(text);
    this.#chatIds.remember(message.id);
    for (const { peer } of this.#entries.values()) {
      peer.sendChat(message);
    }
    return { id: message.id, from: { id: info.id, username: info.username }, text, sentAtMs: message.sentAtMs, receivedAtMs: message.sentAtMs };
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

  // ---- host controls (refused `not_host` by the server, as an `error` event, unless this participant hosts the room) ----

  /** Hosts: locks (`true`) or unlocks the room; nobody but hosts joins a locked room. Answered by `room-state`. */
  lockRoom(locked: boolean): boolean {
    return this.#connection.configureRoom({ locked });
  }

  /** Hosts: sets the room password (1–128 characters), or clears it with `null`. Answered by `room-state`. */
  setRoomPassword(password: string | null): boolean {
    return this.#connection.configureRoom({ password });
  }

  /** Hosts: turns the lobby on (joiners wait to be admitted) or off. Answered by `room-state`. */
  setLobby(enabled: boolean): boolean {
    return this.#connection.configureRoom({ lobby: enabled });
  }

  /** Hosts: removes participant `id` from the room (or from the lobby); the others see it leave. */
  removeParticipant(id: string): boolean {
    return this.#connection.removeParticipant(id);
  }

  /** Hosts: asks participant `id` to stop sending `kind`; its client honours it (see the `mute-request` event). */
  muteParticipant(id: string, kind: MuteKind): boolean {
    return this.#connection.muteParticipant(id, kind);
  }

  /** Hosts: lets participant `id` in from the lobby (see {@link RoomSession.lobby}). */
  admit(id: string): boolean {
    return this.#connection.admitFromLobby(id);
  }

  /** Hosts: turns participant `id` away from the lobby. */
  deny(id: string): boolean {
    return this.#connection.denyFromLobby(id);
  }

  /**
   * Tells `peerId` how large this side shows its `source` video (camera by default), in device
   * pixels: the sender scales that stream down to it and spends the bits it saves on the others.
   * Kept and sent again after a rebuild. Returns false for an unknown peer or when it goes out on
   * connect rather than now.
   */
  setVideoHint(peerId: string, size: { width: number; height: number }, source: VideoSource = "camera"): boolean {
    const hint: VideoHint = { maxWidth: Math.max(1, Math.round(size.width)), maxHeight: Math.max(1, Math.round(size.height)) };
    return this.#entries.get(peerId)?.peer.sendVideoHint(source, hint) ?? false;
  }

  /** True while this participant shares its screen (see {@link RoomSession.shareScreen}). */
  get isSharingScreen(): boolean {
    return this.#screenShare.active;
  }

  /**
   * Shares a screen: `stream` (from `getDisplayMedia`) is published as `screen` (content hint
   * `detail`; the uplink budget weighs it above a camera) and, when it has audio, `screen-audio`.
   * The browser's own "Stop sharing" ends it for everyone; a newer share by someone else ends it
   * too (`screen-share-ended`). Throws `not_allowed` for a viewer.
   */
  shareScreen(stream: MediaStream): void {
    this.#screenShare.start(stream);
  }

  /** Stops sharing the screen and stops its capture. Returns false when nothing was shared. */
  stopScreenShare(): boolean {
    return this.#screenShare.stop();
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
   * Leaves the room: tells the server, closes every peer connection and the session's own
   * connection (a shared one stays open), and drops every listener. Safe to call twice and in any
   * state. While its own connection is reconnecting the server cannot be told; it lets the
   * participant go when the grace window ends. A shared connection tells it after the resume.
   */
  leave(): void {
    if (this.#state === RoomSessionState.closed) {
      return;
    }
    // The explicit leave makes the server tell the others at once, before the socket close lands.
    if (this.#state !== RoomSessionState.idle) {
      this.#connection.leaveRoom();
    }
    this.#close();
  }

  #checkDataAllowed(): void {
    if (this.#info?.grants.data === false) {
      throw new RoomError("not_allowed", "cannot send application data: this participant joined without the data grant");
    }
  }

  get #joinTimeoutMs(): number {
    return this.#options.joinTimeoutMs ?? JOIN_TIMEOUT_MS;
  }

  /** Where the stay stands, as the re-entry decisions see it. */
  get #stay(): RoomStay {
    if (this.#state === RoomSessionState.joining) {
      return "joining";
    }
    return this.isJoined ? "in_room" : "outside";
  }

  /**
   * Ends the session: rejects a pending `join()` with `joinError`, closes the connection and every
   * peer, emits the final `state` and drops every listener.
   */
  #close(joinError: RoomError = new RoomError("signaling_closed", "the session closed before it joined")): void {
    if (this.#state === RoomSessionState.closed) {
      return;
    }
    const pending = this.#pendingJoin;
    this.#pendingJoin = undefined;
    if (pending) {
      clearTimeout(pending.timer);
      pending.reject(joinError);
    }
    this.#rejoiningFrom = undefined;
    this.#waiting = false;
    this.#bandwidth.close();
    this.#speakers.stop();
    this.#screenShare.close();
    for (const unsubscribe of this.#unsubscribeConnection) {
      unsubscribe();
    }
    if (this.#ownsConnection) {
      this.#connection.close();
    }
    for (const id of [...this.#entries.keys()]) {
      this.#removePeer(id, "session_closed");
    }
    this.#setState(RoomSessionState.closed);
    this.removeAllListeners();
  }

  #onConnectionClose(info: SignalingCloseInfo): void {
    const detail = `code ${info.code}${info.reason ? `, ${info.reason}` : ""}`;
    if (!info.opened) {
      this.#close(new RoomError("signaling_unreachable", `cannot open ${this.#connection.url} (${detail})`));
      return;
    }
    if (this.isJoined) {
      this.#report("signaling_closed", `signaling connection closed for good (${detail})`);
    }
    this.#close(new RoomError("signaling_closed", `signaling socket closed before joining (${detail})`));
  }

  // ---- joining, and getting back in ----

  /** Sends `new_user`: the first one of `join()`, or the one of a re-entry after a drop. */
  #requestJoin(attempt: JoinAttempt): void {
    const options = this.#options;
    this.#connection.joinRoom(options.room, options.username, this.#joinTimeoutMs, {
      ...(options.token !== undefined ? { token: options.token } : {}),
      ...(options.password !== undefined ? { password: options.password } : {}),
      ...(options.account !== undefined ? { account: options.account } : {}),
      onWaiting: ({ room, id }) => this.#onWaiting(room, id),
    }).then(
      (joined) => this.#onJoined(attempt, joined),
      (error: unknown) => this.#onJoinFailed(attempt, error),
    );
  }

  /**
   * The room put this session in its lobby: the join's deadline no longer applies (a host may take
   * a while); it ends with admission, denial, or the session's own `leave()`.
   */
  #onWaiting(room: string, id: string): void {
    if (this.closed) {
      return;
    }
    clearTimeout(this.#pendingJoin?.timer);
    this.#waiting = true;
    this.emit("waiting", { room, id });
  }

  #onJoined(attempt: JoinAttempt, joined: JoinedMessage): void {
    const pending = this.#pendingJoin;
    const previousId = this.#rejoiningFrom;
    if (attempt === "join" ? pending === undefined : previousId === undefined) {
      // Settled meanwhile (closed, or its deadline passed).
      return;
    }
    const info: JoinInfo = {
      id: joined.id,
      room: joined.room,
      username: joined.username,
      iceServers: joined.iceServers,
      roomCapacity: joined.roomCapacity,
      resumeGraceMs: joined.resumeGraceMs,
      grants: joined.grants,
      roomState: joined.roomState,
      ...(joined.iceServersExpireAtMs !== undefined ? { iceServersExpireAtMs: joined.iceServersExpireAtMs } : {}),
      ...(joined.uplinkBudgetKbps !== undefined ? { uplinkBudgetKbps: joined.uplinkBudgetKbps } : {}),
    };
    this.#pendingJoin = undefined;
    this.#rejoiningFrom = undefined;
    this.#waiting = false;
    clearTimeout(pending?.timer);
    this.#info = info;
    this.#listed = new Set();
    if (!info.grants.publish) {
      // Before any peer exists (`connection_list` follows `joined`): no offer carries a track.
      this.#publications.forbid();
    }
    this.#setState(RoomSessionState.joined);
    if (this.#options.audioLevelIntervalMs !== 0) {
      this.#speakers.start();
    }
    if (pending) {
      pending.resolve(info);
    } else if (previousId !== undefined) {
      this.emit("reconnected", { id: info.id, previousId, resumed: false });
    }
  }

  #onJoinFailed(attempt: JoinAttempt, error: unknown): void {
    if (this.closed) {
      return;
    }
    const code = error instanceof WebRtcRoomError ? error.code : "signaling_closed";
    const message = error instanceof Error ? error.message : String(error);
    // What remains once interruptions and timeouts are handled is the server's refusal.
    const refusal: RoomErrorCode = error instanceof ServerRefusalError ? error.code : "signaling_closed";
    switch (actionOnJoinFailure(attempt, code)) {
      case "wait":
        return;
      case "close_join_timeout":
        this.#close(
          new RoomError(
            "join_timeout",
            attempt === "join" ? `no "joined" from ${this.#connection.url} within ${this.#joinTimeoutMs} ms` : `no "joined" within ${this.#joinTimeoutMs} ms after reconnecting`,
          ),
        );
        return;
      case "close":
        this.#close(new RoomError(refusal, message));
        return;
      case "report_and_close":
        // The room filled up (or the server refuses this client) while it was away: the stay is over.
        this.#report(refusal, message);
        this.#close(new RoomError(refusal, message));
        return;
    }
  }

  #onReconnecting(attempt: number, delayMs: number): void {
    if (this.#state === RoomSessionState.joined) {
      this.#setState(RoomSessionState.reconnecting);
    }
    this.emit("reconnecting", { attempt, delayMs });
  }

  /** The connection took its session back; `room` is what the server says of this session's room. */
  #onResumed(id: string, previousId: string, room: ResumedRoom | undefined): void {
    const action = reentryAfterResume(this.#stay, room !== undefined);
    if (action === "keep_present_peers" && room !== undefined) {
      this.#keepPresentPeers(id, previousId, room);
      return;
    }
    this.#reenter(action, previousId);
  }

  /** Carries out a re-entry decision that does not keep the peers. */
  #reenter(action: ReentryAction, previousId: string | undefined): void {
    switch (action) {
      case "resend_join":
        // The first `join()` is still pending (its deadline runs); just ask again.
        this.#requestJoin("join");
        return;
      case "rejoin_as_new":
        this.#rejoinAsNew(this.#info?.id ?? previousId ?? "");
        return;
      case "keep_present_peers":
      case "none":
        return;
    }
  }

  /**
   * The server took the participant back: keep every peer that is still in the room (their
   * connections never depended on the server) and drop the others. The connection lets the queued
   * signaling go right after this.
   */
  #keepPresentPeers(id: string, previousId: string, room: ResumedRoom): void {
    const info = this.#info;
    if (!info) {
      return;
    }
    this.#info = { ...info, id, room: room.room, username: room.username, grants: room.grants, roomState: room.roomState };
    this.#listed = new Set(room.list.map((participant) => participant.id));
    for (const absentId of absentPeers(this.#visiblePeerIds(), room.list)) {
      this.#removePeer(absentId, "left");
    }
    // Someone who joined meanwhile is not added here: its `connection_list` and offer were kept
    // for this participant and follow `resumed`.
    this.#setState(RoomSessionState.joined);
    this.emit("reconnected", { id, previousId, resumed: true });
  }

  /**
   * The old participant is lost (the connection discarded what was queued under its id): drop
   * every peer and join again as a newcomer, who offers to everyone present.
   */
  #rejoinAsNew(previousId: string): void {
    for (const id of [...this.#entries.keys()]) {
      this.#removePeer(id, "rejoined");
    }
    this.#rejoiningFrom = previousId;
    this.#requestJoin("rejoin");
  }

  // ---- ICE servers ----

  /** Fresh ICE servers from the connection: applied to every peer once in the room. */
  #onIceServers(iceServers: IceServer[], expiresAtMs: number | undefined, origin: IceServersOrigin): void {
    const info = this.#info;
    if (!info || !appliesIceServers(origin, this.isJoined)) {
      return;
    }
    const { iceServersExpireAtMs: _previous, ...rest } = info;
    this.#info = expiresAtMs === undefined ? { ...rest, iceServers } : { ...rest, iceServers, iceServersExpireAtMs: expiresAtMs };
    for (const { peer } of this.#entries.values()) {
      peer.setIceServers(iceServers);
    }
    this.emit("ice-servers", { iceServers, expiresAtMs });
  }

  // ---- room messages ----

  #onRoomMessage(message: RoomMessage | ServerErrorMessage): void {
    switch (message.type) {
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
      case "rest_connection_list":
        // The authoritative remaining list: drop anyone we still hold who is not on it. A hidden
        // participant is never on it; it goes with its own `close_connection`.
        this.#listed = new Set(message.list.map((participant) => participant.id));
        for (const id of absentPeers(this.#visiblePeerIds(), message.list)) {
          this.#removePeer(id, "left");
        }
        return;
      case "room_state": {
        const { type: _type, ...roomState } = message;
        this.#onRoomState(roomState);
        return;
      }
      case "lobby":
        this.#lobby = message.waiting;
        this.emit("lobby", { waiting: message.waiting });
        return;
      case "removed":
        this.emit("removed", { by: message.by });
        // The server has taken this participant out already: nothing to tell it.
        this.#close();
        return;
      case "mute_request":
        this.#honourMuteRequest(message.by, message.kind);
        return;
      case "lobby_waiting":
        // The answer to a `new_user` whose request is gone (timed out): nothing waits for it.
        return;
      case "error":
        this.#report(message.code, message.message);
        return;
      default:
        assertNever(message);
    }
  }

  /** Keeps the room state, and this participant's `host` grant in step with the hosts it names. */
  #onRoomState(roomState: RoomState): void {
    const info = this.#info;
    if (!info) {
      return;
    }
    const becameHost = !info.grants.host && roomState.hosts.includes(info.id);
    this.#info = { ...info, roomState, grants: becameHost ? { ...info.grants, host: true } : info.grants };
    this.emit("room-state", { roomState });
    if (becameHost) {
      this.emit("grants", { grants: this.#info.grants });
    }
  }

  /**
   * A host asked this side to stop sending `kind`: the camera or microphone track is disabled (it
   * stays published, so the user can turn it back on) and the media state announced, if it was.
   */
  #honourMuteRequest(by: string, kind: MuteKind): void {
    const sources: TrackSource[] = [];
    for (const publication of this.#publications.list()) {
      if (TRACK_SOURCE_GROUP[publication.source] === "user" && TRACK_SOURCE_KIND[publication.source] === kind) {
        publication.track.enabled = false;
        sources.push(publication.source);
      }
    }
    if (this.#mediaState) {
      this.setMediaState(kind === "audio" ? { ...this.#mediaState, audio: false } : { ...this.#mediaState, video: false });
    }
    this.emit("mute-request", { by, kind, sources });
  }

  /** An offer, answer or candidate from a remote. */
  #onSignal(message: RoomSignalMessage): void {
    let entry = this.#entries.get(message.id);
    if (message.type === "send_offer") {
      const target: OfferTarget =
        entry === undefined
          ? undefined
          : entry.peer.initiator
            ? { initiator: true }
            : { initiator: false, failed: entry.peer.state === PeerState.failed, offerKind: entry.peer.classifyOffer(message.sdp.sdp) };
      switch (actionOnOffer(target, this.#listed.has(message.id))) {
        case "ignore":
          return;
        case "answer_new_peer":
          entry = this.#addPeer({ id: message.id, username: message.username }, false);
          break;
        case "answer_hidden_peer":
          entry = this.#addPeer({ id: message.id, username: message.username }, false, true);
          break;
        case "rebuild_then_signal":
          entry?.peer.rebuild();
          break;
        case "signal":
          break;
      }
    }
    entry?.peer.signal(peerSignalOf(message));
  }

  /** `connection_list` goes to the whole room on every join; see {@link peersToAddOnConnectionList}. */
  #onConnectionList(newUserId: string, list: Participant[]): void {
    const info = this.#info;
    if (info === undefined) {
      return;
    }
    this.#listed = new Set(list.map((participant) => participant.id));
    for (const { participant, initiator } of peersToAddOnConnectionList(info.id, newUserId, list, new Set(this.#entries.keys()))) {
      this.#addPeer(participant, initiator);
    }
  }

  /** The ids of the pairs with participants the room's list shows. */
  #visiblePeerIds(): string[] {
    return [...this.#entries].filter(([, entry]) => !entry.hidden).map(([id]) => id);
  }

  // ---- peers ----

  /**
   * Creates the pair with `participant`. A `hidden` pair works like any other (this side's media
   * goes to it) but is not announced: no `peer-*` event names it, only errors do.
   */
  #addPeer(participant: Participant, initiator: boolean, hidden = false): PeerEntry | undefined {
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
      // A viewer adds no track, so its offers would carry no media section to receive in.
      ...(info.grants.publish ? {} : { offerOptions: { offerToReceiveAudio: true, offerToReceiveVideo: true } }),
      ...(options.reserveUserMedia ? { reserveUserMedia: true } : {}),
      ...(options.wrtc ? { wrtc: options.wrtc } : {}),
      ...(options.candidateFilter ? { candidateFilter: options.candidateFilter } : {}),
      ...(options.receiveMedia === false ? { receiveMedia: false } : {}),
      ...(options.rtcConfiguration ? { rtcConfiguration: options.rtcConfiguration } : {}),
      ...(options.iceDisconnectedTimeoutMs !== undefined ? { disconnectedTimeoutMs: options.iceDisconnectedTimeoutMs } : {}),
      ...(options.onListenerError ? { onListenerError: options.onListenerError } : {}),
    });
    const entry: PeerEntry = { peer, unsubscribe: [], failures: 0, rebuildTimer: undefined, hidden };
    /** Emits a peer event unless the pair is a hidden participant's. */
    const announce = <Name extends keyof RoomSessionEvents>(name: Name, payload: RoomSessionEvents[Name]): void => {
      if (!entry.hidden) {
        this.emit(name, payload);
      }
    };
    entry.unsubscribe = [
      peer.on("signal", (signal) => this.#sendSignal(peer.id, signal)),
      peer.on("state", ({ state, previous }) => {
        if (state === PeerState.connected) {
          entry.failures = 0;
          if (this.#mediaState) {
            peer.sendMediaState(this.#mediaState);
          }
        }
        announce("peer-state", { peer, state, previous });
        if (state === PeerState.failed) {
          this.#onPeerFailed(entry);
        }
      }),
      peer.on("stream", (stream) => announce("peer-stream", { peer, stream })),
      peer.on("publication", (publication) => announce("peer-track-published", { peer, ...publication })),
      peer.on("unpublication", ({ source }) => announce("peer-track-unpublished", { peer, source })),
      this.#publications.attach(peer),
      this.#bandwidth.add(peer),
      peer.on("sources", () => this.#screenShare.onRemoteSources(peer)),
      peer.on("data", (data) => announce("peer-data", { peer, data })),
      peer.on("media", (media) => announce("peer-media", { peer, media })),
      peer.on("chat", ({ id, text, sentAtMs }) => {
        if (this.#chatIds.remember(id)) {
          announce("chat-message", { id, from: { id: peer.id, username: peer.username }, text, sentAtMs, receivedAtMs: Date.now() });
        }
      }),
      peer.on("error", ({ code, message }) => this.#report(code, message, peer.id)),
    ];
    this.#entries.set(participant.id, entry);
    announce("peer-joined", { peer });
    return entry;
  }

  /** Hands a peer's offer, answer or candidate to the connection's typed sends. */
  #sendSignal(targetId: string, signal: PeerSignal): void {
    switch (signal.kind) {
      case "offer":
        this.#connection.sendOffer(targetId, { type: "offer", sdp: signal.sdp });
        return;
      case "answer":
        this.#connection.sendAnswer(targetId, { type: "answer", sdp: signal.sdp });
        return;
      case "candidate":
        this.#connection.sendCandidate(targetId, signal.candidate);
        return;
      default:
        assertNever(signal);
    }
  }

  /** One pair is down; see {@link actionOnPeerFailed}. */
  #onPeerFailed(entry: PeerEntry): void {
    if (actionOnPeerFailed({ initiator: entry.peer.initiator, rebuildScheduled: entry.rebuildTimer !== undefined }) !== "schedule_rebuild") {
      return;
    }
    entry.failures += 1;
    const delayMs = (this.#options.peerRebuildDelayMs ?? peerRebuildDelayMs)(entry.failures);
    entry.rebuildTimer = setTimeout(() => {
      entry.rebuildTimer = undefined;
      if (rebuildStillDue({ stillHeld: this.#entries.get(entry.peer.id) === entry, failed: entry.peer.state === PeerState.failed })) {
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
    if (!entry.hidden) {
      this.emit("peer-left", { peer: entry.peer, reason });
    }
  }

  #report(code: RoomErrorCode, message: string, peerId?: string): void {
    this.emit("error", peerId === undefined ? { code, message } : { code, message, peerId });
  }

  #setState(state: RoomSessionState): void {
    const previous = this.#state;
    if (previous === state) {
      return;
    }
    this.#state = state;
    this.emit("state", { state, previous });
  }
}

/** The former name of {@link RoomSession}, kept so that existing code keeps working. */
export const MeshSession = RoomSession;
/** The former name of {@link RoomSession}. */
export type MeshSession = RoomSession;
/** The former name of {@link RoomSessionState}. */
export const MeshSessionState = RoomSessionState;
/** The former name of {@link RoomSessionState}. */
export type MeshSessionState = RoomSessionState;
/** The former name of {@link RoomError}; `instanceof MeshError` and `instanceof RoomError` are the same test. */
export const MeshError = RoomError;
/** The former name of {@link RoomError}. */
export type MeshError = RoomError;
/** The former name of {@link RoomErrorCode}. */
export type MeshErrorCode = RoomErrorCode;
/** The former name of {@link RoomSessionEvents}. */
export type MeshSessionEvents = RoomSessionEvents;
/** The former name of {@link RoomSessionOptions}. */
export type MeshSessionOptions = RoomSessionOptions;
