/**
 * The server connection: the one place on the client that speaks the wire protocol.
 *
 * It owns the {@link SignalingClient} and everything that belongs to the connection rather than to
 * a room or a call:
 * - **Typed sends.** `joinRoom`, `sendOffer`, `login`, `call`… build the wire objects; the room and
 *   phone sessions above never do.
 * - **One dispatcher.** What the server sends is classified by family with the shared protocol's
 *   tables (`shared/protocol/families.ts`) and emitted as a `room`, `call` or `presence` event;
 *   an `error` goes to the family of the message it refused (`refType`). The session messages
 *   (`joined`, `resumed`, `loginResponse`, `ice_servers`) are read here first.
 * - **Requests.** {@link ServerConnection.request} sends a message and waits for its reply or its
 *   refusal, within a bound. After a reply, the next server messages are delivered on a later
 *   task, so that the code awaiting the reply has run before them (the server sends `joined` and
 *   the `connection_list` that depends on it back to back, and `ws` may deliver both at once).
 * - **One resumable session.** The server gives each connection an id and a resume token, the same
 *   one in `joined` and `loginResponse`; the session covers the room membership and the login
 *   alike. After a signaling blip the connection takes it back with `resume`.
 * - **ICE servers** from `joined`, `loginResponse`, `resumed` and `ice_servers`, refreshed with
 *   `refresh_ice_servers` at 80 % of their lifetime, for rooms and calls alike.
 *
 * Recovery after the socket is lost takes one of two named paths, chosen in one place
 * ({@link chooseRecoveryPath}):
 * - `resume`: the socket came back within the server's grace window; `resume {id, resumeToken}` is
 *   answered `resumed`, the families learn what they still have (`resumed` event), and the
 *   messages queued meanwhile go out. Nobody else noticed.
 * - `restart`: there is no session to take back (lost before the first `joined` or login), or the
 *   server refused or did not answer the resume. The queue is discarded (it was addressed under
 *   the old id) and the families start again (`restarted` event): a room joins as new, a phone
 *   logs in again.
 */
import { PROTOCOL_VERSION, type AccountCredentials, type CallServerMessage, type MuteKind, type RoomGrants, type RoomState, type ClientMessage, type CommonServerMessage, type ErrorCode, type IceCandidate, type IceServer, type Participant, type PresenceServerMessage, type RoomServerMessage, type SelfSetStatus, type ServerMessage, type StopReason, type WatchServerMessage } from "../../shared/protocol/index.ts";
import { CLIENT_MESSAGE_FAMILY, isCallServerMessage, isClientMessageType, isPresenceServerMessage, isRoomServerMessage, isWatchServerMessage } from "../../shared/protocol/families.ts";
import { TypedEmitter, type ListenerErrorHandler } from "./emitter.ts";
import { WebRtcRoomError, type ClientErrorCode } from "./errors.ts";
import { DEFAULT_RECONNECT_POLICY, type ReconnectPolicy } from "./reconnect.ts";
import { SignalingClient, type DroppedReason, type SignalingCloseInfo, type WebSocketConstructor } from "./signaling-client.ts";

/**
 * Lifecycle of a {@link ServerConnection}: `idle → connecting → open ⇄ reconnecting → closed`.
 * `reconnecting` lasts from the loss of the socket until the session is resumed or restarted on a
 * new one; sends meanwhile are queued.
 */
export const ServerConnectionState = {
  /** Created; `connect()` not called yet. */
  idle: "idle",
  /** The first WebSocket handshake is in progress. */
  connecting: "connecting",
  /** Connected; sends go out at once. */
  open: "open",
  /** The socket was lost: waiting for a new one, or resuming the session on it. */
  reconnecting: "reconnecting",
  /** Gone for good. */
  closed: "closed",
} as const;

/** A value of {@link ServerConnectionState}. */
export type ServerConnectionState = (typeof ServerConnectionState)[keyof typeof ServerConnectionState];

/** Default bound on `resume` (and the default the room uses for `new_user`). */
export const REQUEST_TIMEOUT_MS = 10_000;

/**
 * Share of the remaining credential lifetime after which fresh ICE servers are asked for. The
 * server hands the same credential out again until less than a quarter of its lifetime is left
 * (server/turn.ts): asking with 20 % left always gets a new one, and a refresh that takes a while
 * (or a reconnect in between) still lands before expiry.
 */
export const ICE_REFRESH_AT_FRACTION = 0.8;

/** Floor of the delay before an ICE server refresh, so that a clock skew cannot make it spin. */
export const MIN_ICE_REFRESH_DELAY_MS = 500;

/**
 * When to ask for fresh ICE servers whose credentials expire at `expiresAtMs` (epoch ms), seen at
 * `nowMs`: after {@link ICE_REFRESH_AT_FRACTION} of the time left, never sooner than
 * {@link MIN_ICE_REFRESH_DELAY_MS}; `undefined` when they do not expire.
 */
export function iceRefreshDelayMs(expiresAtMs: number | undefined, nowMs: number): number | undefined {
  if (expiresAtMs === undefined) {
    return undefined;
  }
  return Math.max(MIN_ICE_REFRESH_DELAY_MS, (expiresAtMs - nowMs) * ICE_REFRESH_AT_FRACTION);
}

/** A request the server refused with an `error`: `code` is the server's code (`room_full`, `resume_failed`…). */
export class ServerRefusalError extends WebRtcRoomError<ErrorCode> {
  override name = "ServerRefusalError";
}

/** The two ways back after the signaling socket was lost and a new one opened. */
export type RecoveryPath = "resume" | "restart";

/**
 * The recovery path on a new socket: `resume` when the server gave this connection a session
 * (an id and a resume token, from `joined`, `loginResponse` or the last `resumed`), `restart`
 * otherwise. A refused or unanswered resume turns into a restart.
 */
export function chooseRecoveryPath(session: { resumeToken: string } | undefined): RecoveryPath {
  return session === undefined ? "restart" : "resume";
}

/** Why the connection restarted instead of resuming. */
export type RestartReason =
  /** The socket was lost before the server gave this connection a session. */
  | "no_session"
  /** The server refused `resume` (grace window over, server restarted, token unknown). */
  | "resume_refused"
  /** The server did not answer `resume` in time. */
  | "resume_timeout";

/** Codes of the connection's own `error` events (explained in `CLIENT_ERROR_CODES`). */
export type ConnectionErrorCode = Extract<ClientErrorCode, "bad_server_message" | "signaling_messages_dropped" | "resume_timeout">;

/** Where a set of ICE servers came from. */
export type IceServersOrigin = "joined" | "login" | "resumed" | "refresh";

/** An `error` message from the server. */
export type ServerErrorMessage = Extract<CommonServerMessage, { type: "error" }>;

/** The server messages of the room family that the connection reads itself. */
type RoomSessionMessageType = "joined" | "resumed" | "ice_servers";

/** Room-family messages for a room session: membership and relayed negotiation. */
export type RoomMessage = Exclude<RoomServerMessage, { type: RoomSessionMessageType }>;

/** `joined`: the acknowledgement of `new_user`. */
export type JoinedMessage = Extract<RoomServerMessage, { type: "joined" }>;

/**
 * `loginResponse`, accepted (with the session fields `id`, `resumeToken`, `resumeGraceMs` and the
 * ICE servers) or rejected: the shared protocol's message.
 */
export type LoginResponseMessage = Extract<PresenceServerMessage, { type: "loginResponse" }>;

/** `resumed`: the shared protocol's message, with `login` when the session is logged in. */
type ResumedMessage = Extract<RoomServerMessage, { type: "resumed" }>;

/** Who a session is logged in as, as `loginResponse` and `resumed` state it: the shared protocol's `resumed.login`. */
export type SessionLogin = NonNullable<ResumedMessage["login"]>;

/** The room a resumed session is still in. */
export interface ResumedRoom {
  room: string;
  username: string;
  /** The room as it is now, this participant included. */
  list: Participant[];
  /** What this participant may do (host status survives the blip). */
  grants: RoomGrants;
  /** The room's settings and hosts as they are now. */
  roomState: RoomState;
}

/** `lobby_waiting`: the room has a lobby and this participant waits in it for a host. */
export type LobbyWaitingMessage = Extract<RoomServerMessage, { type: "lobby_waiting" }>;

/** What {@link ServerConnection.joinRoom} takes besides the room and the name. */
export interface JoinRoomOptions {
  /** The signed join token (`new_user.token`) a token-mode server requires; minted by the application's backend. */
  token?: string;
  /** The room password (`new_user.password`), when a host set one. */
  password?: string;
  /** The account to join as (`new_user.account`), which a server running with accounts requires. */
  account?: AccountCredentials;
  /**
   * Called when the room puts this participant in its lobby. From then on the join waits, with no
   * bound, for a host: `joined` on admission, `lobby_denied` (or `room_full`) otherwise.
   */
  onWaiting?: (waiting: LobbyWaitingMessage) => void;
}

/** A host's change of the room's settings (`room_settings`); at least one field. */
export interface RoomSettings {
  locked?: boolean;
  /** A new password, or `null` to clear it. */
  password?: string | null;
  lobby?: boolean;
}

/** What a login asks for. */
export interface LoginRequest {
  userID: string;
  username?: string;
  avatar?: string;
  /**
   * The reclaim key this user's last accepted login on this server received: an open-mode server
   * lets this login take the user id over from a login still online only with it.
   */
  reclaimKey?: string;
  /** True logs in a device (a camera) that anyone may watch without being asked. */
  device?: boolean;
  /** The login token a token-mode server requires; its claims replace the fields above. */
  token?: string;
  /** The account password a server running with accounts requires; `userID` is then the account. */
  password?: string;
}

/** The callee's answer to a ring, as `answerCall` sends it. */
export interface CallAnswer {
  callerID: string;
  callResponse: "accepted" | "rejected" | "exception";
  /** The ringing call's id from `incomingCall`; protects against answering an older ring. */
  callId?: string;
  /** The SDP answer, with `accepted`. */
  sdpAnswer?: string;
}

/** The resumable session the server gave this connection. */
export interface ServerSession {
  /** The session id: the room participant id, and the id `resume` takes back. */
  id: string;
  /** How long the server keeps the session after losing the socket, when it said so. */
  resumeGraceMs: number | undefined;
}

/** Events of a {@link ServerConnection}. */
export type ServerConnectionEvents = {
  state: { state: ServerConnectionState; previous: ServerConnectionState };
  /** The socket was lost; attempt `attempt` starts in `delayMs` (once per attempt). */
  reconnecting: { attempt: number; delayMs: number };
  /**
   * Recovery path `resume` succeeded: the session `previousId` is back as `id`. `room` is present
   * when the session is still in a room, `login` when it is still logged in. Listeners run before
   * the messages queued during the outage go out, and before the messages the server kept for the
   * session are delivered.
   */
  resumed: { id: string; previousId: string; room: ResumedRoom | undefined; login: SessionLogin | undefined };
  /**
   * Recovery path `restart`: the old session (`previousId`, when there was one) is lost; what was
   * queued under it was discarded. Each family identifies again on the new socket: a room with
   * `joinRoom`, a phone with `login`.
   */
  restarted: { previousId: string | undefined; reason: RestartReason };
  /** ICE servers changed; `origin` says which message brought them. */
  "ice-servers": { iceServers: IceServer[]; expiresAtMs: number | undefined; origin: IceServersOrigin };
  /** A room-family message, or an `error` that refused a room message (or names none). */
  room: RoomMessage | ServerErrorMessage;
  /** A call-family message, or an `error` that refused a call or watch message (or names none). */
  call: CallServerMessage | ServerErrorMessage;
  /** A watch message of the call family (its refusals come as `call` errors). */
  watch: WatchServerMessage;
  /** A presence message that no request took, or an `error` that refused one (or names none). */
  presence: PresenceServerMessage | ServerErrorMessage;
  /**
   * Something went wrong with the connection itself: `bad_server_message`,
   * `signaling_messages_dropped`, `resume_timeout`.
   */
  error: { code: ConnectionErrorCode; message: string };
  /** Emitted once, when the connection is gone for good; every listener is dropped after it. */
  close: SignalingCloseInfo;
};

/** Options of a {@link ServerConnection}. */
export interface ServerConnectionOptions {
  /** Signaling URL, e.g. `wss://example.org/ws`. */
  url: string;
  /** WebSocket class for Node (`ws`); browsers use their own. */
  WebSocket?: WebSocketConstructor;
  /**
   * Reconnect policy; `false` makes the first loss of the socket final. Defaults to
   * {@link DEFAULT_RECONNECT_POLICY}.
   */
  reconnect?: ReconnectPolicy | false;
  /** Bound on `resume`; defaults to {@link REQUEST_TIMEOUT_MS}. */
  resumeTimeoutMs?: number;
  onListenerError?: ListenerErrorHandler;
}

/** A request waiting for its reply. */
interface PendingRequest {
  /** `type` of the message sent: an `error` with this `refType` refuses it. */
  refType: string;
  replyTypes: ReadonlySet<string>;
  resolve: (message: ServerMessage) => void;
  reject: (error: WebRtcRoomError) => void;
  /** The bound on the answer; none while waiting in a lobby. */
  timer: ReturnType<typeof setTimeout> | undefined;
}

/** The session as this side keeps it: the id, its secret, and the grace window. */
interface HeldSession {
  id: string;
  resumeToken: string;
  resumeGraceMs: number | undefined;
}

/**
 * One connection to the server for any number of families: a {@link RoomSession} and a
 * `PhoneSession` may share it (pass it as their `connection` option), and then share one socket
 * and one resumable session, which a `resume` takes back whole.
 */
export class ServerConnection extends TypedEmitter<ServerConnectionEvents> {
  readonly url: string;
  readonly #signaling: SignalingClient;
  readonly #resumeTimeoutMs: number;
  #state: ServerConnectionState = ServerConnectionState.idle;
  #session: HeldSession | undefined;
  #iceServers: IceServer[] = [];
  #iceServersExpireAtMs: number | undefined;
  #iceRefreshTimer: ReturnType<typeof setTimeout> | undefined;
  /** The first opening of the socket, which every session sharing the connection waits for. */
  #opening: Promise<void> | undefined;
  readonly #requests = new Set<PendingRequest>();
  /** Server messages received while delivery waits for the code that awaited a reply. */
  #backlog: ServerMessage[] = [];
  #deliveryTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(options: ServerConnectionOptions) {
    super(options.onListenerError);
    this.url = options.url;
    this.#resumeTimeoutMs = options.resumeTimeoutMs ?? REQUEST_TIMEOUT_MS;
    const reconnect = options.reconnect === false ? undefined : (options.reconnect ?? DEFAULT_RECONNECT_POLICY);
    this.#signaling = new SignalingClient({
      url: options.url,
      ...(options.WebSocket ? { WebSocket: options.WebSocket } : {}),
      ...(reconnect ? { reconnect } : {}),
      ...(options.onListenerError ? { onListenerError: options.onListenerError } : {}),
    });
    this.#signaling.on("message", (message) => this.#receive(message));
    this.#signaling.on("bad-message", ({ detail }) => this.#report("bad_server_message", detail));
    this.#signaling.on("reconnecting", ({ attempt, delayMs }) => this.#onReconnecting(attempt, delayMs));
    this.#signaling.on("reconnected", () => this.#recover());
    this.#signaling.on("dropped", ({ messages, reason }) => this.#onDropped(messages.length, reason));
    this.#signaling.on("close", (info) => this.#onClose(info));
  }

  /** Current lifecycle state. */
  get state(): ServerConnectionState {
    return this.#state;
  }

  /** True while connected and not recovering from a lost socket. */
  get isOpen(): boolean {
    return this.#state === ServerConnectionState.open;
  }

  /** True from the loss of the socket until the session is resumed or restarted. */
  get isReconnecting(): boolean {
    return this.#state === ServerConnectionState.reconnecting;
  }

  /** True once the connection is gone for good. */
  get closed(): boolean {
    return this.#state === ServerConnectionState.closed;
  }

  /** The resumable session, once the server gave one (`joined`, or a login on a server that resumes logins). */
  get session(): ServerSession | undefined {
    const session = this.#session;
    return session && { id: session.id, resumeGraceMs: session.resumeGraceMs };
  }

  /** The current ICE servers (empty until the server sent some). */
  get iceServers(): IceServer[] {
    return this.#iceServers;
  }

  /** When the TURN credentials in {@link ServerConnection.iceServers} expire (epoch ms); absent when they do not. */
  get iceServersExpireAtMs(): number | undefined {
    return this.#iceServersExpireAtMs;
  }

  /**
   * Opens the socket. Resolves once it is open; rejects with `signaling_unreachable` when it
   * closes first (the `close` event follows). Every session on a shared connection calls it: the
   * first call opens the socket, later ones wait for the same opening, or resolve at once when the
   * socket was opened already (reconnecting included); on a closed connection it rejects with
   * `signaling_closed`.
   */
  connect(): Promise<void> {
    switch (this.#state) {
      case ServerConnectionState.idle:
        this.#opening = this.#open();
        return this.#opening;
      case ServerConnectionState.connecting:
        return this.#opening ?? this.#open();
      case ServerConnectionState.open:
      case ServerConnectionState.reconnecting:
        return Promise.resolve();
      case ServerConnectionState.closed:
        return Promise.reject(new WebRtcRoomError("signaling_closed", "the connection is closed"));
    }
  }

  async #open(): Promise<void> {
    this.#setState(ServerConnectionState.connecting);
    try {
      await this.#signaling.connect();
    } catch (error) {
      throw new WebRtcRoomError("signaling_unreachable", error instanceof Error ? error.message : String(error), { cause: error });
    }
    this.#setState(ServerConnectionState.open);
  }

  /**
   * Sends `message` now (ahead of anything queued) and resolves with the first server message
   * whose type is in `replyTypes`. Rejects with a {@link ServerRefusalError} when the server refuses
   * the message (an `error` whose `refType` is `message.type`), otherwise with a
   * {@link WebRtcRoomError}: `request_timeout` after
   * `timeoutMs`, `request_interrupted` when the socket is lost first (or is not open now), and
   * `signaling_closed` when the connection closes. Server messages after the reply are delivered
   * once the code awaiting it has run.
   */
  request<Type extends ServerMessage["type"]>(message: ClientMessage, replyTypes: readonly Type[], timeoutMs: number): Promise<Extract<ServerMessage, { type: Type }>> {
    if (this.closed) {
      return Promise.reject(new WebRtcRoomError("signaling_closed", `cannot send "${message.type}": the connection is closed`));
    }
    if (!this.#signaling.sendNow(message)) {
      return Promise.reject(new WebRtcRoomError("request_interrupted", `cannot send "${message.type}": the socket is not open`));
    }
    return this.#expect(message.type, replyTypes, timeoutMs);
  }

  /**
   * Waits, without sending anything, for the first server message whose type is in `replyTypes`,
   * or for an `error` refusing `refType`; within `timeoutMs`, or with no bound when it is undefined.
   * Rejects as {@link ServerConnection.request} does.
   */
  #expect<Type extends ServerMessage["type"]>(refType: string, replyTypes: readonly Type[], timeoutMs: number | undefined): Promise<Extract<ServerMessage, { type: Type }>> {
    const replies: ReadonlySet<string> = new Set(replyTypes);
    return new Promise((resolve, reject) => {
      const request: PendingRequest = {
        refType,
        replyTypes: replies,
        resolve: (reply) => {
          if (isReplyOf(reply, replyTypes)) {
            resolve(reply);
          }
        },
        reject,
        timer:
          timeoutMs === undefined
            ? undefined
            : setTimeout(() => {
                this.#requests.delete(request);
                reject(new WebRtcRoomError("request_timeout", `no answer to "${refType}" within ${timeoutMs} ms`));
              }, timeoutMs),
      };
      this.#requests.add(request);
    });
  }

  // ---- rooms ----

  /**
   * Joins `room` as `username` (`new_user`) and resolves with `joined`; the connection takes its
   * session and ICE servers from it. `options` add the join `token` a token-mode server requires
   * and the `password` a protected room asks for. `timeoutMs` bounds the answer; when the answer is
   * the lobby (`options.onWaiting` is told), the join then waits for a host without a bound. Rejects
   * as {@link ServerConnection.request} does, e.g. with `room_full`, `token_expired`, `room_locked`,
   * `wrong_password` or `lobby_denied`.
   */
  async joinRoom(room: string, username: string, timeoutMs: number, options: JoinRoomOptions = {}): Promise<JoinedMessage> {
    const message: ClientMessage = {
      type: "new_user",
      room,
      username,
      protocolVersion: PROTOCOL_VERSION,
      ...(options.token !== undefined ? { token: options.token } : {}),
      ...(options.password !== undefined ? { password: options.password } : {}),
      ...(options.account !== undefined ? { account: options.account } : {}),
    };
    const answer = await this.request(message, ["joined", "lobby_waiting"], timeoutMs);
    let joined: JoinedMessage;
    if (answer.type === "lobby_waiting") {
      // Registered before the next server message is delivered (see `#holdDelivery`).
      const admitted = this.#expect("new_user", ["joined"], undefined);
      options.onWaiting?.(answer);
      joined = await admitted;
    } else {
      joined = answer;
    }
    this.#adoptSession({ id: joined.id, resumeToken: joined.resumeToken, resumeGraceMs: joined.resumeGraceMs });
    this.#setIceServers(joined.iceServers, joined.iceServersExpireAtMs, "joined");
    return joined;
  }

  /**
   * Leaves the room (`close_connection`): at once when the socket is open, after the resume while
   * reconnecting (a connection shared with a phone resumes the session, and the seat with it).
   */
  leaveRoom(): boolean {
    return this.#signaling.send({ type: "close_connection" });
  }

  /** Sends an SDP offer to room participant `targetId` (queued while reconnecting). */
  sendOffer(targetId: string, sdp: { type: "offer"; sdp: string }): boolean {
    return this.#signaling.send({ type: "send_offer", targetId, sdp });
  }

  /** Sends an SDP answer to room participant `targetId` (queued while reconnecting). */
  sendAnswer(targetId: string, sdp: { type: "answer"; sdp: string }): boolean {
    return this.#signaling.send({ type: "send_aswer", targetId, sdp });
  }

  /** Sends one trickled ICE candidate to room participant `targetId` (queued while reconnecting). */
  sendCandidate(targetId: string, candidate: IceCandidate): boolean {
    return this.#signaling.send({ type: "new_candidate", targetId, ice: candidate });
  }

  /** Hosts: changes the room's lock, password or lobby (`room_settings`); answered by `room_state`. */
  configureRoom(settings: RoomSettings): boolean {
    return this.#signaling.send({
      type: "room_settings",
      ...(settings.locked !== undefined ? { locked: settings.locked } : {}),
      ...(settings.password !== undefined ? { password: settings.password } : {}),
      ...(settings.lobby !== undefined ? { lobby: settings.lobby } : {}),
    });
  }

  /** Hosts: removes participant `targetId` from the room, or from its lobby (`remove_participant`). */
  removeParticipant(targetId: string): boolean {
    return this.#signaling.send({ type: "remove_participant", targetId });
  }

  /** Hosts: asks participant `targetId` to stop sending `kind` (`mute_participant`). */
  muteParticipant(targetId: string, kind: MuteKind): boolean {
    return this.#signaling.send({ type: "mute_participant", targetId, kind });
  }

  /** Hosts: lets participant `id` in from the lobby (`lobby_admit`). */
  admitFromLobby(id: string): boolean {
    return this.#signaling.send({ type: "lobby_admit", id });
  }

  /** Hosts: turns participant `id` away from the lobby (`lobby_deny`). */
  denyFromLobby(id: string): boolean {
    return this.#signaling.send({ type: "lobby_deny", id });
  }

  // ---- presence and calls ----

  /**
   * Logs in and resolves with `loginResponse`, accepted or rejected (check `content`). An accepted
   * login gives the connection its ICE servers, and its session when the server resumes logins.
   * Rejects as {@link ServerConnection.request} does (`request_timeout`…).
   */
  async login(login: LoginRequest, timeoutMs: number): Promise<LoginResponseMessage> {
    const response: LoginResponseMessage = await this.request(
      {
        type: "login",
        userID: login.userID,
        ...(login.username !== undefined ? { username: login.username } : {}),
        ...(login.avatar !== undefined ? { avatar: login.avatar } : {}),
        ...(login.reclaimKey !== undefined ? { reclaimKey: login.reclaimKey } : {}),
        ...(login.device === true ? { device: true } : {}),
        ...(login.token !== undefined ? { token: login.token } : {}),
        ...(login.password !== undefined ? { password: login.password } : {}),
      },
      ["loginResponse"],
      timeoutMs,
    );
    if (response.content === "accepted") {
      if (response.id !== undefined && response.resumeToken !== undefined) {
        this.#adoptSession({ id: response.id, resumeToken: response.resumeToken, resumeGraceMs: response.resumeGraceMs });
      }
      if (response.iceServers !== undefined) {
        this.#setIceServers(response.iceServers, response.iceServersExpireAtMs, "login");
      }
    }
    return response;
  }

  /** Rings `calleeID` with the SDP offer `sdpOffer` (queued while reconnecting). */
  call(calleeID: string, sdpOffer: string): boolean {
    return this.#signaling.send({ type: "call", calleeID, sdpOffer });
  }

  /** Answers a ring (`incomingCallResponse`). */
  answerCall(answer: CallAnswer): boolean {
    return this.#signaling.send({
      type: "incomingCallResponse",
      callerID: answer.callerID,
      callResponse: answer.callResponse,
      ...(answer.callId !== undefined ? { callId: answer.callId } : {}),
      ...(answer.sdpAnswer !== undefined ? { sdpAnswer: answer.sdpAnswer } : {}),
    });
  }

  /** Gives up the outgoing call that is ringing (`stopCall`). */
  cancelCall(): boolean {
    return this.#signaling.send({ type: "stopCall" });
  }

  /** Hangs up whatever call this login is in (`stop`); `exception` says the media failed. */
  hangUp(reason: Extract<StopReason, "normal" | "exception"> = "normal"): boolean {
    return this.#signaling.send({ type: "stop", reason });
  }

  /** Sends one trickled ICE candidate to the other party of the call (`onIceCandidate`), all fields kept. */
  sendCallCandidate(candidate: IceCandidate): boolean {
    return this.#signaling.send({ type: "onIceCandidate", candidate });
  }

  /**
   * Sends a later offer or answer of the accepted call (`callDescription`): a renegotiation or an
   * ICE restart. The first ones travel in `call` and `answerCall`.
   */
  sendCallDescription(sdp: { type: "offer" | "answer"; sdp: string }): boolean {
    return this.#signaling.send({ type: "callDescription", sdp });
  }

  /** Asks to watch `userID` (`watch`). */
  watch(userID: string): boolean {
    return this.#signaling.send({ type: "watch", userID });
  }

  /** Answers a watch request (`watchAnswer`). */
  answerWatch(watchId: string, accept: boolean): boolean {
    return this.#signaling.send({ type: "watchAnswer", watchId, accept });
  }

  /**
   * Lets `userID` (or everyone, `"*"`) watch this login without being asked, or asks again
   * (`allowWatching`); resolves once the server applied it (`watchAllowed`). Rejects as
   * {@link ServerConnection.request} does (`allow_list_full` as a refusal).
   */
  async allowWatching(userID: string, allow: boolean, timeoutMs: number): Promise<void> {
    await this.request({ type: "allowWatching", userID, allow }, ["watchAllowed"], timeoutMs);
  }

  /** Says whether this login is available (`setStatus`); the directory shows the change to everyone. */
  setStatus(status: SelfSetStatus): boolean {
    return this.#signaling.send({ type: "setStatus", status });
  }

  /** Ends a watch or withdraws (or turns down) a request (`stopWatching`). */
  stopWatching(watchId: string): boolean {
    return this.#signaling.send({ type: "stopWatching", watchId });
  }

  /** Sends an offer or answer of a started watch (`watchDescription`). */
  sendWatchDescription(watchId: string, sdp: { type: "offer" | "answer"; sdp: string }): boolean {
    return this.#signaling.send({ type: "watchDescription", watchId, sdp });
  }

  /** Sends one trickled ICE candidate of a started watch (`watchCandidate`), all fields kept. */
  sendWatchCandidate(watchId: string, candidate: IceCandidate): boolean {
    return this.#signaling.send({ type: "watchCandidate", watchId, candidate });
  }

  /**
   * Closes the connection for good: pending requests reject with `signaling_closed`, the `close`
   * event follows, every listener is dropped. Safe to call twice.
   */
  close(): void {
    this.#signaling.close();
  }

  // ---- recovery ----

  #onReconnecting(attempt: number, delayMs: number): void {
    // Replies to what was asked on the lost socket will never come; the recovery asks again.
    this.#rejectRequests(() => new WebRtcRoomError("request_interrupted", "the signaling socket was lost before the answer"));
    this.#setState(ServerConnectionState.reconnecting);
    this.emit("reconnecting", { attempt, delayMs });
  }

  /** A new socket is open and its queue held: take the session back, or start again. */
  #recover(): void {
    const session = this.#session;
    if (chooseRecoveryPath(session) === "restart" || session === undefined) {
      this.#restart(undefined, "no_session");
      return;
    }
    void this.#resume(session);
  }

  async #resume(session: HeldSession): Promise<void> {
    let resumed: ResumedMessage;
    try {
      resumed = await this.request({ type: "resume", id: session.id, resumeToken: session.resumeToken }, ["resumed"], this.#resumeTimeoutMs);
    } catch (error) {
      const code = error instanceof WebRtcRoomError ? error.code : "request_interrupted";
      if (code === "request_interrupted" || code === "signaling_closed") {
        // Lost again (the next socket resumes again), or closed for good.
        return;
      }
      if (code === "request_timeout") {
        this.#report("resume_timeout", `no answer to "resume" within ${this.#resumeTimeoutMs} ms`);
        this.#restart(session.id, "resume_timeout");
        return;
      }
      this.#restart(session.id, "resume_refused");
      return;
    }
    if (this.closed) {
      return;
    }
    this.#session = { id: resumed.id, resumeToken: resumed.resumeToken, resumeGraceMs: session.resumeGraceMs };
    this.#setIceServers(resumed.iceServers, resumed.iceServersExpireAtMs, "resumed");
    this.emit("resumed", { id: resumed.id, previousId: session.id, room: roomOfResumed(resumed), login: resumed.login });
    this.#signaling.flushQueue();
    this.#setState(ServerConnectionState.open);
  }

  #restart(previousId: string | undefined, reason: RestartReason): void {
    this.#session = undefined;
    this.#signaling.discardQueue();
    this.#setState(ServerConnectionState.open);
    this.emit("restarted", { previousId, reason });
  }

  /** A session from `joined` or `loginResponse`: the outage (if any) is over, queued messages go out. */
  #adoptSession(session: HeldSession): void {
    this.#session = session;
    this.#signaling.flushQueue();
  }

  #onDropped(count: number, reason: DroppedReason): void {
    const why = reason === "queue_full" ? "the reconnect queue was full" : reason === "discarded" ? "the session restarted under a new id" : "the connection closed";
    this.#report("signaling_messages_dropped", `${count} signaling message(s) not sent: ${why}`);
  }

  #onClose(info: SignalingCloseInfo): void {
    this.#rejectRequests(() => new WebRtcRoomError("signaling_closed", `the signaling connection closed (code ${info.code})`));
    clearTimeout(this.#iceRefreshTimer);
    this.#iceRefreshTimer = undefined;
    clearTimeout(this.#deliveryTimer);
    this.#deliveryTimer = undefined;
    this.#backlog = [];
    this.#setState(ServerConnectionState.closed);
    this.emit("close", info);
    this.removeAllListeners();
  }

  #rejectRequests(makeError: () => WebRtcRoomError): void {
    for (const request of this.#requests) {
      clearTimeout(request.timer);
      request.reject(makeError());
    }
    this.#requests.clear();
  }

  // ---- ICE servers ----

  #setIceServers(iceServers: IceServer[], expiresAtMs: number | undefined, origin: IceServersOrigin): void {
    this.#iceServers = iceServers;
    this.#iceServersExpireAtMs = expiresAtMs;
    clearTimeout(this.#iceRefreshTimer);
    this.#iceRefreshTimer = undefined;
    const delayMs = iceRefreshDelayMs(expiresAtMs, Date.now());
    if (delayMs !== undefined) {
      this.#iceRefreshTimer = setTimeout(() => {
        this.#iceRefreshTimer = undefined;
        // While reconnecting it waits in the queue; `resumed` brings fresh servers anyway.
        this.#signaling.send({ type: "refresh_ice_servers" });
      }, delayMs);
    }
    this.emit("ice-servers", { iceServers, expiresAtMs, origin });
  }

  // ---- dispatch ----

  /** Every decoded server message, in order; held back while code awaiting a reply has not run yet. */
  #receive(message: ServerMessage): void {
    if (this.#deliveryTimer !== undefined) {
      this.#backlog.push(message);
      return;
    }
    this.#dispatch(message);
  }

  /**
   * Holds delivery until the next task: the microtasks that a settled request queued (the code
   * awaiting it, however deep) all run before a task, so they see the reply before what follows it.
   */
  #holdDelivery(): void {
    if (this.#deliveryTimer !== undefined) {
      return;
    }
    this.#deliveryTimer = setTimeout(() => {
      this.#deliveryTimer = undefined;
      while (this.#deliveryTimer === undefined && this.#backlog.length > 0) {
        const next = this.#backlog.shift();
        if (next) {
          this.#dispatch(next);
        }
      }
    }, 0);
  }

  #dispatch(message: ServerMessage): void {
    if (this.#settleRequest(message)) {
      this.#holdDelivery();
      return;
    }
    switch (message.type) {
      case "ice_servers":
        this.#setIceServers(message.iceServers, message.iceServersExpireAtMs, "refresh");
        return;
      case "joined":
      case "resumed":
      case "pong":
        // An acknowledgement nobody asked for (its request timed out) changes nothing.
        return;
      case "error":
        this.#routeError(message);
        return;
      default:
        break;
    }
    if (isRoomServerMessage(message)) {
      this.emit("room", message);
    } else if (isWatchServerMessage(message)) {
      this.emit("watch", message);
    } else if (isCallServerMessage(message)) {
      this.emit("call", message);
    } else if (isPresenceServerMessage(message)) {
      this.emit("presence", message);
    }
  }

  /** Hands `message` to the request it answers or refuses; true when there was one. */
  #settleRequest(message: ServerMessage): boolean {
    for (const request of this.#requests) {
      if (request.replyTypes.has(message.type)) {
        this.#requests.delete(request);
        clearTimeout(request.timer);
        request.resolve(message);
        return true;
      }
      if (message.type === "error" && message.refType === request.refType) {
        this.#requests.delete(request);
        clearTimeout(request.timer);
        request.reject(new ServerRefusalError(message.code, message.message));
        return true;
      }
    }
    return false;
  }

  /** An `error` goes to the family of the message it refused; one that names none goes to every family. */
  #routeError(message: ServerErrorMessage): void {
    const family = message.refType !== undefined && isClientMessageType(message.refType) ? CLIENT_MESSAGE_FAMILY[message.refType] : "common";
    if (family === "room" || family === "common") {
      this.emit("room", message);
    }
    if (family === "call" || family === "common") {
      this.emit("call", message);
    }
    if (family === "presence" || family === "common") {
      this.emit("presence", message);
    }
  }

  #report(code: ConnectionErrorCode, message: string): void {
    this.emit("error", { code, message });
  }

  #setState(state: ServerConnectionState): void {
    const previous = this.#state;
    if (previous === state || previous === ServerConnectionState.closed) {
      return;
    }
    this.#state = state;
    this.emit("state", { state, previous });
  }
}

/** True when `message` is one of the `replyTypes` (narrows it for the caller of `request`). */
function isReplyOf<Type extends ServerMessage["type"]>(message: ServerMessage, replyTypes: readonly Type[]): message is Extract<ServerMessage, { type: Type }> {
  return (replyTypes as readonly string[]).includes(message.type);
}

/**
 * The room part of `resumed`: present when the session is still in a room. The fields are checked
 * one by one because issue 10 makes them optional on the wire (a login-only session resumes
 * without them).
 */
function roomOfResumed(message: ResumedMessage): ResumedRoom | undefined {
  const { room, username, list, grants, roomState } = message;
  return room !== undefined && username !== undefined && list !== undefined && grants !== undefined && roomState !== undefined
    ? { room, username, list, grants, roomState }
    : undefined;
}

/** The options a room or phone session takes about its connection. */
export interface SessionConnectionOptions {
  /** Signaling URL; not needed with `connection`. */
  url?: string;
  /** A connection to share; the session opens its own when there is none. */
  connection?: ServerConnection;
  WebSocket?: WebSocketConstructor;
  reconnect?: ReconnectPolicy | false;
  onListenerError?: ListenerErrorHandler;
}

/**
 * The connection a session runs on: the shared one from its options (`owned: false`: the session
 * must leave it open), or one of its own opened with `url` (`owned: true`). `sessionName` names
 * the session in the error thrown when there is neither.
 */
export function sessionConnection(options: SessionConnectionOptions, resumeTimeoutMs: number, sessionName: string): { connection: ServerConnection; owned: boolean } {
  if (options.connection) {
    return { connection: options.connection, owned: false };
  }
  if (options.url === undefined) {
    throw new TypeError(`${sessionName} needs a \`url\` or a \`connection\``);
  }
  const connection = new ServerConnection({
    url: options.url,
    resumeTimeoutMs,
    ...(options.WebSocket ? { WebSocket: options.WebSocket } : {}),
    ...(options.reconnect !== undefined ? { reconnect: options.reconnect } : {}),
    ...(options.onListenerError ? { onListenerError: options.onListenerError } : {}),
  });
  return { connection, owned: true };
}
