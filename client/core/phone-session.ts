/**
 * A phone session: one logged-in user of the server-wide lobby (presence family) and its one-to-one
 * calls (call family), over the same signaling protocol as rooms.
 *
 * The session keeps the presence directory the server pushes and at most one call at a time, with
 * one {@link PeerLink} for it, the same link a room has per pair: connection bounds (an ICE
 * `disconnected` bound), a data channel, publications and renegotiation. Media is peer to peer (see
 * `docs/protocol-calls.md`): the caller's link produces the offer, which travels in `call.sdpOffer`;
 * the callee's link is created only when the user accepts, answers that offer, and the answer
 * travels in `incomingCallResponse.sdpAnswer` back to the caller's `callResponse accepted`. Every
 * later offer and answer of the accepted call (a track published or unpublished, an ICE restart)
 * travels in `callDescription`. Candidates, `usernameFragment` included, trickle through
 * `onIceCandidate` / `iceCandidate` from the first moment: the server holds them while the call
 * rings.
 *
 * The wire is the {@link ServerConnection}'s business, as for rooms: this session calls its typed
 * sends and reacts to its events, and never builds a wire message. The connection brings the
 * server's ICE servers (from `loginResponse`, with TURN credentials when the server has TURN) and
 * renews them before they expire. It may be shared with a room session (one socket, one resumable
 * session on the server). After a signaling blip the connection resumes the session: the login and
 * its call carry on (an accepted call's media never depended on the server; a ringing call keeps
 * ringing) and the directory is read again from the `presence` that follows. When the server lost
 * the session (grace window over, server restarted), the connection restarts: this session logs
 * in again, and a call it was in is reported ended ({@link CallEndReason.sessionLost}).
 *
 * Every login sends the reclaim key this user's previous login received (kept in a
 * {@link ReclaimKeyStore}): on an open-mode server it lets a reload or a second tab of the same
 * browser take an online login over, while anyone else naming that user id is refused
 * `user_online` (a {@link PhoneError} `login_rejected` whose `serverCode` says so).
 *
 * The server is the authority on outcomes (busy, timeout, missed calls); this side only mirrors
 * them in {@link CallState} and reports why each call ended as a {@link CallEnd}. Local streams
 * belong to the application: the session sends them but never stops their tracks.
 */
import {
  assertNever,
  type CallResponseValue,
  type CallServerMessage,
  type ErrorCode,
  type IceCandidate,
  type IceServer,
  type PresenceServerMessage,
  type PresenceUser,
  type SelfSetStatus,
  type StopReason,
  type Watcher,
} from "../../shared/protocol/index.ts";
import type { MediaState, TrackSource } from "../../shared/protocol/mesh.ts";
import { ChatIdMemory, chatTextRefusal, newChatChannelMessage, type ChatMessage } from "./chat.ts";
import { TypedEmitter, type ListenerErrorHandler } from "./emitter.ts";
import { WebRtcRoomError, type ClientErrorCode } from "./errors.ts";
import {
  ServerConnection,
  ServerRefusalError,
  sessionConnection,
  type ConnectionErrorCode,
  type LoginResponseMessage,
  type ServerErrorMessage,
  type SessionLogin,
} from "./server-connection.ts";
import {
  PeerLink,
  PeerState,
  type CandidateFilter,
  type PeerSignal,
  type RemotePublication,
  type RtcConfigurationExtras,
  type WebRtcImplementation,
} from "./peer-link.ts";
import { PhoneWatches, type PhoneWatch, type WatchEvents, type WatchRequest } from "./phone-watches.ts";
import { LocalPublications } from "./publications.ts";
import { defaultReclaimKeyStore, type ReclaimKeyStore } from "./reclaim-keys.ts";
import type { ReconnectPolicy } from "./reconnect.ts";
import type { SignalingCloseInfo, WebSocketConstructor } from "./signaling-client.ts";

/** How long `connect()` waits for `loginResponse` and the directory once the socket is open. */
export const LOGIN_TIMEOUT_MS = 10_000;

/**
 * How long a call survives its peer connection closing or failing before this side gives up with
 * `stop {reason: "exception"}`. When the other party hangs up, its data channel may close before
 * the server's `stopCommunication` arrives; the grace period lets the server's reason win.
 */
export const PEER_LOSS_GRACE_MS = 3_000;

/**
 * ICE servers used when the server hands out none (its accepted `loginResponse` has no
 * `iceServers`) and the embedder gave none either.
 */
export const DEFAULT_PHONE_ICE_SERVERS: readonly IceServer[] = [{ urls: "stun:stun.l.google.com:19302" }];

/** Lifecycle of a {@link PhoneSession}. Only moves forward; a session is one login. */
export const PhoneSessionState = {
  /** Created; `connect()` not called yet. */
  idle: "idle",
  /** Opening the socket, then waiting for `loginResponse` and the directory. */
  connecting: "connecting",
  /**
   * Logged in: the directory is live, calls can be placed and received. The session stays `ready`
   * through a signaling blip ({@link PhoneSession.isReconnecting}); what is sent meanwhile is
   * queued by the connection.
   */
  ready: "ready",
  /** Logged out, refused, replaced or cut off. Any call is over. */
  closed: "closed",
} as const;

/** A value of {@link PhoneSessionState}. */
export type PhoneSessionState = (typeof PhoneSessionState)[keyof typeof PhoneSessionState];

/** Which side placed the call. */
export type CallDirection = "outgoing" | "incoming";

/** Lifecycle of one call, on this side. Only moves forward. */
export const CallState = {
  /** Outgoing: the peer is producing the SDP offer; nothing sent yet. */
  dialing: "dialing",
  /** Outgoing: `call` sent, waiting for the answer. Incoming: being rung, waiting for the user. */
  ringing: "ringing",
  /** Incoming: the user accepted; the answer is being produced and sent. */
  answering: "answering",
  /** Accepted on both sides; the peer connection is being established. */
  connecting: "connecting",
  /** The peer connection is up (data channel open). */
  active: "active",
  /** Over; see {@link PhoneCall.end}. */
  ended: "ended",
} as const;

/** A value of {@link CallState}. */
export type CallState = (typeof CallState)[keyof typeof CallState];

/** Why a call ended. Each maps to one wire outcome of the call family (see `docs/protocol-calls.md`). */
export const CallEndReason = {
  /** The caller gave up before the answer (`stopCall`); the callee's missed call. */
  cancelled: "cancelled",
  /** The callee said no (`callResponse rejected`). */
  rejected: "rejected",
  /** Nobody answered within the server's ring timeout (`NotResponse` / `incomingCallNotResponse`). */
  noAnswer: "no_answer",
  /** The callee is offline or unknown, or its connection closed while ringing (`notOnline`). */
  notOnline: "not_online",
  /** The callee is in another call or being rung (`inCalling`), or both called each other at once. */
  busy: "busy",
  /** The callee accepted but could not set up media (`callResponse exception`). */
  exception: "exception",
  /** An accepted call was hung up normally (`stop` / `stopCommunication normal`). */
  hangUp: "hang_up",
  /** The media failed: a peer connection error on this side, or `stopCommunication exception`. */
  mediaFailed: "media_failed",
  /** A signaling connection closed: the other party's (`stopCommunication disconnected`) or this one's. */
  disconnected: "disconnected",
  /** A user id was taken over by a newer login: the other party's (`replaced`) or this one's (`loggedOut`). */
  replaced: "replaced",
  /** The server refused a call message (`error`, see {@link CallEnd.code}). */
  refused: "refused",
  /**
   * This side's signaling connection was away longer than the server keeps a login (its grace
   * window, or the server restarted): the server ended the login and its call, and the session
   * logged in again.
   */
  sessionLost: "session_lost",
} as const;

/** A value of {@link CallEndReason}. */
export type CallEndReason = (typeof CallEndReason)[keyof typeof CallEndReason];

/** How a call ended. */
export interface CallEnd {
  reason: CallEndReason;
  /** True when this side caused it: its user hung up, cancelled or rejected, or its media or connection failed. */
  byLocal: boolean;
  /** The server's error code, with `refused`. */
  code?: ErrorCode;
  /** Human-readable detail; do not match on it. */
  message?: string;
}

/** The other party of a call. */
export interface CallParty {
  userID: string;
  username: string;
  avatar: string | undefined;
}

/** What the application may read about a call. The session mutates it; listeners get the same object. */
export interface PhoneCall {
  readonly direction: CallDirection;
  readonly remote: CallParty;
  /** The server's call id; known for incoming calls only (the caller is never told). */
  readonly callId: string | undefined;
  readonly state: CallState;
  /** True while the peer connection is up. */
  readonly isActive: boolean;
  /** True once the call is over. */
  readonly ended: boolean;
  /** Why it ended, once it has. */
  readonly end: CallEnd | undefined;
  /** What this side sends, as passed to `call()` or `accept()`. */
  readonly localStream: MediaStream | undefined;
  /**
   * The tracks this side sends, by source, once the call was placed or accepted (`localStream`'s
   * tracks are `camera` and `microphone`). Publishing or unpublishing during the accepted call
   * renegotiates through `callDescription`; `replace()` swaps a track without renegotiating.
   */
  readonly publications: LocalPublications | undefined;
  /** The other party's camera/microphone stream, once it arrived. */
  readonly remoteStream: MediaStream | undefined;
  /** The call's `RTCPeerConnection` (for `getStats()`), while the call has one. */
  readonly peerConnection: RTCPeerConnection | undefined;
  /** Whether the other party's microphone and camera are on, as it last announced (none yet: assume on). */
  readonly remoteMedia: MediaState | undefined;
  /**
   * True while an accepted call's peer connection is lost and the session waits
   * {@link PEER_LOSS_GRACE_MS} for it (or for the server's word) before ending the call.
   */
  readonly reconnecting: boolean;
}

/** A call this user did not pick up: the caller cancelled or the ring timed out. */
export interface MissedCall {
  callId: string;
  callerID: string;
  username: string;
  avatar: string | undefined;
  reason: "cancelled" | "no_answer";
  /** `Date.now()` when the server reported it. */
  atMs: number;
}

/** Who this session logged in as. */
export interface PhoneLogin {
  userID: string;
  username: string;
  avatar?: string;
}

/** Codes of a {@link PhoneError}, explained in `CLIENT_ERROR_CODES` (`errors.ts`). */
export type PhoneErrorCode = Extract<
  ClientErrorCode,
  "login_rejected" | "login_timeout" | "signaling_unreachable" | "not_ready" | "call_in_progress" | "self_call" | "no_incoming_call" | "chat_too_long" | "chat_empty"
>;

/** An error with a stable code; `connect()` rejects with one and misuse of the API throws one. */
export class PhoneError extends WebRtcRoomError<PhoneErrorCode> {
  override name = "PhoneError";
  /** The server's code, with `login_rejected`. */
  readonly serverCode: ErrorCode | undefined;

  constructor(code: PhoneErrorCode, message: string, serverCode?: ErrorCode) {
    super(code, message);
    this.serverCode = serverCode;
  }
}

/**
 * Codes of a phone session's `error` event: the server's, the connection's, `peer_error`, and
 * `login_rejected` / `login_timeout` when logging in again after a lost session failed (the
 * session closes next).
 */
export type PhoneEventErrorCode = ErrorCode | ConnectionErrorCode | Extract<ClientErrorCode, "peer_error" | "login_rejected" | "login_timeout">;

/** Why a session closed. */
export interface PhoneCloseInfo extends SignalingCloseInfo {
  /** True when another connection logged in with this user id (close code 4003). */
  replaced: boolean;
}

/**
 * What a watched user sends its watchers: a stream, or a function giving one when a watch starts
 * (e.g. opening the camera then). None, or a function giving none, ends each watch `media_failed`.
 */
export type WatchStreamSource = MediaStream | (() => MediaStream | undefined | Promise<MediaStream | undefined>);

/** Events of a {@link PhoneSession}: its own, and those of its watches ({@link WatchEvents}). */
export type PhoneSessionEvents = WatchEvents & {
  state: { state: PhoneSessionState; previous: PhoneSessionState };
  /** The whole directory, in login order, this user included: after the login and after every change. */
  directory: { users: readonly PresenceUser[] };
  /** A user came online (`previous` undefined) or its entry changed. This user's own entry included. */
  "user-updated": { user: PresenceUser; previous: PresenceUser | undefined };
  /** A user went offline. */
  "user-left": { userID: string };
  /** Someone is ringing: show accept / reject. The call is also `currentCall`. */
  "incoming-call": PhoneCall;
  /** A call moved to `state` (`previous` undefined for a new call). */
  "call-state": { call: PhoneCall; state: CallState; previous: CallState | undefined };
  /** The other party's camera/microphone stream arrived. */
  "remote-stream": { call: PhoneCall; stream: MediaStream };
  /** A track of the other party's `source` arrived (or replaced the one before). */
  "remote-track-published": { call: PhoneCall } & RemotePublication;
  /** The other party stopped publishing `source`. */
  "remote-track-unpublished": { call: PhoneCall; source: TrackSource };
  /** An application payload from the other party's `send()`, over the call's data channel. */
  "call-data": { call: PhoneCall; data: unknown };
  /** A chat message from the other party, over the call's data channel (once per id). */
  "chat-message": { call: PhoneCall; message: ChatMessage };
  /** The other party announced whether its microphone and camera are on (`call.remoteMedia`). */
  "remote-media": { call: PhoneCall; media: MediaState };
  /**
   * The accepted call's peer connection failed or closed: `call.reconnecting` is true until the
   * call ends, {@link PEER_LOSS_GRACE_MS} later or sooner with the server's reason.
   */
  "call-connection-lost": { call: PhoneCall };
  /** New ICE servers (fresh TURN credentials) were applied to the call in progress and to the next ones. */
  "ice-servers": { iceServers: IceServer[]; expiresAtMs: number | undefined };
  /** A call is over; `end` says why. Emitted after its `call-state` `ended`. */
  "call-ended": { call: PhoneCall; end: CallEnd };
  /** A ring this user did not pick up. Emitted after the call's `call-ended`. */
  "missed-call": MissedCall;
  /** Another connection logged in with this user id; the session closes next. */
  "logged-out": { reason: "replaced" };
  /**
   * The signaling socket was lost and attempt `attempt` starts in `delayMs` (once per attempt). The
   * session stays `ready` and a call's media keeps flowing; what is sent meanwhile is queued.
   */
  reconnecting: { attempt: number; delayMs: number };
  /**
   * The login is back: `resumed` (the server kept it, with its call; nobody noticed), or logged in
   * again (`resumed: false`: the server had ended it, and a call in progress was reported ended
   * with {@link CallEndReason.sessionLost}). The directory follows either way.
   */
  reconnected: { resumed: boolean };
  /**
   * Something went wrong that ends nothing by itself: an unexpected server error, a peer error,
   * signaling messages dropped while reconnecting, a resume that got no answer.
   */
  error: { code: PhoneEventErrorCode; message: string };
  /** Emitted once when the session is over; listeners are dropped after it. */
  close: PhoneCloseInfo;
};

/** Options of a {@link PhoneSession}. */
export interface PhoneSessionOptions {
  /** `ws://` or `wss://` URL of the server's `/ws` endpoint; not needed with `connection`. */
  url?: string;
  /**
   * A server connection to log in on, shared with a room session, say (one socket and one
   * resumable session for both). Without it the session opens its own with `url`, `WebSocket` and
   * `reconnect`. A shared connection is the caller's: `close()` hangs up and stops listening but
   * leaves it open, and the login lasts until the connection closes (the protocol has no logout).
   */
  connection?: ServerConnection;
  /** The id to log in with (trimmed by the server; 1–64 printable characters). */
  userID: string;
  /** Display name; the server defaults it to the user id. */
  username?: string;
  /**
   * Avatar image: a same-origin `/path`, or an `https://` URL on the server's own host or on a host
   * the server allows (`--avatar-hosts`); anything else makes the login fail (`avatar_not_allowed`,
   * or `bad_message` for `http:` and other schemes).
   */
  avatar?: string;
  /**
   * ICE servers for when the server hands out none; defaults to {@link DEFAULT_PHONE_ICE_SERVERS}.
   * The servers (with TURN credentials) in the server's `loginResponse` take precedence.
   */
  iceServers?: readonly IceServer[];
  /** WebSocket class; defaults to `globalThis.WebSocket` (pass `ws` in Node). Unused with `connection`. */
  WebSocket?: WebSocketConstructor;
  /**
   * Signaling reconnect policy of the session's own connection; `false` makes the first loss of
   * the socket final (the session closes, and a call ends `disconnected`). Defaults to
   * `DEFAULT_RECONNECT_POLICY`. Unused with `connection`.
   */
  reconnect?: ReconnectPolicy | false;
  /** WebRTC implementation; defaults to the browser's (pass `@roamhq/wrtc` in Node). */
  wrtc?: WebRtcImplementation;
  /** Local ICE candidates for which this returns false are not sent. */
  candidateFilter?: CandidateFilter;
  /** `RTCConfiguration` fields besides `iceServers` for every call, e.g. `{ iceTransportPolicy: "relay" }`. */
  rtcConfiguration?: RtcConfigurationExtras;
  /** How long ICE may stay `disconnected` before the call's connection counts as failed; defaults to rooms' bound. */
  iceDisconnectedTimeoutMs?: number;
  /** Bound on the login, and on `resume` for the session's own connection; defaults to {@link LOGIN_TIMEOUT_MS}. */
  loginTimeoutMs?: number;
  /**
   * Where the reclaim key of each login is kept and read back, so that a later session of this
   * user (a reload, another tab) takes the login over on an open-mode server while a stranger is
   * refused `user_online`. Defaults to {@link defaultReclaimKeyStore}: `localStorage` in a browser
   * that allows it, memory otherwise (shared by the sessions of one page or process).
   */
  reclaimKeys?: ReclaimKeyStore;
  /** Defaults to {@link PEER_LOSS_GRACE_MS}. */
  peerLossGraceMs?: number;
  /** What this user's watchers receive; see {@link WatchStreamSource} and `setWatchStream()`. */
  watchStream?: WatchStreamSource;
  /** True logs in as a device (a camera) that anyone may watch without being asked (open mode). */
  device?: boolean;
  /**
   * The login token of a token-mode server (docs/security.md): the user id, name, avatar and the
   * `device` grant then come from it. A login made again after a lost session sends it again, so
   * it must still be valid then.
   */
  loginToken?: string;
  /**
   * The account password of a server running with accounts (`login.password`): `userID` is then
   * the account. Kept in memory for a login made again after a lost session, never stored.
   */
  password?: string;
  onListenerError?: ListenerErrorHandler;
}

/** The session's own record of a call: the public view plus what only the session touches. */
class CallRecord implements PhoneCall {
  readonly direction: CallDirection;
  readonly remote: CallParty;
  readonly callId: string | undefined;
  state: CallState;
  end: CallEnd | undefined;
  localStream: MediaStream | undefined;
  publications: LocalPublications | undefined;
  remoteStream: MediaStream | undefined;
  remoteMedia: MediaState | undefined;
  /** Incoming only: the caller's SDP offer. */
  readonly offerSdp: string | undefined;
  link: PeerLink | undefined;
  /** Removes the session's listeners from the link and detaches it from the publications. */
  unsubscribeLink: Array<() => void> = [];
  /** True once this side's SDP went out (`call` or the accepted `incomingCallResponse`). */
  sdpSent = false;
  /** Local candidates produced before the SDP went out; sent right after it. */
  queuedCandidates: IceCandidate[] = [];
  lossTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(direction: CallDirection, remote: CallParty, state: CallState, callId?: string, offerSdp?: string) {
    this.direction = direction;
    this.remote = remote;
    this.state = state;
    this.callId = callId;
    this.offerSdp = offerSdp;
  }

  get isActive(): boolean {
    return this.state === CallState.active;
  }

  get reconnecting(): boolean {
    return this.lossTimer !== undefined;
  }

  get ended(): boolean {
    return this.state === CallState.ended;
  }

  get peerConnection(): RTCPeerConnection | undefined {
    return this.link?.peerConnection;
  }

  /** True once both sides agreed on the call: later descriptions travel in `callDescription`. */
  get accepted(): boolean {
    return this.state === CallState.connecting || this.state === CallState.active || (this.state === CallState.answering && this.sdpSent);
  }
}

/** Error code the server uses for a message that needs a call the sender is not in. */
const NOT_IN_CALL: ErrorCode = "not_in_call";

/** One logged-in user: the live directory and at most one call at a time. */
export class PhoneSession extends TypedEmitter<PhoneSessionEvents> {
  readonly url: string;
  readonly #options: PhoneSessionOptions;
  readonly #connection: ServerConnection;
  /** True when the session opened the connection itself (and closes it with itself). */
  readonly #ownsConnection: boolean;
  #unsubscribeConnection: Array<() => void> = [];
  /** The server's ICE servers once logged in (when it hands any out), else the embedder's or the default. */
  #iceServers: IceServer[];
  #state: PhoneSessionState = PhoneSessionState.idle;
  #login: PhoneLogin | undefined;
  /**
   * Which login waits for its directory: the first one (`connect()`), or one made again after the
   * server lost the session; `undefined` once the directory after it arrived.
   */
  #loggingIn: "first" | "again" | undefined;
  /** user id → entry, in login order. */
  readonly #directory = new Map<string, PresenceUser>();
  #call: CallRecord | undefined;
  readonly #missed: MissedCall[] = [];
  #replaced = false;
  /** Settles the promise of `connect()`; set only while logging in. */
  #settleLogin: ((error?: PhoneError) => void) | undefined;
  readonly #watches: PhoneWatches;
  #watchStream: WatchStreamSource | undefined;
  /** What `setMediaState()` announced last; sent again to each call once its link is up. */
  #mediaState: MediaState | undefined;
  /** Chat ids sent or received, so that a copy is not shown twice. */
  readonly #chatIds = new ChatIdMemory();

  constructor(options: PhoneSessionOptions) {
    super(options.onListenerError);
    this.#options = options;
    this.#iceServers = [...(options.iceServers ?? DEFAULT_PHONE_ICE_SERVERS)];
    const chosen = sessionConnection(options, options.loginTimeoutMs ?? LOGIN_TIMEOUT_MS, "PhoneSession");
    this.#connection = chosen.connection;
    this.#ownsConnection = chosen.owned;
    this.url = this.#connection.url;
    this.#watchStream = options.watchStream;
    this.#watches = new PhoneWatches({
      connection: this.#connection,
      iceServers: () => this.#iceServers,
      watchStream: () => (typeof this.#watchStream === "function" ? this.#watchStream() : this.#watchStream),
      userOf: (userID) => this.#directory.get(userID),
      // WatchEvents is a part of PhoneSessionEvents, which TypeScript cannot see through the generic.
      emit: (name, payload) => this.emit(name, payload as PhoneSessionEvents[typeof name]),
      peerError: (message) => this.emit("error", { code: "peer_error", message }),
      peerLossGraceMs: options.peerLossGraceMs ?? PEER_LOSS_GRACE_MS,
      ...(options.wrtc ? { wrtc: options.wrtc } : {}),
      ...(options.candidateFilter ? { candidateFilter: options.candidateFilter } : {}),
      ...(options.rtcConfiguration ? { rtcConfiguration: options.rtcConfiguration } : {}),
      ...(options.iceDisconnectedTimeoutMs !== undefined ? { iceDisconnectedTimeoutMs: options.iceDisconnectedTimeoutMs } : {}),
      ...(options.onListenerError ? { onListenerError: options.onListenerError } : {}),
    });
  }

  /** Current lifecycle state. */
  get state(): PhoneSessionState {
    return this.#state;
  }

  /** True while logged in. */
  get isReady(): boolean {
    return this.#state === PhoneSessionState.ready;
  }

  /** True once the session is over for good. */
  get closed(): boolean {
    return this.#state === PhoneSessionState.closed;
  }

  /**
   * True while logged in but the signaling socket is lost: the login and its call wait on the
   * server for the connection to resume them; what is sent meanwhile is queued.
   */
  get isReconnecting(): boolean {
    return this.isReady && this.#connection.isReconnecting;
  }

  /** The server connection this session logs in on (its own, or the one passed in the options). */
  get connection(): ServerConnection {
    return this.#connection;
  }

  /** Who this session logged in as, once it has. */
  get login(): PhoneLogin | undefined {
    return this.#login;
  }

  /** Every online user in login order, this user included. */
  get users(): readonly PresenceUser[] {
    return [...this.#directory.values()];
  }

  /** This user's own directory entry (its status as the server sees it), once logged in. */
  get self(): PresenceUser | undefined {
    return this.#login ? this.#directory.get(this.#login.userID) : undefined;
  }

  /** The call in progress, if any (ringing, being set up or active). */
  get currentCall(): PhoneCall | undefined {
    return this.#call;
  }

  /** Missed calls since the login, oldest first. */
  get missedCalls(): readonly MissedCall[] {
    return [...this.#missed];
  }

  /** Every watch in progress: this user watching others (requests included) and others watching it. */
  get watches(): readonly PhoneWatch[] {
    return this.#watches.watches;
  }

  /** Who is watching this user now. */
  get watchers(): readonly Watcher[] {
    return this.#watches.watchers;
  }

  /** Requests to watch this user that wait for its answer. */
  get watchRequests(): readonly WatchRequest[] {
    return this.#watches.requests;
  }

  /** The directory entry of `userID`, when it is online. */
  user(userID: string): PresenceUser | undefined {
    return this.#directory.get(userID);
  }

  /** True when `call(userID)` would ring: logged in, no call here, and `userID` is another user who is `online`. */
  canCall(userID: string): boolean {
    return this.isReady && this.#call === undefined && userID !== this.#login?.userID && this.#directory.get(userID)?.status === "online";
  }

  /**
   * Sends a chat message to the other party of the call in progress, over the call's data channel
   * (the server never sees it); sent once the channel opens when the call is not connected yet.
   * Returns the message as the other party receives it, for this side's own view. Throws a
   * {@link PhoneError}: `chat_too_long` above 2000 characters or 4 KiB of UTF-8, `chat_empty`, or
   * `not_ready` without a call placed or accepted.
   */
  sendChat(text: string): ChatMessage {
    const call = this.#call;
    const login = this.#login;
    if (!call?.link || !login) {
      throw new PhoneError("not_ready", "sendChat() needs a call placed or accepted");
    }
    const refusal = chatTextRefusal(text);
    if (refusal) {
      throw new PhoneError(refusal.code, refusal.message);
    }
    const message = newChatChannelMessage(text);
    this.#chatIds.remember(message.id);
    call.link.sendChat(message);
    return { id: message.id, from: { id: login.userID, username: login.username }, text, sentAtMs: message.sentAtMs, receivedAtMs: message.sentAtMs };
  }

  /**
   * Announces whether this side's microphone and camera are on, to the call in progress now and to
   * every later call once its connection is up (the other side's `remote-media`). Muting itself is
   * `track.enabled = false` on the stream.
   */
  setMediaState(state: MediaState): void {
    this.#mediaState = { audio: state.audio, video: state.video };
    this.#call?.link?.sendMediaState(this.#mediaState);
  }

  /**
   * Opens the socket and logs in. Resolves once the server accepted the login and sent the
   * directory; rejects with a {@link PhoneError} (and closes the session) otherwise. Call once.
   */
  async connect(): Promise<PhoneLogin> {
    if (this.#state !== PhoneSessionState.idle) {
      throw new PhoneError("not_ready", `connect() called in state "${this.#state}"`);
    }
    this.#setState(PhoneSessionState.connecting);
    this.#listen();
    const loggedIn = new Promise<void>((resolve, reject) => {
      this.#settleLogin = (error) => {
        this.#settleLogin = undefined;
        if (error) {
          reject(error);
        } else {
          resolve();
        }
      };
    });
    // Observed here so that a failure before the await below is never reported as unhandled.
    loggedIn.catch(() => undefined);
    const timeoutMs = this.#loginTimeoutMs;
    const timer = setTimeout(() => this.#settleLogin?.(new PhoneError("login_timeout", `no login answer within ${timeoutMs} ms`)), timeoutMs);
    try {
      await this.#connection.connect();
      this.#requestLogin("first");
    } catch (error) {
      this.#settleLogin?.(new PhoneError("signaling_unreachable", error instanceof Error ? error.message : String(error)));
    }
    try {
      await loggedIn;
    } catch (error) {
      this.close();
      throw error;
    } finally {
      clearTimeout(timer);
    }
    if (!this.#login) {
      throw new PhoneError("signaling_unreachable", "the session closed during the login");
    }
    return this.#login;
  }

  /**
   * Calls `userID`, sending `localStream` (none: receive only). Returns the call at once, in state
   * `dialing`; follow it with `call-state` and `call-ended`. The server answers busy users and
   * offline users with an ended call, not with an exception. Throws a {@link PhoneError} when not
   * logged in, when a call is already in progress, or for one's own id.
   */
  call(userID: string, localStream?: MediaStream): PhoneCall {
    if (!this.isReady || !this.#login) {
      throw new PhoneError("not_ready", "call() needs a logged-in session");
    }
    if (this.#call) {
      throw new PhoneError("call_in_progress", "a call is already in progress; hang up first");
    }
    const calleeID = userID.trim();
    if (calleeID === this.#login.userID) {
      throw new PhoneError("self_call", "a user cannot call itself");
    }
    const entry = this.#directory.get(calleeID);
    const call = new CallRecord("outgoing", { userID: calleeID, username: entry?.username ?? calleeID, avatar: entry?.avatar }, CallState.dialing);
    call.localStream = localStream;
    this.#call = call;
    this.emit("call-state", { call, state: call.state, previous: undefined });
    this.#createLink(call, true);
    return call;
  }

  /**
   * Asks to watch `userID`'s camera, one way: this side sends no media. Returns the watch at once,
   * in state `requesting`; follow it with `watch-started`, `watch-stream` (the camera) and
   * `watch-ended` (`denied`, `offline`, `timeout`, `refused`…). Independent of calls: a call in
   * progress on either side does not stop it. Throws a {@link PhoneError} when not logged in, or
   * for one's own id.
   */
  watch(userID: string): PhoneWatch {
    if (!this.isReady || !this.#login) {
      throw new PhoneError("not_ready", "watch() needs a logged-in session");
    }
    const watchedID = userID.trim();
    if (watchedID === this.#login.userID) {
      throw new PhoneError("self_call", "a user cannot watch itself");
    }
    return this.#watches.watch(watchedID);
  }

  /**
   * Lets `userID` (or everyone, `"*"`) watch this user from now on without being asked
   * (`allow: true`), or asks again (`false`). Resolves once the server applied it; it keeps it for
   * this login (a login made again after a lost session must allow again). Running watches are
   * not touched. Rejects when not logged in, while the socket is away, or when the server refuses
   * (`allow_list_full`).
   */
  async allowWatching(userID: string, allow: boolean): Promise<void> {
    if (!this.isReady) {
      throw new PhoneError("not_ready", "allowWatching() needs a logged-in session");
    }
    await this.#connection.allowWatching(userID.trim(), allow, this.#loginTimeoutMs);
  }

  /**
   * Says whether this user is available: `unavailable` (a camera whose source is down: rung by
   * nobody, still watchable) or `online` again. Everyone's directory shows it. Refused by the
   * server (an `error` event, `invalid_state`) during a call, whose statuses are the server's.
   * False when not logged in or the socket is away (the login keeps its former status then).
   */
  setStatus(status: SelfSetStatus): boolean {
    return this.isReady && this.#connection.setStatus(status);
  }

  /** Ends the watch `watchId`, whichever side this user is; false when there is none. */
  stopWatching(watchId: string): boolean {
    return this.#watches.stop(watchId);
  }

  /** Sets what watches that start from now on send (running ones keep their stream). */
  setWatchStream(source: WatchStreamSource | undefined): void {
    this.#watchStream = source;
  }

  /**
   * Accepts the ringing call, sending `localStream` (none: receive only). The call moves to
   * `answering`, then `connecting` once the server confirms, then `active`. Throws a
   * {@link PhoneError} when no incoming call is ringing.
   */
  accept(localStream?: MediaStream): void {
    const call = this.#call;
    if (!call || call.direction !== "incoming" || call.state !== CallState.ringing) {
      throw new PhoneError("no_incoming_call", "accept() needs an incoming call that is ringing");
    }
    call.localStream = localStream;
    this.#setCallState(call, CallState.answering);
    this.#createLink(call, false).signal({ kind: "offer", sdp: call.offerSdp ?? "" });
  }

  /**
   * Sends an application payload (any JSON value) to the other party over the call's data
   * channel. Returns false when no call is connected. Throws a `RangeError` above 16 KiB.
   */
  send(data: unknown): boolean {
    return this.#call?.link?.send(data) ?? false;
  }

  /**
   * Restarts ICE in the call in progress (new candidates, new TURN allocations with the current
   * ICE servers); the new offer travels in `callDescription`. Only the caller's side offers, so
   * this returns false on the callee's side, and without an accepted call.
   */
  restartIce(): boolean {
    const call = this.#call;
    return call !== undefined && call.accepted && (call.link?.restartIce() ?? false);
  }

  /** Turns the ringing incoming call down. Returns false when there is none. */
  reject(): boolean {
    const call = this.#call;
    if (!call || call.direction !== "incoming" || (call.state !== CallState.ringing && call.state !== CallState.answering)) {
      return false;
    }
    this.hangUp();
    return true;
  }

  /** Gives up the outgoing call before it is answered. Returns false when there is none. */
  cancel(): boolean {
    const call = this.#call;
    if (!call || call.direction !== "outgoing" || (call.state !== CallState.dialing && call.state !== CallState.ringing)) {
      return false;
    }
    this.hangUp();
    return true;
  }

  /**
   * Ends the current call whatever its state: cancels an outgoing ring, rejects an incoming one,
   * hangs up an accepted call. Does nothing without a call.
   */
  hangUp(): void {
    const call = this.#call;
    if (!call) {
      return;
    }
    switch (call.state) {
      case CallState.dialing:
        this.#endCall(call, { reason: CallEndReason.cancelled, byLocal: true });
        return;
      case CallState.ringing:
        if (call.direction === "outgoing") {
          this.#connection.cancelCall();
          this.#endCall(call, { reason: CallEndReason.cancelled, byLocal: true });
        } else {
          this.#answerRing(call, "rejected");
          this.#endCall(call, { reason: CallEndReason.rejected, byLocal: true });
        }
        return;
      case CallState.answering:
        if (call.sdpSent) {
          // The acceptance may already be recorded: `stop` ends it either way (rejected while
          // ringing, stopCommunication normal once accepted).
          this.#connection.hangUp();
          this.#endCall(call, { reason: CallEndReason.hangUp, byLocal: true });
        } else {
          this.#answerRing(call, "rejected");
          this.#endCall(call, { reason: CallEndReason.rejected, byLocal: true });
        }
        return;
      case CallState.connecting:
      case CallState.active:
        this.#connection.hangUp("normal");
        this.#endCall(call, { reason: CallEndReason.hangUp, byLocal: true });
        return;
      case CallState.ended:
        return;
      default:
        assertNever(call.state);
    }
  }

  /**
   * Hangs up any call (so that the other party sees a normal end, not a dropped connection) and
   * closes the session's own connection, which takes this user offline. On a shared connection it
   * only stops listening: the login lasts until that connection closes. Safe to call twice and in
   * any state.
   */
  close(): void {
    if (this.#state === PhoneSessionState.closed) {
      return;
    }
    this.hangUp();
    this.#watches.stopAll();
    if (this.#ownsConnection && this.#state !== PhoneSessionState.idle) {
      // Emits `close`, which finishes the session in #onConnectionClose.
      this.#connection.close();
    }
    this.#finish({ code: 1000, reason: "client closed", byClient: true, opened: this.#state !== PhoneSessionState.idle, replaced: false });
  }

  get #reclaimKeys(): ReclaimKeyStore {
    return this.#options.reclaimKeys ?? defaultReclaimKeyStore();
  }

  get #loginTimeoutMs(): number {
    return this.#options.loginTimeoutMs ?? LOGIN_TIMEOUT_MS;
  }

  /** Subscribes to the connection, once `connect()` starts: a shared connection may carry other families' traffic before. */
  #listen(): void {
    const connection = this.#connection;
    this.#unsubscribeConnection = [
      connection.on("presence", (message) => this.#onPresenceMessage(message)),
      connection.on("call", (message) => (message.type === "error" ? this.#onError(message) : this.#onCallMessage(message))),
      connection.on("watch", (message) => this.#watches.onMessage(message)),
      connection.on("ice-servers", ({ iceServers, expiresAtMs }) => this.#applyIceServers(iceServers, expiresAtMs)),
      connection.on("error", ({ code, message }) => this.emit("error", { code, message })),
      connection.on("reconnecting", (attempt) => {
        if (this.isReady) {
          this.emit("reconnecting", attempt);
        }
      }),
      connection.on("resumed", ({ login }) => this.#onResumed(login)),
      connection.on("restarted", () => this.#onLoginLost()),
      connection.on("close", (info) => this.#onConnectionClose(info)),
    ];
  }

  // ---- logging in, and getting back in ----

  /**
   * Sends `login`: the first one of `connect()`, or one made again after the server lost the
   * session; with the reclaim key of this user's last login, should that login still be online.
   */
  #requestLogin(attempt: "first" | "again"): void {
    this.#loggingIn = attempt;
    const { userID, username, avatar, device, loginToken, password } = this.#options;
    const reclaimKey = this.#reclaimKeys.get(this.url, userID);
    this.#connection
      .login(
        {
          userID,
          ...(username !== undefined ? { username } : {}),
          ...(avatar !== undefined ? { avatar } : {}),
          ...(reclaimKey !== undefined ? { reclaimKey } : {}),
          ...(device === true ? { device } : {}),
          ...(loginToken !== undefined ? { token: loginToken } : {}),
          ...(password !== undefined ? { password } : {}),
        },
        this.#loginTimeoutMs,
      )
      .then(
        (response) => this.#onLoginResponse(attempt, response),
        (error: unknown) => this.#onLoginFailed(attempt, error),
      );
  }

  #onLoginResponse(attempt: "first" | "again", response: LoginResponseMessage): void {
    if (this.closed || this.#loggingIn !== attempt) {
      return;
    }
    if (response.content === "accepted") {
      // Kept under the id asked for: a token-mode server's user id may differ, and ignores keys anyway.
      this.#reclaimKeys.set(this.url, this.#options.userID, response.reclaimKey);
      // The directory follows; the login counts from then on.
      this.#login = { userID: response.userID, username: response.username, ...(response.avatar !== undefined ? { avatar: response.avatar } : {}) };
      return;
    }
    this.#onLoginRefused(attempt, "login_rejected", `login refused: ${response.error}`, response.code);
  }

  #onLoginFailed(attempt: "first" | "again", error: unknown): void {
    if (this.closed || this.#loggingIn !== attempt) {
      return;
    }
    const code = error instanceof WebRtcRoomError ? error.code : "signaling_closed";
    if (code === "request_interrupted" || code === "signaling_closed") {
      // Lost before the answer: the recovery (resumed or restarted) decides; a close ends it all.
      return;
    }
    const message = error instanceof Error ? error.message : String(error);
    const refusal = error instanceof ServerRefusalError ? error.code : undefined;
    if (refusal) {
      this.#onLoginRefused(attempt, "login_rejected", `login refused: ${message}`, refusal);
    } else {
      this.#onLoginRefused(attempt, "login_timeout", message);
    }
  }

  /** The login failed: the first one rejects `connect()`; one made again ends the session. */
  #onLoginRefused(attempt: "first" | "again", code: "login_rejected" | "login_timeout", message: string, serverCode?: ErrorCode): void {
    this.#loggingIn = undefined;
    if (attempt === "first") {
      this.#settleLogin?.(new PhoneError(code, message, serverCode));
      return;
    }
    this.emit("error", { code: serverCode ?? code, message: `logging in again failed: ${message}` });
    this.close();
  }

  /**
   * The connection took its session back. With the login in it, everything carries on: a call
   * keeps its media or keeps ringing, and the directory follows. Without it, the login was lost.
   */
  #onResumed(login: SessionLogin | undefined): void {
    if (login === undefined) {
      this.#onLoginLost();
      return;
    }
    if (this.#loggingIn !== undefined) {
      // The login was accepted but its answer was lost with the socket: the directory follows.
      this.#login = { userID: login.userID, username: login.username, ...(login.avatar !== undefined ? { avatar: login.avatar } : {}) };
      return;
    }
    if (this.isReady) {
      this.emit("reconnected", { resumed: true });
    }
  }

  /**
   * The server no longer has this login (the connection restarted, or resumed a session without
   * it): a call in progress is over on the server, so it ends here too, and the session logs in
   * again. A login still waiting for its answer is simply asked again.
   */
  #onLoginLost(): void {
    if (this.#state === PhoneSessionState.connecting) {
      this.#requestLogin("first");
      return;
    }
    if (!this.isReady) {
      return;
    }
    if (this.#call) {
      this.#endCall(this.#call, { reason: CallEndReason.sessionLost, byLocal: true, message: "the server ended the login while the signaling connection was away" });
    }
    this.#watches.endAll("session_lost");
    this.#requestLogin("again");
  }

  #onPresenceMessage(message: PresenceServerMessage | ServerErrorMessage): void {
    switch (message.type) {
      case "loginResponse":
      case "error":
        // Answers to `login` go to its request; these are leftovers of one that timed out.
        return;
      case "presence":
        this.#directory.clear();
        for (const user of message.users) {
          this.#directory.set(user.userID, user);
        }
        this.#onDirectory();
        this.emit("directory", { users: this.users });
        return;
      case "presenceUpdate":
        this.#updateUser(message.user);
        this.emit("directory", { users: this.users });
        return;
      case "presenceLeft":
        if (this.#removeUser(message.userID)) {
          this.emit("directory", { users: this.users });
        }
        return;
      case "presenceChanges": {
        // One window of changes: the per-user events in the server's order (gone first, then
        // updated or appended), one `directory` for all of them.
        let changed = false;
        for (const userID of message.left) {
          changed = this.#removeUser(userID) || changed;
        }
        for (const user of message.users) {
          this.#updateUser(user);
          changed = true;
        }
        if (changed) {
          this.emit("directory", { users: this.users });
        }
        return;
      }
      case "loggedOut":
        this.#replaced = true;
        if (this.#call) {
          this.#endCall(this.#call, { reason: CallEndReason.replaced, byLocal: true });
        }
        this.#watches.endAll("replaced");
        this.emit("logged-out", { reason: message.reason });
        return;
      default:
        assertNever(message);
    }
  }

  /** The whole directory arrived: a login waiting for it is complete. */
  #onDirectory(): void {
    const attempt = this.#loggingIn;
    if (attempt === undefined || !this.#login) {
      return;
    }
    this.#loggingIn = undefined;
    if (attempt === "first") {
      this.#setState(PhoneSessionState.ready);
      this.#settleLogin?.();
    } else {
      this.emit("reconnected", { resumed: false });
    }
  }

  /** Replaces `user`'s entry in place, or appends it when it is new; emits `user-updated`. */
  #updateUser(user: PresenceUser): void {
    const previous = this.#directory.get(user.userID);
    this.#directory.set(user.userID, user);
    this.emit("user-updated", { user, previous });
  }

  /** Removes `userID` from the directory; emits `user-left` and returns true when it was listed. */
  #removeUser(userID: string): boolean {
    if (!this.#directory.delete(userID)) {
      return false;
    }
    this.emit("user-left", { userID });
    return true;
  }

  #onCallMessage(message: CallServerMessage): void {
    const call = this.#call;
    switch (message.type) {
      case "incomingCall":
        this.#onIncomingCall(message);
        return;
      case "callResponse":
        // Only the answer to the call in flight counts; `calleeID` tells a late answer to a call
        // this side already gave up (cancel, glare) from the answer to the current one.
        if (call?.direction === "outgoing" && call.state === CallState.ringing && call.remote.userID === message.calleeID) {
          this.#onCallResponse(call, message.callResponse, message.sdpAnswer);
        }
        return;
      case "startCommunication":
        if (call?.direction === "incoming" && call.callId === message.callId && call.state === CallState.answering) {
          this.#setCallState(call, CallState.connecting);
        }
        return;
      case "incomingCallStopped":
      case "incomingCallNotResponse": {
        if (call?.direction !== "incoming" || call.callId !== message.callId || call.ended) {
          return;
        }
        const reason = message.type === "incomingCallStopped" ? CallEndReason.cancelled : CallEndReason.noAnswer;
        this.#endCall(call, { reason, byLocal: false });
        const missed: MissedCall = {
          callId: message.callId,
          callerID: message.callerID,
          username: call.remote.username,
          avatar: call.remote.avatar,
          reason,
          atMs: Date.now(),
        };
        this.#missed.push(missed);
        this.emit("missed-call", missed);
        return;
      }
      case "iceCandidate":
        call?.link?.signal({ kind: "candidate", candidate: message.candidate });
        return;
      case "callDescription":
        // A renegotiation or ICE restart of the accepted call; the first offer and answer came
        // in `incomingCall` and `callResponse`.
        if (call?.accepted) {
          call.link?.signal({ kind: message.sdp.type, sdp: message.sdp.sdp });
        }
        return;
      case "stopCommunication":
        if (call && (call.state === CallState.connecting || call.state === CallState.active || (call.state === CallState.answering && call.sdpSent))) {
          this.#endCall(call, endOfStopReason(message.reason));
        }
        return;
      default:
        assertNever(message);
    }
  }

  #onIncomingCall(message: Extract<CallServerMessage, { type: "incomingCall" }>): void {
    const current = this.#call;
    if (current?.direction === "outgoing" && (current.state === CallState.dialing || current.state === CallState.ringing)) {
      // Glare: the other side's call reached the server first, so the server answers this side's
      // call (if it was sent) with inCalling. Give it up here and show the ring instead; sending
      // stopCall now would reject the ring, since this user is the callee on the server.
      this.#endCall(current, { reason: CallEndReason.busy, byLocal: false, message: `${message.callerID} called at the same moment` });
    } else if (current) {
      // The server never rings a user in a call; if it did, this side cannot take the call.
      this.#connection.answerCall({ callerID: message.callerID, callId: message.callId, callResponse: "rejected" });
      return;
    }
    const call = new CallRecord(
      "incoming",
      { userID: message.callerID, username: message.username, avatar: message.avatar === "" ? undefined : message.avatar },
      CallState.ringing,
      message.callId,
      message.sdpOffer,
    );
    this.#call = call;
    this.emit("call-state", { call, state: call.state, previous: undefined });
    this.emit("incoming-call", call);
  }

  #onCallResponse(call: CallRecord, response: CallResponseValue, sdpAnswer: string | undefined): void {
    switch (response) {
      case "accepted":
        this.#setCallState(call, CallState.connecting);
        call.link?.signal({ kind: "answer", sdp: sdpAnswer ?? "" });
        return;
      case "notOnline":
        this.#endCall(call, { reason: CallEndReason.notOnline, byLocal: false });
        return;
      case "inCalling":
        this.#endCall(call, { reason: CallEndReason.busy, byLocal: false });
        return;
      case "rejected":
        this.#endCall(call, { reason: CallEndReason.rejected, byLocal: false });
        return;
      case "NotResponse":
        this.#endCall(call, { reason: CallEndReason.noAnswer, byLocal: false });
        return;
      case "exception":
        this.#endCall(call, { reason: CallEndReason.exception, byLocal: false });
        return;
      default:
        assertNever(response);
    }
  }

  /** An `error` refusing a call message (or naming none). */
  #onError({ code, message, refType }: ServerErrorMessage): void {
    if (refType !== undefined && this.#watches.onError(refType, code, message)) {
      return;
    }
    const call = this.#call;
    if (refType === "call" && call?.direction === "outgoing" && call.state === CallState.ringing) {
      this.#endCall(call, { reason: CallEndReason.refused, byLocal: false, code, message });
      return;
    }
    if (refType === "incomingCallResponse" && call?.direction === "incoming" && call.state === CallState.answering) {
      // `not_in_call`: the ring ended (cancelled, timed out) just before the acceptance arrived.
      this.#endCall(call, { reason: CallEndReason.refused, byLocal: false, code, message });
      return;
    }
    if ((refType === "onIceCandidate" || refType === "callDescription" || refType === "incomingCallResponse" || refType === "stop" || refType === "stopCall") && code === NOT_IN_CALL) {
      // A message that crossed the end of its call on the wire: expected, nothing to do.
      return;
    }
    this.emit("error", { code, message: refType ? `${refType}: ${message}` : message });
  }

  /**
   * Creates the call's link and wires its events; the caller's is the initiator (it makes every
   * offer). The link sends the call's publications: `localStream` as camera and microphone.
   */
  #createLink(call: CallRecord, initiator: boolean): PeerLink {
    const options = this.#options;
    const publications = new LocalPublications({
      createStream: () => new (options.wrtc?.MediaStream ?? globalThis.MediaStream)(),
      ...(call.localStream ? { stream: call.localStream } : {}),
    });
    const link = new PeerLink({
      id: call.remote.userID,
      username: call.remote.username,
      initiator,
      iceServers: this.#iceServers,
      publications,
      // The first offer receives audio and video whatever this side sends, so that the callee's
      // tracks fit into it without a renegotiation before the call is even up.
      offerOptions: { offerToReceiveAudio: true, offerToReceiveVideo: true },
      // The caller's link exists while the call rings, which the server bounds; a connect bound
      // would run during the ring.
      connectTimeoutMs: 0,
      ...(options.wrtc ? { wrtc: options.wrtc } : {}),
      ...(options.candidateFilter ? { candidateFilter: options.candidateFilter } : {}),
      ...(options.rtcConfiguration ? { rtcConfiguration: options.rtcConfiguration } : {}),
      ...(options.iceDisconnectedTimeoutMs !== undefined ? { disconnectedTimeoutMs: options.iceDisconnectedTimeoutMs } : {}),
      ...(options.onListenerError ? { onListenerError: options.onListenerError } : {}),
    });
    call.publications = publications;
    call.link = link;
    call.unsubscribeLink = [
      publications.attach(link),
      link.on("signal", (signal) => this.#onLinkSignal(call, signal)),
      link.on("state", ({ state }) => {
        if (state === PeerState.connected && this.#mediaState) {
          link.sendMediaState(this.#mediaState);
        }
        if (state === PeerState.connected && (call.state === CallState.connecting || call.state === CallState.answering)) {
          this.#setCallState(call, CallState.active);
        } else if (state === PeerState.failed) {
          this.#onPeerLost(call, "the peer connection failed or was closed by the other side");
        }
      }),
      link.on("stream", (stream) => {
        call.remoteStream = stream;
        this.emit("remote-stream", { call, stream });
      }),
      link.on("publication", (publication) => this.emit("remote-track-published", { call, ...publication })),
      link.on("unpublication", ({ source }) => this.emit("remote-track-unpublished", { call, source })),
      link.on("data", (data) => this.emit("call-data", { call, data })),
      link.on("media", (media) => {
        call.remoteMedia = media;
        this.emit("remote-media", { call, media });
      }),
      link.on("chat", ({ id, text, sentAtMs }) => {
        if (this.#chatIds.remember(id)) {
          const message = { id, from: { id: call.remote.userID, username: call.remote.username }, text, sentAtMs, receivedAtMs: Date.now() };
          this.emit("chat-message", { call, message });
        }
      }),
      link.on("error", ({ code, message }) => this.emit("error", { code: "peer_error", message: `${code}: ${message}` })),
    ];
    return link;
  }

  /** Puts a signal of the call's link into the call family's messages. */
  #onLinkSignal(call: CallRecord, signal: PeerSignal): void {
    switch (signal.kind) {
      case "offer":
        if (call.direction === "outgoing" && call.state === CallState.dialing) {
          this.#connection.call(call.remote.userID, signal.sdp);
          this.#sdpWentOut(call);
          this.#setCallState(call, CallState.ringing);
        } else if (call.accepted) {
          this.#connection.sendCallDescription({ type: "offer", sdp: signal.sdp });
        }
        return;
      case "answer":
        if (call.direction === "incoming" && call.state === CallState.answering && !call.sdpSent) {
          this.#connection.answerCall({
            callerID: call.remote.userID,
            ...(call.callId !== undefined ? { callId: call.callId } : {}),
            callResponse: "accepted",
            sdpAnswer: signal.sdp,
          });
          this.#sdpWentOut(call);
        } else if (call.accepted) {
          this.#connection.sendCallDescription({ type: "answer", sdp: signal.sdp });
        }
        return;
      case "candidate":
        if (call.sdpSent) {
          this.#connection.sendCallCandidate(signal.candidate);
        } else {
          call.queuedCandidates.push(signal.candidate);
        }
        return;
      default:
        assertNever(signal);
    }
  }

  /** This side's SDP is on the wire: candidates held back until now may follow it. */
  #sdpWentOut(call: CallRecord): void {
    call.sdpSent = true;
    for (const candidate of call.queuedCandidates.splice(0)) {
      this.#connection.sendCallCandidate(candidate);
    }
  }

  /**
   * The peer failed or closed without this side asking. Before anything was accepted this is a
   * local media failure, reported at once; once the call is accepted, the other party's hang-up
   * may be what closed it, so the server gets {@link PEER_LOSS_GRACE_MS} to say so first.
   */
  #onPeerLost(call: CallRecord, detail: string): void {
    if (this.#call !== call || call.ended) {
      return;
    }
    switch (call.state) {
      case CallState.dialing:
        this.#endCall(call, { reason: CallEndReason.mediaFailed, byLocal: true, message: detail });
        return;
      case CallState.ringing:
        // Only an outgoing call has a peer while ringing.
        this.#connection.cancelCall();
        this.#endCall(call, { reason: CallEndReason.mediaFailed, byLocal: true, message: detail });
        return;
      case CallState.answering:
        if (!call.sdpSent) {
          this.#answerRing(call, "exception");
          this.#endCall(call, { reason: CallEndReason.exception, byLocal: true, message: detail });
          return;
        }
        break;
      case CallState.connecting:
      case CallState.active:
        break;
      case CallState.ended:
        return;
      default:
        assertNever(call.state);
    }
    if (call.lossTimer === undefined) {
      call.lossTimer = setTimeout(() => {
        call.lossTimer = undefined;
        if (this.#call === call && !call.ended) {
          this.#connection.hangUp("exception");
          this.#endCall(call, { reason: CallEndReason.mediaFailed, byLocal: true, message: detail });
        }
      }, this.#options.peerLossGraceMs ?? PEER_LOSS_GRACE_MS);
      this.emit("call-connection-lost", { call });
    }
  }

  /** Answers the ring of `call` without accepting it. */
  #answerRing(call: CallRecord, callResponse: "rejected" | "exception"): void {
    this.#connection.answerCall({
      callerID: call.remote.userID,
      ...(call.callId !== undefined ? { callId: call.callId } : {}),
      callResponse,
    });
  }

  /** Moves `call` to `ended`, closes its peer and forgets it. */
  #endCall(call: CallRecord, end: CallEnd): void {
    if (call.ended) {
      return;
    }
    clearTimeout(call.lossTimer);
    call.lossTimer = undefined;
    call.queuedCandidates = [];
    for (const unsubscribe of call.unsubscribeLink.splice(0)) {
      unsubscribe();
    }
    call.link?.destroy();
    call.link = undefined;
    call.end = end;
    if (this.#call === call) {
      this.#call = undefined;
    }
    this.#setCallState(call, CallState.ended);
    this.emit("call-ended", { call, end });
  }

  #setCallState(call: CallRecord, state: CallState): void {
    const previous = call.state;
    if (previous === state) {
      return;
    }
    call.state = state;
    this.emit("call-state", { call, state, previous });
  }

  /** Takes the server's ICE servers (the connection renews them) for the call in progress and the next ones. */
  #applyIceServers(iceServers: IceServer[], expiresAtMs: number | undefined): void {
    this.#iceServers = iceServers;
    this.#call?.link?.setIceServers(iceServers);
    this.#watches.setIceServers(iceServers);
    this.emit("ice-servers", { iceServers, expiresAtMs });
  }

  /** The connection is gone for good: a call in progress ends, and so does the session. */
  #onConnectionClose(info: SignalingCloseInfo): void {
    const replaced = this.#replaced || info.code === 4003;
    this.#settleLogin?.(new PhoneError("signaling_unreachable", `the signaling connection closed during the login (code ${info.code})`));
    if (this.#call) {
      this.#endCall(this.#call, { reason: replaced ? CallEndReason.replaced : CallEndReason.disconnected, byLocal: true });
    }
    this.#watches.endAll(replaced ? "replaced" : "disconnected");
    this.#finish({ ...info, replaced });
  }

  #finish(info: PhoneCloseInfo): void {
    if (this.#state === PhoneSessionState.closed) {
      return;
    }
    for (const unsubscribe of this.#unsubscribeConnection.splice(0)) {
      unsubscribe();
    }
    this.#loggingIn = undefined;
    this.#setState(PhoneSessionState.closed);
    this.#directory.clear();
    this.emit("close", info);
    this.removeAllListeners();
  }

  #setState(state: PhoneSessionState): void {
    const previous = this.#state;
    if (previous === state) {
      return;
    }
    this.#state = state;
    this.emit("state", { state, previous });
  }
}

/** How an accepted call ended, from the other party's `stopCommunication` reason. */
function endOfStopReason(reason: StopReason): CallEnd {
  switch (reason) {
    case "normal":
      return { reason: CallEndReason.hangUp, byLocal: false };
    case "exception":
      return { reason: CallEndReason.mediaFailed, byLocal: false };
    case "disconnected":
      return { reason: CallEndReason.disconnected, byLocal: false };
    case "replaced":
      return { reason: CallEndReason.replaced, byLocal: false };
    default:
      return assertNever(reason);
  }
}

