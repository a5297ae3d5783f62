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
import { CallRegistry, refusalMessage, type CallResult } from "./calls.ts";
import { DEFAULT_CONFIG, turnSettings, validateConfig, type ServerConfig } from "./config.ts";
import { ServerMetrics } from "./metrics.ts";
import { loadStaticAssets, type StaticAsset } from "./assets.ts";
import { callPage, embedExamplePage, isValidRoomName, roomPage } from "./pages.ts";
import { Outbox } from "./outbox.ts";
import { PresenceFanout, type PresenceChanges } from "./presence.ts";
import { RelayStamps, isVerbatim, objectBodyLength } from "./relay-frame.ts";
import { RESUME_BUFFER_MAX_BYTES, SessionResumption, suspendsOnClose, type ResumeRefusal } from "./resume.ts";
import { RoomRegistry, type TargetedMessage } from "./rooms.ts";
import { iceServersFor, type IssuedIceServers } from "./turn.ts";
import { FULL_BUCKET, TokenBucket, type BucketState } from "./token-bucket.ts";
import { isNativeUws, uWS } from "./uws.ts";
import type { HttpResponse, TemplatedApp, WebSocket, us_listen_socket } from "uWebSockets.js";

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
}

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

/** The `error.message` of each refused `resume` (all share the code `resume_failed`). */
const RESUME_REFUSALS: Record<ResumeRefusal | "already_joined", string> = {
  unknown_id: "no participant to resume under that id (it left, its grace window ended, or the server restarted)",
  wrong_token: "wrong resume token",
  expired: "the grace window to resume is over",
  already_joined: "this connection has already joined a room or logged in",
};

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
  const sockets = new Map<string, WebSocket<Connection>>();
  const messageRate = new TokenBucket(config.messageBurst, config.messagesPerSecond);
  const errorRate = new TokenBucket(config.maxErrorBurst, 1);
  const relayStamps = new RelayStamps();
  const turn = turnSettings(config);
  /**
   * Participants whose socket was lost abruptly, waiting to be resumed. Their buffer stays within
   * half the backpressure bound, so replaying it on the new socket never trips the slow-reader close.
   */
  const resumption = new SessionResumption({
    graceMs: config.resumeGraceMs,
    maxBufferedBytes: Math.min(RESUME_BUFFER_MAX_BYTES, Math.floor(config.maxBackpressureBytes / 2)),
  });
  /** One timer per suspended participant, ending its suspension as a leave. */
  const graceTimers = new Map<string, NodeJS.Timeout>();
  /** Suspended participants whose buffer overflowed, to be removed once the current delivery is out. */
  const overflowed: string[] = [];
  /** Connections whose participant a `resume` moved to another socket: their close is no leave. */
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
  });
  const startedAtMs = Date.now();
  let shuttingDown = false;

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

  /** Sends each delivery; a message object shared by several recipients is serialized once. */
  function deliver(deliveries: readonly { to: string; message: ServerMessage }[]): void {
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
    settleOverflows();
  }

  /** Buffers `frame` for suspended participant `id`; an overflow ends the suspension shortly. */
  function hold(id: string, frame: string): void {
    if (resumption.buffer(id, frame) === "overflow") {
      overflowed.push(id);
    }
  }

  /**
   * Removes the participants whose resume buffer overflowed. Run after a whole delivery has been
   * queued, so that nobody sees this leave in the middle of another event's messages.
   */
  function settleOverflows(): void {
    while (overflowed.length > 0) {
      removeSuspended(overflowed.shift() as string);
    }
  }

  /** Ends `id`'s suspension as a leave: the others get `close_connection` and `rest_connection_list`. */
  function removeSuspended(id: string): void {
    clearTimeout(graceTimers.get(id));
    graceTimers.delete(id);
    resumption.forget(id);
    const result = registry.leave(id);
    if (result.ok) {
      deliver(result.deliveries);
    }
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

  /** Carries out what the call registry asked for: sends, then timers, then closes. */
  function applyCallResult(result: CallResult, ws?: WebSocket<Connection>, refType?: string): void {
    if (!result.ok) {
      if (ws) {
        refuse(ws, result.code, result.message, refType);
      }
      return;
    }
    deliver(result.deliveries);
    applyPresenceChanges(result.presence);
    for (const timer of result.timers) {
      clearTimeout(callTimers.get(timer.timerId));
      callTimers.delete(timer.timerId);
      if (timer.op === "start") {
        callTimers.set(timer.timerId, setTimeout(() => {
          callTimers.delete(timer.timerId);
          applyCallResult(calls.timerFired(timer.timerId));
        }, timer.delayMs));
      }
    }
    for (const close of result.closes) {
      const target = sockets.get(close.connectionId);
      if (target) {
        closeConnection(target, close.code, close.reason);
      }
    }
  }

  /**
   * Hands a call result's directory changes to the presence fan-out: a new login's snapshot goes out
   * now, right after its `loginResponse`; everything else when the window it opened runs out.
   */
  function applyPresenceChanges(changes: PresenceChanges): void {
    const effects = presence.apply(changes);
    deliver(effects.deliveries);
    if (effects.startWindow && !shuttingDown) {
      const flush = (): void => {
        cancelPresenceWindow = undefined;
        deliver(presence.flush());
      };
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
   * `resume`: moves participant `id` onto `ws`, which becomes that participant (same id, same seat),
   * and replays what was buffered for it. The connection must be fresh: a room or a login of its own
   * would be orphaned by the change of id.
   */
  function resume(ws: WebSocket<Connection>, id: string, token: string): void {
    const connection = ws.getUserData();
    if (registry.roomOf(connection.id) !== undefined || calls.userIdOf(connection.id) !== undefined) {
      refuse(ws, "resume_failed", RESUME_REFUSALS.already_joined, "resume");
      return;
    }
    const nextToken = newResumeToken();
    const outcome = resumption.resume(id, token, nextToken, performance.now());
    const room = registry.roomOf(id);
    if (!outcome.ok || room === undefined) {
      refuse(ws, "resume_failed", RESUME_REFUSALS[outcome.ok ? "unknown_id" : outcome.reason], "resume");
      return;
    }
    clearTimeout(graceTimers.get(id));
    graceTimers.delete(id);
    const previous = sockets.get(id);
    if (previous) {
      // Half-open: the client saw the loss before the server did. The old socket says goodbye to
      // nobody, and its login (if any) ends as a close would end it.
      takenOver.add(previous.getUserData());
      closeConnection(previous, CLOSE_CODES.resumed_elsewhere, "resumed on another connection");
      applyCallResult(calls.disconnect(id));
    }
    sockets.delete(connection.id);
    connection.id = id;
    sockets.set(id, ws);
    const list = registry.participants(room);
    send(ws, {
      type: "resumed",
      id,
      room,
      username: list.find((participant) => participant.id === id)?.username ?? "",
      list,
      ...issueIceServers(id),
      resumeToken: nextToken,
    });
    for (const frame of outcome.frames) {
      sendFrame(ws, frame);
    }
  }

  /** Adds the caller's ICE servers to an accepted `loginResponse`, when the server hands any out. */
  function withIceServers(result: Extract<CallResult, { ok: true }>, connectionId: string): CallResult {
    if (config.iceServers.length === 0 && !turn) {
      return result;
    }
    return {
      ...result,
      deliveries: result.deliveries.map((delivery) =>
        delivery.to === connectionId && delivery.message.type === "loginResponse" && delivery.message.content === "accepted"
          ? { ...delivery, message: { ...delivery.message, ...issueIceServers(connectionId) } }
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
        const resumeToken = newResumeToken();
        resumption.admit(connection.id, resumeToken);
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
        resume(ws, message.id, message.resumeToken);
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
          resumption.forget(connection.id);
          deliver(result.deliveries);
        } else {
          refuse(ws, result.code, result.message, message.type);
        }
        return;
      }
      case "login": {
        const result = calls.handle(connection.id, message);
        applyCallResult(result.ok ? withIceServers(result, connection.id) : result, ws, message.type);
        return;
      }
      case "call":
      case "incomingCallResponse":
      case "stopCall":
      case "stop":
      case "onIceCandidate":
        applyCallResult(calls.handle(connection.id, message), ws, message.type);
        return;
      default:
        assertNever(message);
    }
  }

  app.ws<Connection>(WEBSOCKET_PATH, {
    maxPayloadLength: config.maxMessageBytes * HARD_FRAME_CAP_FACTOR,
    idleTimeout: config.idleTimeoutSeconds,
    sendPingsAutomatically: true,
    // Checked by the outbox after each write against the configured bound; uWS's own limit only
    // guards against runaway.
    maxBackpressure: config.maxBackpressureBytes + config.maxMessageBytes * HARD_FRAME_CAP_FACTOR,
    upgrade(res, req, context) {
      const origin = req.getHeader("origin");
      if (shuttingDown) {
        res.writeStatus("503 Service Unavailable").end("server is restarting");
        return;
      }
      if (config.allowedOrigins.length > 0 && !config.allowedOrigins.includes(origin)) {
        res.writeStatus("403 Forbidden").end("origin not allowed");
        return;
      }
      const connection: Connection = { id: newConnectionId(), state: CONNECTION_STATES.open, rate: FULL_BUCKET, errorBudget: FULL_BUCKET };
      res.upgrade(
        connection,
        req.getHeader("sec-websocket-key"),
        req.getHeader("sec-websocket-protocol"),
        req.getHeader("sec-websocket-extensions"),
        context,
      );
    },
    open(ws) {
      metrics.connectionsOpened += 1;
      sockets.set(ws.getUserData().id, ws);
    },
    message(ws, data, isBinary) {
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
      handle(ws, decoded.message, text, bytes, nowMs);
    },
    close(ws, code, closeMessage) {
      const connection = ws.getUserData();
      // A close the server queued itself (4001, 4002, 4003, 1012) is no network loss.
      const closedByServer = connection.state === CONNECTION_STATES.closing;
      connection.state = CONNECTION_STATES.gone;
      metrics.countClose(code);
      if (takenOver.has(connection)) {
        // Its participant lives on, on the socket that resumed it.
        return;
      }
      const id = connection.id;
      sockets.delete(id);
      if (registry.roomOf(id) !== undefined) {
        // For a 1006, uWebSockets.js says why: nothing (network loss), a timeout, or a protocol violation.
        const reason = code === 1006 && closeMessage.byteLength > 0 ? UTF8.decode(closeMessage) : "";
        const deadlineMs = config.resumeGraceMs > 0 && !shuttingDown && suspendsOnClose(code, closedByServer, reason)
          ? resumption.suspend(id, performance.now())
          : undefined;
        if (deadlineMs === undefined) {
          resumption.forget(id);
          const result = registry.leave(id);
          if (result.ok) {
            deliver(result.deliveries);
          }
        } else {
          // Nobody hears of it: the participant keeps its seat until it resumes or the window ends.
          graceTimers.set(id, setTimeout(() => {
            graceTimers.delete(id);
            if (resumption.expire(id, Math.max(performance.now(), deadlineMs))) {
              removeSuspended(id);
            }
          }, config.resumeGraceMs));
        }
      }
      applyCallResult(calls.disconnect(id));
    },
  });

  const text = (res: HttpResponse, status: string, contentType: string, body: string): void => {
    res.cork(() => {
      res.writeStatus(status).writeHeader("content-type", contentType).writeHeader("cache-control", "no-store").end(body);
    });
  };

  app.get("/healthz", (res) => {
    const { rooms, participants } = registry.stats();
    const { users, ringingCalls, activeCalls } = calls.stats();
    text(res, "200 OK", "application/json", JSON.stringify({
      status: shuttingDown ? "shutting_down" : "ok",
      protocolVersion: PROTOCOL_VERSION,
      nativeTransport: isNativeUws,
      uptimeSeconds: Math.round((Date.now() - startedAtMs) / 1000),
      connections: sockets.size,
      rooms,
      participants,
      onlineUsers: users,
      ringingCalls,
      activeCalls,
      suspendedParticipants: resumption.suspendedCount(),
    }));
  });

  app.get("/metrics", (res) => {
    const { rooms, participants } = registry.stats();
    const { users, ringingCalls, activeCalls } = calls.stats();
    text(res, "200 OK", "text/plain; version=0.0.4", metrics.render({
      webrtc_room_connections: sockets.size,
      webrtc_room_rooms: rooms,
      webrtc_room_participants: participants,
      webrtc_room_online_users: users,
      webrtc_room_ringing_calls: ringingCalls,
      webrtc_room_active_calls: activeCalls,
      webrtc_room_suspended_participants: resumption.suspendedCount(),
    }));
  });

  app.get("/r/:room", (res, req) => {
    const room = decodeURIComponent(req.getParameter(0) ?? "");
    if (!isValidRoomName(room)) {
      text(res, "400 Bad Request", "text/plain; charset=utf-8", "room names are 1 to 64 characters of A-Z a-z 0-9 _ -\n");
      return;
    }
    text(res, "200 OK", "text/html; charset=utf-8", roomPage(room));
  });

  app.get("/call", (res) => {
    text(res, "200 OK", "text/html; charset=utf-8", callPage());
  });

  app.get("/embed-example.html", (res) => {
    text(res, "200 OK", "text/html; charset=utf-8", embedExamplePage());
  });

  const assets = await loadStaticAssets();
  app.get("/assets/:file", (res, req) => {
    const asset: StaticAsset | undefined = assets.get(req.getParameter(0) ?? "");
    if (!asset) {
      text(res, "404 Not Found", "text/plain; charset=utf-8", "no such asset (did `npm run build` run?)\n");
      return;
    }
    res.cork(() => {
      res.writeStatus("200 OK")
        .writeHeader("content-type", asset.contentType)
        .writeHeader("cache-control", "no-cache")
        .writeHeader("etag", asset.etag)
        .writeHeader("access-control-allow-origin", "*")
        .end(asset.body);
    });
  });

  app.get("/", (res) => {
    res.cork(() => {
      res.writeStatus("302 Found").writeHeader("location", `/r/${nanoid(10)}`).end();
    });
  });

  app.any("/*", (res) => {
    text(res, "404 Not Found", "text/plain; charset=utf-8", "not found\n");
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

  return {
    config,
    port,
    httpUrl: `${secure ? "https" : "http"}://${loopbackHost}:${port}`,
    wsUrl: `${secure ? "wss" : "ws"}://${loopbackHost}:${port}${WEBSOCKET_PATH}`,
    connectionCount: () => sockets.size,
    close() {
      closing ??= new Promise<void>((resolve) => {
        shuttingDown = true;
        uWS.us_listen_socket_close(listenSocket);
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
        // Let the close frames leave before the caller tears the process down.
        setTimeout(resolve, 50);
      });
      return closing;
    },
  };
}
