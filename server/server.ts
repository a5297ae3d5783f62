/**
 * The uWebSockets.js layer: accepts WebSocket connections on `/ws`, decodes and validates each
 * frame, calls the pure room, call and resume registries and sends what they return. Frames and
 * closes are queued in an {@link Outbox} and written once the event loop's poll phase is over. HTTP
 * routes (`/healthz`, `/metrics`, `/r/<room>`) share the port.
 */
import { nanoid } from "nanoid";
import {
  CLOSE_CODES,
  PROTOCOL_VERSION,
  assertNever,
  decodeClientMessage,
  type ClientMessage,
  type ErrorCode,
  type ServerMessage,
} from "../shared/protocol/index.ts";
import { AddressRateLimiter, ConnectionsPerAddress } from "./address-limits.ts";
import { isAllowedAvatar } from "./avatars.ts";
import { CallRegistry, refusalMessage, type CallResult } from "./calls.ts";
import { addressLimitKey, clientAddress, TrustedProxies } from "./client-address.ts";
import { DEFAULT_CONFIG, defaultMaxConnections, openFileLimit, turnSettings, validateConfig, type ServerConfig } from "./config.ts";
import { FailureReporter } from "./failures.ts";
import { ServerMetrics } from "./metrics.ts";
import { answerAsset, loadStaticAssets, type StaticAsset } from "./assets.ts";
import { callPage, embedExamplePage, roomFromPath, roomPage } from "./pages.ts";
import { Outbox } from "./outbox.ts";
import { PresenceFanout, type PresenceChanges } from "./presence.ts";
import { RelayStamps, isVerbatim, objectBodyLength } from "./relay-frame.ts";
import { RESUME_BUFFER_MAX_BYTES, SessionResumption, suspendsOnClose } from "./resume.ts";
import { RoomRegistry, type TargetedMessage } from "./rooms.ts";
import { iceServersFor, type IssuedIceServers } from "./turn.ts";
import { FULL_BUCKET, TokenBucket, type BucketState } from "./token-bucket.ts";
import { isNativeUws, uWS } from "./uws.ts";
import type { HttpRequest, HttpResponse, TemplatedApp, WebSocket, us_listen_socket } from "uWebSockets.js";

/** Path of the signaling WebSocket endpoint. */
export const WEBSOCKET_PATH = "/ws";

/**
 * Frames up to this multiple of `maxMessageBytes` reach the message handler and are refused with
 * `message_too_large`; on anything larger the transport drops the TCP connection (the client sees
 * 1006), since reading it would already cost the memory the limit protects.
 */
const HARD_FRAME_CAP_FACTOR = 4;

/** Lifecycle of a connection's socket. */
const CONNECTION_STATES = {
  /** Frames may be queued for it. */
  open: 0,
  /** A close is queued: nothing more may be queued, what was queued before still goes out. */
  closing: 1,
  /** The socket is gone (its close handler ran): nothing may touch it. */
  gone: 2,
} as const;

type ConnectionState = (typeof CONNECTION_STATES)[keyof typeof CONNECTION_STATES];

/**
 * Per-connection state kept in the uWebSockets.js user data. Kept to a few plain fields: it is
 * most of what an idle connection costs beyond the transport's own bookkeeping.
 */
interface Connection {
  id: string;
  state: ConnectionState;
  /** Message rate bucket (see {@link TokenBucket}). */
  rate: BucketState;
  /** Refused-message budget; when empty, the connection is closed with 4001. */
  errorBudget: BucketState;
  /** The client address's limit key ({@link addressLimitKey}), shared with the per-address counters. */
  address: string;
  /** The `Host` header it connected with (this server as the client reaches it), for avatar checks; "" when absent or too long. */
  host: string;
}

/** Longest `Host` header kept: a 253-character DNS name plus `:65535`. A longer one is no host. */
const HOST_HEADER_MAX_LENGTH = 259;

/**
 * A new connection id: `nanoid()` copied into one flat string. nanoid builds its id a character at
 * a time, which V8 keeps as a chain of rope nodes (about 300 bytes, four times the characters) until
 * something flattens it, and a connection id lives as long as its connection.
 */
function newConnectionId(): string {
  return Buffer.from(nanoid(), "latin1").toString("latin1");
}

/** A new resume token: 32 nanoid characters (190 bits), flat for the same reason as connection ids. */
function newResumeToken(): string {
  return Buffer.from(nanoid(32), "latin1").toString("latin1");
}

/**
 * The `error.message` of every refused `resume`, whatever the reason: telling an unknown id from a
 * wrong token would tell a stranger which session ids are alive.
 */
const RESUME_REFUSED = "cannot resume that session: join or log in as a new one";

/** Seconds a refused upgrade is told to wait (`Retry-After`). */
const UPGRADE_RETRY_AFTER_SECONDS = 5;


/** Decodes text frames; uWebSockets.js has already closed any connection that sent invalid UTF-8. */
const UTF8 = new TextDecoder("utf-8", { ignoreBOM: true });

/** A started server. */
export interface RunningServer {
  readonly config: ServerConfig;
  /** The port actually bound (useful with `port: 0`). */
  readonly port: number;
  /** Base HTTP URL on loopback, e.g. `http://127.0.0.1:8080`. */
  readonly httpUrl: string;
  /** Signaling URL on loopback, e.g. `ws://127.0.0.1:8080/ws`. */
  readonly wsUrl: string;
  /** Current number of open WebSocket connections. */
  connectionCount(): number;
  /**
   * Stops accepting connections and closes every open one with 1012 (service restart), which
   * tells clients to reconnect. Safe to call twice.
   */
  close(): Promise<void>;
}

/**
 * Answers an HTTP request once: a handler boundary that catches an exception after the answer was
 * written must not write a second one.
 */
const answered = new WeakSet<HttpResponse>();

/** Responses to `HEAD` requests: answered like the `GET` of the same route, without the body. */
const headRequests = new WeakSet<HttpResponse>();

/** Starts a server with {@link DEFAULT_CONFIG} overridden by `overrides`. */
export async function startServer(overrides: Partial<ServerConfig> = {}): Promise<RunningServer> {
  const config = validateConfig({ ...DEFAULT_CONFIG, ...overrides });
  const registry = new RoomRegistry({ roomCapacity: config.roomCapacity });
  const calls = new CallRegistry({ ringTimeoutMs: config.ringTimeoutMs });
  /** Ring and `ending` timers the call registry asked for, by timer id. */
  const callTimers = new Map<string, NodeJS.Timeout>();
  /** Presence frames, coalesced per `presenceWindowMs`; -1 sends every change at once (no coalescing). */
  const presence = new PresenceFanout({ coalesce: config.presenceWindowMs >= 0 });
  /** Cancels the open presence window's timer, if one runs. */
  let cancelPresenceWindow: (() => void) | undefined;
  const metrics = new ServerMetrics();
  const failures = new FailureReporter(metrics);
  const sockets = new Map<string, WebSocket<Connection>>();
  const messageRate = new TokenBucket(config.messageBurst, config.messagesPerSecond);
  const errorRate = new TokenBucket(config.maxErrorBurst, 1);
  const relayStamps = new RelayStamps();
  const turn = turnSettings(config);
  /**
   * Sessions (room participants and logins) whose socket was lost abruptly, waiting to be resumed.
   * Their buffer stays within half the backpressure bound, so replaying it on the new socket never
   * trips the slow-reader close.
   */
  const resumption = new SessionResumption({
    graceMs: config.resumeGraceMs,
    maxBufferedBytes: Math.min(RESUME_BUFFER_MAX_BYTES, Math.floor(config.maxBackpressureBytes / 2)),
  });
  /** One timer per suspended session, ending it as a close would. */
  const graceTimers = new Map<string, NodeJS.Timeout>();
  /** Suspended sessions whose buffer overflowed, to be ended once the current delivery is out. */
  const overflowed: string[] = [];
  /** Connections whose session a `resume` moved to another socket: their close ends nothing. */
  const takenOver = new WeakSet<Connection>();
  /** Everything the server writes goes through here, to be written after the poll phase. */
  const outbox = new Outbox<WebSocket<Connection>>({
    write(ws, frame) {
      const state = ws.getUserData().state;
      if (state === CONNECTION_STATES.gone) {
        return;
      }
      // Past the bound a 4002 close is queued already. Frames queued behind the one that crossed it
      // would only grow the buffer up to uWebSockets.js's own limit, past which it drops frames,
      // the close frame included: the client would then see a bare TCP close (1006), not 4002.
      if (state === CONNECTION_STATES.closing && ws.getBufferedAmount() > config.maxBackpressureBytes) {
        return;
      }
      ws.send(frame, false);
      metrics.messagesSent += 1;
      if (ws.getBufferedAmount() > config.maxBackpressureBytes) {
        closeConnection(ws, CLOSE_CODES.backpressure, "send buffer full: client is not reading");
      }
    },
    end(ws, code, reason) {
      if (ws.getUserData().state !== CONNECTION_STATES.gone) {
        ws.end(code, reason);
      }
    },
  }, setImmediate, (error) => failures.report("outbox", error));
  const startedAtMs = Date.now();
  let shuttingDown = false;
  /** Called when the last WebSocket closed during a shutdown. */
  let onDrained: (() => void) | undefined;
  /** Open uWebSockets.js sockets, taken-over ones included (`sockets` holds one per session). */
  let openSocketCount = 0;
  const reportInternal = (place: string, error: unknown): void => failures.report(place, error);
  const guarded = (place: string, body: () => void): void => failures.guarded(place, body);

  const maxConnections = config.maxConnections > 0 ? config.maxConnections : defaultMaxConnections(openFileLimit());
  const trustedProxies = new TrustedProxies(config.trustedProxies);
  const connectionsPerAddress = new ConnectionsPerAddress(config.maxConnectionsPerAddress);
  const upgradeAttempts = new AddressRateLimiter({ perSecond: config.upgradesPerSecondPerAddress, burst: config.upgradeBurstPerAddress });
  const loginAttempts = new AddressRateLimiter({ perSecond: config.loginsPerSecondPerAddress, burst: config.loginBurstPerAddress });
  const callAttempts = new AddressRateLimiter({ perSecond: config.callsPerSecondPerAddress, burst: config.callBurstPerAddress });
  const resumeFailures = new AddressRateLimiter({ perSecond: config.resumeFailuresPerSecondPerAddress, burst: config.resumeFailureBurstPerAddress });
  /** Drops the state of addresses whose buckets are full again, so idle addresses cost nothing. */
  const sweepTimer = setInterval(() => guarded("sweep", () => {
    const nowMs = performance.now();
    for (const limiter of [upgradeAttempts, loginAttempts, callAttempts, resumeFailures]) {
      limiter.sweep(nowMs);
    }
  }), 10_000);
  sweepTimer.unref();

  const app: TemplatedApp = config.tlsCertFile && config.tlsKeyFile
    ? uWS.SSLApp({ cert_file_name: config.tlsCertFile, key_file_name: config.tlsKeyFile })
    : uWS.App();

  /** Queues `message` for `ws`, unless a close is already queued for it. */
  function send(ws: WebSocket<Connection>, message: ServerMessage): void {
    sendFrame(ws, JSON.stringify(message));
  }

  /** Queues a serialized frame for `ws`, unless a close is already queued for it. */
  function sendFrame(ws: WebSocket<Connection>, frame: string): void {
    if (ws.getUserData().state === CONNECTION_STATES.open) {
      outbox.send(ws, frame);
    }
  }

  /** Sends each delivery, then ends the suspended sessions whose buffer it overflowed. */
  function deliver(deliveries: readonly { to: string; message: ServerMessage }[]): void {
    queueDeliveries(deliveries);
    settleOverflows();
  }

  /**
   * Queues each delivery for its socket, or buffers it for a suspended session; a message object
   * shared by several recipients is serialized once. Overflows are left to {@link settleOverflows}.
   */
  function queueDeliveries(deliveries: readonly { to: string; message: ServerMessage }[]): void {
    let lastMessage: ServerMessage | undefined;
    let lastFrame = "";
    const frames = deliveries.length > 2 ? new Map<ServerMessage, string>() : undefined;
    for (const { to, message } of deliveries) {
      const target = sockets.get(to);
      if (!target && !resumption.isSuspended(to)) {
        continue;
      }
      if (message !== lastMessage) {
        lastMessage = message;
        lastFrame = frames?.get(message) ?? JSON.stringify(message);
        frames?.set(message, lastFrame);
      }
      if (target) {
        sendFrame(target, lastFrame);
      } else {
        hold(to, lastFrame);
      }
    }
  }

  /** Buffers `frame` for suspended session `id`; an overflow ends the session shortly. */
  function hold(id: string, frame: string): void {
    if (resumption.buffer(id, frame) === "overflow") {
      overflowed.push(id);
    }
  }

  /**
   * Ends the sessions whose resume buffer overflowed. Run after a whole delivery (or call result)
   * has been queued, so that nobody sees this leave in the middle of another event's messages.
   */
  function settleOverflows(): void {
    while (overflowed.length > 0) {
      endSession(overflowed.shift() as string);
    }
  }

  /**
   * Ends session `id` as a close ends it: it leaves its room (the others get `close_connection`
   * and `rest_connection_list`) and its login ends (`presenceLeft`; its call ends as for a closed
   * connection). Used on a close that does not suspend and when a suspension ends unresumed.
   */
  function endSession(id: string): void {
    clearTimeout(graceTimers.get(id));
    graceTimers.delete(id);
    resumption.forget(id);
    const result = registry.leave(id);
    if (result.ok) {
      deliver(result.deliveries);
    }
    applyCallResult(calls.disconnect(id));
  }

  /** The resume token of session `id`: the one it holds (one per session), or a new one. */
  function sessionToken(id: string): string {
    let token = resumption.tokenOf(id);
    if (token === undefined) {
      token = newResumeToken();
      resumption.admit(id, token);
    }
    return token;
  }

  /** What `joined`, `resumed`, `ice_servers` and `loginResponse` carry for connection `id` now. */
  function issueIceServers(id: string): IssuedIceServers {
    return iceServersFor(config.iceServers, turn, id, Date.now());
  }

  /** Queues a close of `ws` after what is already queued for it; safe to call twice. */
  function closeConnection(ws: WebSocket<Connection>, code: number, reason: string): void {
    const connection = ws.getUserData();
    if (connection.state !== CONNECTION_STATES.open) {
      return;
    }
    connection.state = CONNECTION_STATES.closing;
    outbox.close(ws, code, reason);
  }

  /**
   * Answers a refused message (`loginResponse rejected` for a login, `error` otherwise); a
   * connection that keeps sending bad input is closed with 4001.
   */
  function refuse(ws: WebSocket<Connection>, code: ErrorCode, message: string, refType?: string, nowMs = performance.now()): void {
    metrics.countError(code);
    const connection = ws.getUserData();
    const errorBudget = errorRate.take(connection.errorBudget, nowMs);
    if (errorBudget === undefined) {
      closeConnection(ws, CLOSE_CODES.too_many_errors, "too many refused messages");
      return;
    }
    connection.errorBudget = errorBudget;
    send(ws, refusalMessage(refType, code, message));
  }

  /**
   * Relays a validated negotiation message to its target, stamped with the sender. `text` and
   * `bytes` are the frame it was decoded from (`bytes` valid during this call only): when the text
   * holds exactly the validated message, the relayed frame is built from the bytes instead of
   * serializing the message again.
   */
  function relay(ws: WebSocket<Connection>, message: TargetedMessage, text: string, bytes: Uint8Array, nowMs: number): void {
    const connection = ws.getUserData();
    const route = registry.route(connection.id, message.type, message.targetId);
    if (!route.ok) {
      refuse(ws, route.code, route.message, message.type, nowMs);
      return;
    }
    const target = sockets.get(route.to);
    if (!target) {
      // A suspended target gets it on resume; the rare slow path serializes the stamped message.
      if (resumption.isSuspended(route.to)) {
        hold(route.to, JSON.stringify({ ...message, id: connection.id, username: route.username }));
        settleOverflows();
      }
      return;
    }
    if (target.getUserData().state !== CONNECTION_STATES.open) {
      return;
    }
    if (isVerbatim(text, message)) {
      outbox.sendJoined(target, bytes, objectBodyLength(bytes), relayStamps.get(connection.id, route.username));
    } else {
      send(target, { ...message, id: connection.id, username: route.username });
    }
  }

  /**
   * Carries out what the call registry asked for: sends, then presence, timers and closes, and only
   * then ends the suspended sessions whose buffer overflowed: ending one is another registry
   * operation, whose presence changes must come after this result's.
   */
  function applyCallResult(result: CallResult, ws?: WebSocket<Connection>, refType?: string): void {
    if (!result.ok) {
      if (ws) {
        refuse(ws, result.code, result.message, refType);
      }
      return;
    }
    queueDeliveries(result.deliveries);
    applyPresenceChanges(result.presence);
    for (const timer of result.timers) {
      clearTimeout(callTimers.get(timer.timerId));
      callTimers.delete(timer.timerId);
      if (timer.op === "start") {
        callTimers.set(timer.timerId, setTimeout(() => guarded("call timer", () => {
          callTimers.delete(timer.timerId);
          applyCallResult(calls.timerFired(timer.timerId));
        }), timer.delayMs));
      }
    }
    for (const close of result.closes) {
      const target = sockets.get(close.connectionId);
      if (target) {
        closeConnection(target, close.code, close.reason);
      } else if (resumption.isSuspended(close.connectionId)) {
        // A newer login took over a suspended one: the suspension is discarded, as the close of a
        // live socket would end its session (a close the server makes is never suspended).
        endSession(close.connectionId);
      }
    }
    settleOverflows();
  }

  /**
   * Hands a call result's directory changes to the presence fan-out: a new login's snapshot goes out
   * now, right after its `loginResponse`; everything else when the window it opened runs out.
   */
  function applyPresenceChanges(changes: PresenceChanges): void {
    const effects = presence.apply(changes);
    deliver(effects.deliveries);
    if (effects.startWindow && !shuttingDown) {
      const flush = (): void => guarded("presence window", () => {
        cancelPresenceWindow = undefined;
        deliver(presence.flush());
      });
      if (config.presenceWindowMs === 0) {
        const immediate = setImmediate(flush);
        cancelPresenceWindow = () => clearImmediate(immediate);
      } else {
        const timeout = setTimeout(flush, config.presenceWindowMs);
        cancelPresenceWindow = () => clearTimeout(timeout);
      }
    }
  }

  /**
   * `resume`: moves session `id` onto `ws`, which becomes that session (same id, same seat, same
   * login), and replays what was buffered for it after a fresh `presence` directory for a login.
   * The connection must be fresh: a room or a login of its own would be orphaned by the change of id.
   */
  function resume(ws: WebSocket<Connection>, id: string, token: string, nowMs: number): void {
    const connection = ws.getUserData();
    // Past its budget of refused resumes an address gets the same refusal without a token check,
    // so guessing tokens from it costs the guesser time and tells it nothing.
    if (!resumeFailures.allows(connection.address, nowMs)) {
      refuse(ws, "resume_failed", RESUME_REFUSED, "resume", nowMs);
      return;
    }
    if (registry.roomOf(connection.id) !== undefined || calls.userIdOf(connection.id) !== undefined) {
      resumeFailures.take(connection.address, nowMs);
      refuse(ws, "resume_failed", RESUME_REFUSED, "resume", nowMs);
      return;
    }
    const nextToken = newResumeToken();
    const outcome = resumption.resume(id, token, nextToken, performance.now());
    const room = registry.roomOf(id);
    const login = calls.loginOf(id);
    if (!outcome.ok || (room === undefined && login === undefined)) {
      resumeFailures.take(connection.address, nowMs);
      refuse(ws, "resume_failed", RESUME_REFUSED, "resume", nowMs);
      return;
    }
    clearTimeout(graceTimers.get(id));
    graceTimers.delete(id);
    const previous = sockets.get(id);
    if (previous) {
      // Half-open: the client saw the loss before the server did. The old socket says goodbye to
      // nobody; its room seat and its login move to this socket with the id.
      takenOver.add(previous.getUserData());
      closeConnection(previous, CLOSE_CODES.resumed_elsewhere, "resumed on another connection");
    }
    sockets.delete(connection.id);
    connection.id = id;
    sockets.set(id, ws);
    const resumed: Extract<ServerMessage, { type: "resumed" }> = { type: "resumed", id, ...issueIceServers(id), resumeToken: nextToken };
    if (room !== undefined) {
      const list = registry.participants(room);
      resumed.room = room;
      resumed.username = list.find((participant) => participant.id === id)?.username ?? "";
      resumed.list = list;
    }
    if (login !== undefined) {
      resumed.login = login;
    }
    send(ws, resumed);
    if (login !== undefined) {
      // Presence was neither sent nor buffered while away: the whole directory now, and from then
      // on the changes like any subscriber (a half-open socket's subscription is replaced).
      applyPresenceChanges({ subscribed: id, unsubscribed: [id], left: [], updated: [] });
    }
    for (const frame of outcome.frames) {
      sendFrame(ws, frame);
    }
  }

  /**
   * Adds the session fields to an accepted `loginResponse` (`id`, the session's resume token,
   * `resumeGraceMs`) and the caller's ICE servers, when the server hands any out.
   */
  function withSessionFields(result: Extract<CallResult, { ok: true }>, connectionId: string): CallResult {
    const session = { id: connectionId, resumeToken: sessionToken(connectionId), resumeGraceMs: config.resumeGraceMs };
    const iceServers = config.iceServers.length === 0 && !turn ? {} : issueIceServers(connectionId);
    return {
      ...result,
      deliveries: result.deliveries.map((delivery) =>
        delivery.to === connectionId && delivery.message.type === "loginResponse" && delivery.message.content === "accepted"
          ? { ...delivery, message: { ...delivery.message, ...session, ...iceServers } }
          : delivery,
      ),
    };
  }

  /** Acts on one validated message; `text` and `bytes` are its frame (`bytes` valid during this call only). */
  function handle(ws: WebSocket<Connection>, message: ClientMessage, text: string, bytes: Uint8Array, nowMs: number): void {
    const connection = ws.getUserData();
    switch (message.type) {
      case "ping":
        send(ws, message.t === undefined ? { type: "pong" } : { type: "pong", t: message.t });
        return;
      case "new_user": {
        if (message.protocolVersion !== undefined && message.protocolVersion !== PROTOCOL_VERSION) {
          refuse(ws, "unsupported_version", `this server speaks protocol version ${PROTOCOL_VERSION}`, message.type);
          return;
        }
        const result = registry.join(connection.id, message.room, message.username);
        if (!result.ok) {
          refuse(ws, result.code, result.message, message.type);
          return;
        }
        const resumeToken = sessionToken(connection.id);
        send(ws, {
          type: "joined",
          id: connection.id,
          room: message.room,
          username: message.username,
          protocolVersion: PROTOCOL_VERSION,
          ...issueIceServers(connection.id),
          maxMessageBytes: config.maxMessageBytes,
          roomCapacity: config.roomCapacity,
          resumeToken,
          resumeGraceMs: config.resumeGraceMs,
        });
        deliver(result.deliveries);
        return;
      }
      case "resume":
        resume(ws, message.id, message.resumeToken, nowMs);
        return;
      case "refresh_ice_servers":
        if (registry.roomOf(connection.id) === undefined && calls.userIdOf(connection.id) === undefined) {
          refuse(ws, "not_in_room", "refresh_ice_servers needs a joined room or a login", message.type);
          return;
        }
        send(ws, { type: "ice_servers", ...issueIceServers(connection.id) });
        return;
      case "send_offer":
      case "send_aswer":
      case "new_candidate":
        relay(ws, message, text, bytes, nowMs);
        return;
      case "close_connection": {
        const result = registry.leave(connection.id);
        if (result.ok) {
          if (calls.userIdOf(connection.id) === undefined) {
            // Nothing left to resume; a login keeps the session and its token.
            resumption.forget(connection.id);
          }
          deliver(result.deliveries);
        } else {
          refuse(ws, result.code, result.message, message.type);
        }
        return;
      }
      case "login": {
        if (message.avatar !== undefined && !isAllowedAvatar(message.avatar, config.avatarHosts, connection.host)) {
          refuse(ws, "avatar_not_allowed", "avatars may come from this server or the hosts it allows (--avatar-hosts)", message.type, nowMs);
          return;
        }
        if (!loginAttempts.take(connection.address, nowMs)) {
          refuse(ws, "rate_limited", "too many login attempts from this address; try again in a few seconds", message.type, nowMs);
          return;
        }
        const result = calls.handle(connection.id, message);
        applyCallResult(result.ok ? withSessionFields(result, connection.id) : result, ws, message.type);
        return;
      }
      case "call":
        if (!callAttempts.take(connection.address, nowMs)) {
          refuse(ws, "rate_limited", "too many calls from this address; try again in a few seconds", message.type, nowMs);
          return;
        }
        applyCallResult(calls.handle(connection.id, message), ws, message.type);
        return;
      case "incomingCallResponse":
      case "stopCall":
      case "stop":
      case "onIceCandidate":
      case "callDescription":
        applyCallResult(calls.handle(connection.id, message), ws, message.type);
        return;
      default:
        assertNever(message);
    }
  }

  /**
   * Refuses an upgrade with an HTTP error and closes the TCP connection, so that a refused client
   * holds no descriptor; `retryAfterSeconds` tells a well-behaved client when to come back.
   */
  function refuseUpgrade(res: HttpResponse, status: string, reason: string, body: string, retryAfterSeconds?: number): void {
    metrics.countUpgradeRefused(reason);
    res.cork(() => {
      res.writeStatus(status).writeHeader("content-type", "text/plain; charset=utf-8").writeHeader("connection", "close");
      if (retryAfterSeconds !== undefined) {
        res.writeHeader("retry-after", String(retryAfterSeconds));
      }
      if (reason === "version") {
        res.writeHeader("sec-websocket-version", "13");
      }
      res.end(`${body}\n`, true);
      answered.add(res);
    });
  }

  /** Admits or refuses one upgrade: shutdown, protocol, origin, then the connection limits. */
  function upgrade(res: HttpResponse, req: HttpRequest, context: Parameters<HttpResponse["upgrade"]>[4]): void {
    if (shuttingDown) {
      refuseUpgrade(res, "503 Service Unavailable", "shutting_down", "server is restarting", 1);
      return;
    }
    // uWebSockets.js calls this only with a Sec-WebSocket-Key; requests without one reach the
    // `/ws` GET route instead.
    const key = req.getHeader("sec-websocket-key");
    if (req.getHeader("sec-websocket-version") !== "13") {
      refuseUpgrade(res, "426 Upgrade Required", "version", "only WebSocket version 13 (RFC 6455) is served");
      return;
    }
    const origin = req.getHeader("origin");
    if (config.allowedOrigins.length > 0 && !config.allowedOrigins.includes(origin)) {
      refuseUpgrade(res, "403 Forbidden", "origin", "origin not allowed");
      return;
    }
    if (openSocketCount >= maxConnections) {
      refuseUpgrade(res, "503 Service Unavailable", "server_full", "the server holds its maximum number of connections", UPGRADE_RETRY_AFTER_SECONDS);
      return;
    }
    const peer = Buffer.from(res.getRemoteAddressAsText()).toString("latin1");
    const address = addressLimitKey(clientAddress(peer, req.getHeader("x-forwarded-for"), trustedProxies));
    if (!upgradeAttempts.take(address, performance.now())) {
      refuseUpgrade(res, "429 Too Many Requests", "address_rate", "too many connections opened from this address", UPGRADE_RETRY_AFTER_SECONDS);
      return;
    }
    if (!connectionsPerAddress.acquire(address)) {
      refuseUpgrade(res, "429 Too Many Requests", "address_connections", "too many open connections from this address", UPGRADE_RETRY_AFTER_SECONDS);
      return;
    }
    const host = req.getHeader("host");
    const connection: Connection = {
      id: newConnectionId(),
      state: CONNECTION_STATES.open,
      rate: FULL_BUCKET,
      errorBudget: FULL_BUCKET,
      address,
      host: host.length <= HOST_HEADER_MAX_LENGTH ? host : "",
    };
    try {
      res.upgrade(connection, key, req.getHeader("sec-websocket-protocol"), req.getHeader("sec-websocket-extensions"), context);
      answered.add(res);
    } catch (error) {
      connectionsPerAddress.release(address);
      throw error;
    }
  }

  /** Handles one frame: rate, size and shape checks, then {@link handle}. */
  function receive(ws: WebSocket<Connection>, data: ArrayBuffer, isBinary: boolean): void {
    metrics.messagesReceived += 1;
    const connection = ws.getUserData();
    if (connection.state !== CONNECTION_STATES.open) {
      return;
    }
    // One clock reading per message; monotonic, so a wall-clock step neither refills nor drains.
    const nowMs = performance.now();
    // Rate first, so that a flood costs no parsing.
    const rate = messageRate.take(connection.rate, nowMs);
    if (rate === undefined) {
      refuse(ws, "rate_limited", `more than ${config.messagesPerSecond} messages per second`, undefined, nowMs);
      return;
    }
    connection.rate = rate;
    if (isBinary) {
      refuse(ws, "binary_not_supported", "binary frames are not accepted", undefined, nowMs);
      return;
    }
    if (data.byteLength > config.maxMessageBytes) {
      refuse(ws, "message_too_large", `frame of ${data.byteLength} bytes exceeds ${config.maxMessageBytes}`, undefined, nowMs);
      return;
    }
    const bytes = new Uint8Array(data);
    const text = UTF8.decode(bytes);
    const decoded = decodeClientMessage(text);
    if (!decoded.ok) {
      refuse(ws, decoded.code, decoded.message, decoded.refType, nowMs);
      return;
    }
    try {
      handle(ws, decoded.message, text, bytes, nowMs);
    } catch (error) {
      reportInternal(`message ${decoded.message.type}`, error);
      refuse(ws, "internal", "the server failed to handle this message; it has been logged", decoded.message.type, nowMs);
    }
  }

  /**
   * A socket closed: its session (room membership and/or login) is suspended on an abrupt loss,
   * and ends at once otherwise.
   */
  function socketClosed(ws: WebSocket<Connection>, code: number, closeMessage: ArrayBuffer): void {
    const connection = ws.getUserData();
    // A close the server queued itself (4001, 4002, 4003, 1012) is no network loss.
    const closedByServer = connection.state === CONNECTION_STATES.closing;
    connection.state = CONNECTION_STATES.gone;
    metrics.countClose(code);
    if (takenOver.has(connection)) {
      // Its session lives on, on the socket that resumed it.
      return;
    }
    const id = connection.id;
    sockets.delete(id);
    const loggedIn = calls.userIdOf(id) !== undefined;
    if (registry.roomOf(id) === undefined && !loggedIn) {
      resumption.forget(id);
      return;
    }
    // For a 1006, uWebSockets.js says why: nothing (network loss), a timeout, or a protocol violation.
    const reason = code === 1006 && closeMessage.byteLength > 0 ? UTF8.decode(closeMessage) : "";
    const deadlineMs = config.resumeGraceMs > 0 && !shuttingDown && suspendsOnClose(code, closedByServer, reason)
      ? resumption.suspend(id, performance.now())
      : undefined;
    if (deadlineMs === undefined) {
      endSession(id);
      return;
    }
    // Nobody hears of it: the session keeps its seat and its login until it resumes or the window
    // ends. Presence is not buffered (`resumed` is followed by the whole directory instead).
    if (loggedIn) {
      applyPresenceChanges({ unsubscribed: [id], left: [], updated: [] });
    }
    graceTimers.set(id, setTimeout(() => guarded("grace timer", () => {
      graceTimers.delete(id);
      if (resumption.expire(id, Math.max(performance.now(), deadlineMs))) {
        endSession(id);
      }
    }), config.resumeGraceMs));
  }

  app.ws<Connection>(WEBSOCKET_PATH, {
    maxPayloadLength: config.maxMessageBytes * HARD_FRAME_CAP_FACTOR,
    idleTimeout: config.idleTimeoutSeconds,
    sendPingsAutomatically: true,
    // Checked by the outbox after each write against the configured bound; uWS's own limit only
    // guards against runaway.
    maxBackpressure: config.maxBackpressureBytes + config.maxMessageBytes * HARD_FRAME_CAP_FACTOR,
    upgrade(res, req, context) {
      try {
        upgrade(res, req, context);
      } catch (error) {
        reportInternal("upgrade", error);
        answerFailure(res);
      }
    },
    open(ws) {
      metrics.connectionsOpened += 1;
      openSocketCount += 1;
      sockets.set(ws.getUserData().id, ws);
    },
    message(ws, data, isBinary) {
      guarded("message", () => receive(ws, data, isBinary));
    },
    close(ws, code, closeMessage) {
      openSocketCount -= 1;
      connectionsPerAddress.release(ws.getUserData().address);
      guarded("close", () => socketClosed(ws, code, closeMessage));
      if (shuttingDown && openSocketCount === 0) {
        onDrained?.();
      }
    },
  });

  /**
   * Writes a whole answer. While shutting down it says `Connection: close` and closes the
   * keep-alive connection after the answer, so no HTTP client keeps the process alive.
   */
  function respond(res: HttpResponse, status: string, headers: Readonly<Record<string, string>>, body: string | Buffer): void {
    res.cork(() => {
      res.writeStatus(status);
      for (const [name, value] of Object.entries(headers)) {
        res.writeHeader(name, value);
      }
      if (shuttingDown) {
        res.writeHeader("connection", "close");
      }
      if (headRequests.has(res)) {
        // The headers a GET would get, Content-Length included, and no body. (This uWebSockets.js
        // build leaves a response open when endWithoutBody is given a length, so it is written here.)
        res.writeHeader("content-length", String(Buffer.byteLength(body)));
        res.endWithoutBody();
      } else {
        res.end(body, shuttingDown);
      }
      answered.add(res);
    });
  }

  const text = (res: HttpResponse, status: string, contentType: string, body: string): void => {
    respond(res, status, { "content-type": contentType, "cache-control": "no-store" }, body);
  };

  /**
   * The 500 answer of a handler that threw before answering; nothing when it had answered. When
   * even that fails (the handler had written part of an answer), the connection is closed: a
   * response left open would make uWebSockets.js abort the process.
   */
  function answerFailure(res: HttpResponse): void {
    if (answered.has(res)) {
      return;
    }
    try {
      text(res, "500 Internal Server Error", "text/plain; charset=utf-8", "internal error (logged)\n");
    } catch {
      try {
        res.close();
      } catch (error) {
        reportInternal("http close", error);
      }
    }
  }

  /**
   * Registers a GET route inside a boundary: an exception answers that one request with 500, is
   * reported once and counted; the process and every other connection carry on.
   */
  function route(pattern: string, handler: (res: HttpResponse, req: HttpRequest) => void): void {
    const bounded = (res: HttpResponse, req: HttpRequest): void => {
      try {
        handler(res, req);
      } catch (error) {
        reportInternal(`http ${pattern}`, error);
        answerFailure(res);
      }
    };
    app.get(pattern, bounded);
    app.head(pattern, (res, req) => {
      headRequests.add(res);
      bounded(res, req);
    });
  }

  /** Suspended sessions that hold a room seat (the others are suspended logins only). */
  function suspendedParticipantCount(): number {
    let count = 0;
    for (const id of resumption.suspendedIds()) {
      if (registry.roomOf(id) !== undefined) {
        count += 1;
      }
    }
    return count;
  }

  route("/healthz", (res) => {
    const { rooms, participants } = registry.stats();
    const { users, ringingCalls, activeCalls } = calls.stats();
    text(res, "200 OK", "application/json", JSON.stringify({
      status: shuttingDown ? "shutting_down" : "ok",
      protocolVersion: PROTOCOL_VERSION,
      nativeTransport: isNativeUws,
      uptimeSeconds: Math.round((Date.now() - startedAtMs) / 1000),
      connections: openSocketCount,
      maxConnections,
      rooms,
      participants,
      onlineUsers: users,
      ringingCalls,
      activeCalls,
      suspendedParticipants: suspendedParticipantCount(),
      suspendedSessions: resumption.suspendedCount(),
    }));
  });

  route("/metrics", (res) => {
    const { rooms, participants } = registry.stats();
    const { users, ringingCalls, activeCalls } = calls.stats();
    text(res, "200 OK", "text/plain; version=0.0.4", metrics.render({
      webrtc_room_connections: openSocketCount,
      webrtc_room_max_connections: maxConnections,
      webrtc_room_client_addresses: connectionsPerAddress.addressCount,
      webrtc_room_rooms: rooms,
      webrtc_room_participants: participants,
      webrtc_room_online_users: users,
      webrtc_room_ringing_calls: ringingCalls,
      webrtc_room_active_calls: activeCalls,
      webrtc_room_suspended_participants: suspendedParticipantCount(),
      webrtc_room_suspended_sessions: resumption.suspendedCount(),
    }));
  });

  route("/r/:room", (res, req) => {
    const room = roomFromPath(req.getParameter(0) ?? "");
    if (room === undefined) {
      text(res, "400 Bad Request", "text/plain; charset=utf-8", "room names are 1 to 64 letters, digits, _ or -\n");
      return;
    }
    text(res, "200 OK", "text/html; charset=utf-8", roomPage(room));
  });

  // uWebSockets.js hands only requests with a Sec-WebSocket-Key to the upgrade handler.
  route(WEBSOCKET_PATH, (res) => {
    text(res, "400 Bad Request", "text/plain; charset=utf-8", "not a WebSocket handshake (no Sec-WebSocket-Key): connect with a WebSocket client\n");
  });

  route("/call", (res) => {
    text(res, "200 OK", "text/html; charset=utf-8", callPage());
  });

  route("/embed-example.html", (res) => {
    text(res, "200 OK", "text/html; charset=utf-8", embedExamplePage());
  });

  const assets = await loadStaticAssets();
  route("/assets/:file", (res, req) => {
    const asset: StaticAsset | undefined = assets.get(req.getParameter(0) ?? "");
    if (!asset) {
      text(res, "404 Not Found", "text/plain; charset=utf-8", "no such asset (did `npm run build` run?)\n");
      return;
    }
    const { status, headers, body } = answerAsset(asset, { acceptEncoding: req.getHeader("accept-encoding"), ifNoneMatch: req.getHeader("if-none-match") });
    respond(res, status, headers, body);
  });

  route("/", (res) => {
    respond(res, "302 Found", { location: `/r/${nanoid(10)}` }, "");
  });

  app.any("/*", (res, req) => {
    if (req.getMethod().toLowerCase() === "head") {
      headRequests.add(res);
    }
    try {
      text(res, "404 Not Found", "text/plain; charset=utf-8", "not found\n");
    } catch (error) {
      reportInternal("http 404", error);
      answerFailure(res);
    }
  });

  const listenSocket = await new Promise<us_listen_socket>((resolve, reject) => {
    app.listen(config.host, config.port, (socket) => {
      if (socket) {
        resolve(socket);
      } else {
        reject(new Error(`cannot listen on ${config.host}:${config.port} (port in use or not permitted)`));
      }
    });
  });
  const port = uWS.us_socket_local_port(listenSocket);
  const loopbackHost = config.host === "0.0.0.0" || config.host === "::" ? "127.0.0.1" : config.host;
  const secure = Boolean(config.tlsCertFile);
  let closing: Promise<void> | undefined;

  /**
   * Closes by force everything still open: the WebSockets that did not finish their closing
   * handshake (a client that stopped reading) and every HTTP connection, idle keep-alive ones
   * included. The native transport closes them all at once; the JavaScript fallback has no such
   * call, so its WebSockets are closed one by one.
   */
  function forceCloseAll(): void {
    const closeApp = (app as TemplatedApp & { close?: () => void }).close;
    if (typeof closeApp === "function") {
      closeApp.call(app);
      return;
    }
    for (const ws of [...sockets.values()]) {
      if (ws.getUserData().state !== CONNECTION_STATES.gone) {
        ws.close();
      }
    }
  }

  return {
    config,
    port,
    httpUrl: `${secure ? "https" : "http"}://${loopbackHost}:${port}`,
    wsUrl: `${secure ? "wss" : "ws"}://${loopbackHost}:${port}${WEBSOCKET_PATH}`,
    connectionCount: () => openSocketCount,
    close() {
      closing ??= new Promise<void>((resolve) => {
        shuttingDown = true;
        uWS.us_listen_socket_close(listenSocket);
        clearInterval(sweepTimer);
        for (const timer of callTimers.values()) {
          clearTimeout(timer);
        }
        callTimers.clear();
        cancelPresenceWindow?.();
        cancelPresenceWindow = undefined;
        for (const timer of graceTimers.values()) {
          clearTimeout(timer);
        }
        graceTimers.clear();
        for (const ws of [...sockets.values()]) {
          closeConnection(ws, CLOSE_CODES.service_restart, "server restarting");
        }
        let finished = false;
        const finish = (): void => {
          if (finished) {
            return;
          }
          finished = true;
          clearTimeout(deadline);
          // Let the last close frames leave (the outbox writes after the poll phase), then close
          // whatever remains: idle keep-alive HTTP connections and clients that never answered.
          setImmediate(() => {
            guarded("shutdown", forceCloseAll);
            resolve();
          });
        };
        const deadline = setTimeout(finish, config.shutdownTimeoutMs);
        onDrained = finish;
        if (openSocketCount === 0) {
          finish();
        }
      });
      return closing;
    },
  };
}
