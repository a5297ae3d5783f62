/**
 * The uWebSockets.js layer: accepts WebSocket connections on `/ws`, decodes and validates each
 * frame, calls the pure room and call registries and sends what they return. HTTP routes (`/healthz`,
 * `/metrics`, `/r/<room>`) share the port.
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
import { DEFAULT_CONFIG, validateConfig, type ServerConfig } from "./config.ts";
import { ServerMetrics } from "./metrics.ts";
import { loadStaticAssets, type StaticAsset } from "./assets.ts";
import { callPage, embedExamplePage, isValidRoomName, roomPage } from "./pages.ts";
import { RoomRegistry } from "./rooms.ts";
import { TokenBucket } from "./token-bucket.ts";
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

/** Per-connection state kept in the uWebSockets.js user data. */
interface Connection {
  id: string;
  rate: TokenBucket;
  errorBudget: TokenBucket;
  /** Set once the socket is closed or closing; nothing may be sent after that. */
  closed: boolean;
}

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
  const metrics = new ServerMetrics();
  const sockets = new Map<string, WebSocket<Connection>>();
  const startedAtMs = Date.now();
  let shuttingDown = false;

  const app: TemplatedApp = config.tlsCertFile && config.tlsKeyFile
    ? uWS.SSLApp({ cert_file_name: config.tlsCertFile, key_file_name: config.tlsKeyFile })
    : uWS.App();

  function send(ws: WebSocket<Connection>, message: ServerMessage): void {
    const connection = ws.getUserData();
    if (connection.closed) {
      return;
    }
    ws.send(JSON.stringify(message), false);
    metrics.messagesSent += 1;
    if (ws.getBufferedAmount() > config.maxBackpressureBytes) {
      closeConnection(ws, CLOSE_CODES.backpressure, "send buffer full: client is not reading");
    }
  }

  function deliver(deliveries: readonly { to: string; message: ServerMessage }[]): void {
    for (const delivery of deliveries) {
      const target = sockets.get(delivery.to);
      if (target) {
        send(target, delivery.message);
      }
    }
  }

  function closeConnection(ws: WebSocket<Connection>, code: number, reason: string): void {
    const connection = ws.getUserData();
    if (connection.closed) {
      return;
    }
    connection.closed = true;
    ws.end(code, reason);
  }

  /**
   * Answers a refused message (`loginResponse rejected` for a login, `error` otherwise); a
   * connection that keeps sending bad input is closed with 4001.
   */
  function refuse(ws: WebSocket<Connection>, code: ErrorCode, message: string, refType?: string): void {
    metrics.countError(code);
    const connection = ws.getUserData();
    if (!connection.errorBudget.take(Date.now())) {
      closeConnection(ws, CLOSE_CODES.too_many_errors, "too many refused messages");
      return;
    }
    send(ws, refusalMessage(refType, code, message));
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

  function handle(ws: WebSocket<Connection>, message: ClientMessage): void {
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
        send(ws, {
          type: "joined",
          id: connection.id,
          room: message.room,
          username: message.username,
          protocolVersion: PROTOCOL_VERSION,
          iceServers: config.iceServers,
          maxMessageBytes: config.maxMessageBytes,
          roomCapacity: config.roomCapacity,
        });
        deliver(result.deliveries);
        return;
      }
      case "send_offer":
      case "send_aswer":
      case "new_candidate": {
        const result = registry.relay(connection.id, message);
        if (result.ok) {
          deliver(result.deliveries);
        } else {
          refuse(ws, result.code, result.message, message.type);
        }
        return;
      }
      case "close_connection": {
        const result = registry.leave(connection.id);
        if (result.ok) {
          deliver(result.deliveries);
        } else {
          refuse(ws, result.code, result.message, message.type);
        }
        return;
      }
      case "login":
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
    // Checked by send() against the configured bound; uWS's own limit only guards against runaway.
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
      const nowMs = Date.now();
      const connection: Connection = {
        id: nanoid(),
        rate: new TokenBucket(config.messageBurst, config.messagesPerSecond, nowMs),
        errorBudget: new TokenBucket(config.maxErrorBurst, 1, nowMs),
        closed: false,
      };
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
      if (connection.closed) {
        return;
      }
      // Rate first, so that a flood costs no parsing.
      if (!connection.rate.take(Date.now())) {
        refuse(ws, "rate_limited", `more than ${config.messagesPerSecond} messages per second`);
        return;
      }
      if (isBinary) {
        refuse(ws, "binary_not_supported", "binary frames are not accepted");
        return;
      }
      if (data.byteLength > config.maxMessageBytes) {
        refuse(ws, "message_too_large", `frame of ${data.byteLength} bytes exceeds ${config.maxMessageBytes}`);
        return;
      }
      const decoded = decodeClientMessage(Buffer.from(data).toString("utf8"));
      if (!decoded.ok) {
        refuse(ws, decoded.code, decoded.message, decoded.refType);
        return;
      }
      handle(ws, decoded.message);
    },
    close(ws, code) {
      const connection = ws.getUserData();
      connection.closed = true;
      metrics.countClose(code);
      sockets.delete(connection.id);
      const result = registry.leave(connection.id);
      if (result.ok) {
        deliver(result.deliveries);
      }
      applyCallResult(calls.disconnect(connection.id));
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
