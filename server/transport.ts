/**
 * The uWebSockets.js transport adapter: everything that knows about sockets. It admits upgrades
 * (shutdown, WebSocket version, origin, connection limits, per-address limits), admits frames
 * (message rate, binary, size, decoding; refused messages draw on an error budget whose end closes
 * with 4001), keeps one connection record per socket and the map from session id to socket, and
 * writes through the {@link Outbox} (a client that stops reading is closed with 4002).
 *
 * Above it the signaling core sees only {@link Connection} records, session ids and two events
 * ({@link TransportEvents}): a validated message, and a session whose socket is gone. The relay
 * fast path stays here ({@link WebSocketTransport.relay}): a verbatim frame is forwarded as its
 * bytes plus a stamp, never parsed into a new string.
 */
import { nanoid } from "nanoid";
import type { HttpRequest, HttpResponse, TemplatedApp, WebSocket } from "uWebSockets.js";
import { CLOSE_CODES, decodeClientMessage, type ClientMessage, type ErrorCode, type ServerMessage } from "../shared/protocol/index.ts";
import { AddressRateLimiter, ConnectionsPerAddress } from "./address-limits.ts";
import { refusalMessage } from "./logins.ts";
import { addressLimitKey, clientAddress, TrustedProxies } from "./client-address.ts";
import type { ServerConfig } from "./config.ts";
import type { DeliveryPort } from "./effects.ts";
import type { FailureReporter } from "./failures.ts";
import { markAnswered, type HttpAnswers } from "./http-routes.ts";
import type { ServerMetrics } from "./metrics.ts";
import { Outbox } from "./outbox.ts";
import { RelayStamps, isVerbatim, objectBodyLength } from "./relay-frame.ts";
import type { TargetedMessage } from "./rooms.ts";
import { FULL_BUCKET, TokenBucket, type BucketState } from "./token-bucket.ts";

/**
 * Frames up to this multiple of `maxMessageBytes` reach the message handler and are refused with
 * `message_too_large`; on anything larger the transport drops the TCP connection (the client sees
 * 1006), since reading it would already cost the memory the limit protects.
 */
const HARD_FRAME_CAP_FACTOR = 4;

/** Seconds a refused upgrade is told to wait (`Retry-After`). */
const UPGRADE_RETRY_AFTER_SECONDS = 5;

/** Longest `Host` header kept: a 253-character DNS name plus `:65535`. A longer one is no host. */
const HOST_HEADER_MAX_LENGTH = 259;

/** Decodes text frames; uWebSockets.js has already closed any connection that sent invalid UTF-8. */
const UTF8 = new TextDecoder("utf-8", { ignoreBOM: true });

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
 * most of what an idle connection costs beyond the transport's own bookkeeping. The core reads
 * `id`, `address` and `host`; the rest is the transport's.
 */
export interface Connection {
  /** The session id: assigned at upgrade, replaced by the resumed session's id on `resume`. */
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

/** How a session's socket ended, as the core needs it to decide between suspending and ending. */
export interface SessionLoss {
  /** The close code the transport reported. */
  code: number;
  /** True when the server had queued the close itself (4001, 4002, 4003, 1012): no network loss. */
  closedByServer: boolean;
  /** For a 1006, why uWebSockets.js dropped it: "" (network loss), a timeout, or a protocol violation. */
  reason: string;
}

/** What the transport hands to the signaling core. */
export interface TransportEvents {
  /**
   * A validated message from `sender`. `text` and `bytes` are the frame it was decoded from
   * (`bytes` valid during this call only), for the relay fast path. An exception is reported and
   * answered with `internal`.
   */
  message(sender: Connection, message: ClientMessage, text: string, bytes: Uint8Array, nowMs: number): void;
  /** The socket of session `id` is gone (a socket that a `resume` took over is not reported). */
  sessionLost(id: string, loss: SessionLoss): void;
}

/** What a {@link WebSocketTransport} works with. */
export interface WebSocketTransportOptions {
  config: ServerConfig;
  /** Most open sockets; more upgrades are refused with 503. */
  maxConnections: number;
  metrics: ServerMetrics;
  failures: FailureReporter;
  answers: HttpAnswers;
}

/**
 * A new connection id: `nanoid()` copied into one flat string. nanoid builds its id a character at
 * a time, which V8 keeps as a chain of rope nodes (about 300 bytes, four times the characters) until
 * something flattens it, and a connection id lives as long as its connection.
 */
function newConnectionId(): string {
  return Buffer.from(nanoid(), "latin1").toString("latin1");
}

/** The signaling WebSocket endpoint on a uWebSockets.js app. */
export class WebSocketTransport implements DeliveryPort {
  readonly #config: ServerConfig;
  readonly #metrics: ServerMetrics;
  readonly #failures: FailureReporter;
  readonly #answers: HttpAnswers;
  readonly #maxConnections: number;
  /** Session id → its socket (one per session; a taken-over socket is no longer here). */
  readonly #sockets = new Map<string, WebSocket<Connection>>();
  /** Connections whose session a `resume` moved to another socket: their close is no loss. */
  readonly #takenOver = new WeakSet<Connection>();
  readonly #messageRate: TokenBucket;
  readonly #errorRate: TokenBucket;
  readonly #relayStamps = new RelayStamps();
  readonly #trustedProxies: TrustedProxies;
  readonly #connectionsPerAddress: ConnectionsPerAddress;
  /** Upgrade attempts per address; swept with the server's other address limiters. */
  readonly upgradeAttempts: AddressRateLimiter;
  /** Everything the server writes goes through here, to be written after the poll phase. */
  readonly #outbox: Outbox<WebSocket<Connection>>;
  #events: TransportEvents | undefined;
  #app: TemplatedApp | undefined;
  /** Open uWebSockets.js sockets, taken-over ones included. */
  #openSocketCount = 0;
  #shuttingDown = false;
  /** Called when the last socket closed during a shutdown. */
  #onDrained: (() => void) | undefined;

  constructor(options: WebSocketTransportOptions) {
    const { config } = options;
    this.#config = config;
    this.#metrics = options.metrics;
    this.#failures = options.failures;
    this.#answers = options.answers;
    this.#maxConnections = options.maxConnections;
    this.#messageRate = new TokenBucket(config.messageBurst, config.messagesPerSecond);
    this.#errorRate = new TokenBucket(config.maxErrorBurst, 1);
    this.#trustedProxies = new TrustedProxies(config.trustedProxies);
    this.#connectionsPerAddress = new ConnectionsPerAddress(config.maxConnectionsPerAddress);
    this.upgradeAttempts = new AddressRateLimiter({ perSecond: config.upgradesPerSecondPerAddress, burst: config.upgradeBurstPerAddress });
    this.#outbox = new Outbox<WebSocket<Connection>>({
      write: (ws, frame) => {
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
        this.#metrics.messagesSent += 1;
        if (ws.getBufferedAmount() > config.maxBackpressureBytes) {
          this.#closeSocket(ws, CLOSE_CODES.backpressure, "send buffer full: client is not reading");
        }
      },
      end: (ws, code, reason) => {
        if (ws.getUserData().state !== CONNECTION_STATES.gone) {
          ws.end(code, reason);
        }
      },
    }, setImmediate, (error) => this.#failures.report("outbox", error));
  }

  /** Serves the signaling endpoint at `path` on `app`, handing messages and losses to `events`. */
  attach(app: TemplatedApp, path: string, events: TransportEvents): void {
    const config = this.#config;
    this.#app = app;
    this.#events = events;
    app.ws<Connection>(path, {
      maxPayloadLength: config.maxMessageBytes * HARD_FRAME_CAP_FACTOR,
      idleTimeout: config.idleTimeoutSeconds,
      sendPingsAutomatically: true,
      // Checked by the outbox after each write against the configured bound; uWS's own limit only
      // guards against runaway.
      maxBackpressure: config.maxBackpressureBytes + config.maxMessageBytes * HARD_FRAME_CAP_FACTOR,
      upgrade: (res, req, context) => {
        try {
          this.#upgrade(res, req, context);
        } catch (error) {
          this.#failures.report("upgrade", error);
          this.#answers.answerFailure(res);
        }
      },
      open: (ws) => {
        this.#metrics.connectionsOpened += 1;
        this.#openSocketCount += 1;
        this.#sockets.set(ws.getUserData().id, ws);
      },
      message: (ws, data, isBinary) => {
        this.#failures.guarded("message", () => this.#receive(ws, data, isBinary));
      },
      close: (ws, code, closeMessage) => {
        this.#openSocketCount -= 1;
        this.#connectionsPerAddress.release(ws.getUserData().address);
        this.#failures.guarded("close", () => this.#closed(ws, code, closeMessage));
        if (this.#shuttingDown && this.#openSocketCount === 0) {
          this.#onDrained?.();
        }
      },
    });
  }

  /** Open sockets, taken-over ones included. */
  get connectionCount(): number {
    return this.#openSocketCount;
  }

  /** Client addresses holding at least one connection. */
  get clientAddressCount(): number {
    return this.#connectionsPerAddress.addressCount;
  }

  /** True once {@link shutdown} began: upgrades are refused and nothing is suspended any more. */
  get shuttingDown(): boolean {
    return this.#shuttingDown;
  }

  /** True while `connection`'s socket is open and no close is queued for it (it may still be acted for). */
  isOpen(connection: Connection): boolean {
    return connection.state === CONNECTION_STATES.open;
  }

  /** True when session `id` has an open socket. */
  isConnected(id: string): boolean {
    return this.#sockets.has(id);
  }

  /** Queues a serialized frame for session `id`, unless it has no socket or a close is queued for it. */
  sendFrame(id: string, frame: string): void {
    const ws = this.#sockets.get(id);
    if (ws && ws.getUserData().state === CONNECTION_STATES.open) {
      this.#outbox.send(ws, frame);
    }
  }

  /** Queues `message` for `connection`'s own socket (a reply). */
  reply(connection: Connection, message: ServerMessage): void {
    this.sendFrame(connection.id, JSON.stringify(message));
  }

  /** Queues a close of session `id`'s socket after what is queued for it; false when it has none. */
  close(id: string, code: number, reason: string): boolean {
    const ws = this.#sockets.get(id);
    if (!ws) {
      return false;
    }
    this.#closeSocket(ws, code, reason);
    return true;
  }

  /**
   * Answers a refused message (`loginResponse rejected` for a login, `error` otherwise); a
   * connection that keeps sending bad input is closed with 4001.
   */
  refuse(connection: Connection, code: ErrorCode, message: string, refType?: string, nowMs = performance.now()): void {
    this.#metrics.countError(code);
    const errorBudget = this.#errorRate.take(connection.errorBudget, nowMs);
    if (errorBudget === undefined) {
      this.close(connection.id, CLOSE_CODES.too_many_errors, "too many refused messages");
      return;
    }
    connection.errorBudget = errorBudget;
    this.reply(connection, refusalMessage(refType, code, message));
  }

  /**
   * The relay fast path: forwards a validated negotiation `message` of `sender` to session `to`,
   * stamped with the sender's id and `username`. When `text` holds exactly the validated message,
   * the relayed frame is `bytes` with the stamp written over its closing brace, queued without
   * building a string. False when `to` has no socket (the caller may hold it for a suspended session).
   */
  relay(sender: Connection, to: string, username: string, message: TargetedMessage, text: string, bytes: Uint8Array): boolean {
    const target = this.#sockets.get(to);
    if (!target) {
      return false;
    }
    if (target.getUserData().state !== CONNECTION_STATES.open) {
      return true;
    }
    if (isVerbatim(text, message)) {
      this.#outbox.sendJoined(target, bytes, objectBodyLength(bytes), this.#relayStamps.get(sender.id, username));
    } else {
      this.#outbox.send(target, JSON.stringify({ ...message, id: sender.id, username }));
    }
    return true;
  }

  /**
   * Makes `connection` the socket of session `id` (a `resume`). A socket still holding that
   * session (half-open: the client saw the loss before the server did) is closed with 4004 and its
   * close is no loss: the session lives on here.
   */
  adopt(connection: Connection, id: string): void {
    const previous = this.#sockets.get(id);
    if (previous) {
      this.#takenOver.add(previous.getUserData());
      this.#closeSocket(previous, CLOSE_CODES.resumed_elsewhere, "resumed on another connection");
    }
    const ws = this.#sockets.get(connection.id);
    this.#sockets.delete(connection.id);
    connection.id = id;
    if (ws) {
      this.#sockets.set(id, ws);
    }
  }

  /**
   * Closes session `id`'s socket with 4004 because the session now lives on another node of a
   * cluster (it was resumed there): its close is no loss. False when it has no socket here.
   */
  closeTakenOver(id: string): boolean {
    const ws = this.#sockets.get(id);
    if (!ws) {
      return false;
    }
    this.#takenOver.add(ws.getUserData());
    this.#sockets.delete(id);
    this.#closeSocket(ws, CLOSE_CODES.resumed_elsewhere, "resumed on another connection");
    return true;
  }

  /**
   * Begins a shutdown: new upgrades are refused with 503 and every socket is closed with 1012
   * (service restart), which tells clients to reconnect. Resolves once the last socket is gone or
   * `timeoutMs` passed, and the close frames had a turn to leave; then whatever remains is closed
   * by force (clients that never answered, idle keep-alive HTTP connections).
   */
  shutdown(timeoutMs: number): Promise<void> {
    this.#shuttingDown = true;
    for (const ws of [...this.#sockets.values()]) {
      this.#closeSocket(ws, CLOSE_CODES.service_restart, "server restarting");
    }
    return new Promise<void>((resolve) => {
      let finished = false;
      const finish = (): void => {
        if (finished) {
          return;
        }
        finished = true;
        clearTimeout(deadline);
        // Let the last close frames leave (the outbox writes after the poll phase), then close
        // whatever remains.
        setImmediate(() => {
          this.#failures.guarded("shutdown", () => this.#forceCloseAll());
          resolve();
        });
      };
      const deadline = setTimeout(finish, timeoutMs);
      this.#onDrained = finish;
      if (this.#openSocketCount === 0) {
        finish();
      }
    });
  }

  /** Queues a close of `ws` after what is already queued for it; safe to call twice. */
  #closeSocket(ws: WebSocket<Connection>, code: number, reason: string): void {
    const connection = ws.getUserData();
    if (connection.state !== CONNECTION_STATES.open) {
      return;
    }
    connection.state = CONNECTION_STATES.closing;
    this.#outbox.close(ws, code, reason);
  }

  /**
   * Refuses an upgrade with an HTTP error and closes the TCP connection, so that a refused client
   * holds no descriptor; `retryAfterSeconds` tells a well-behaved client when to come back.
   */
  #refuseUpgrade(res: HttpResponse, status: string, reason: string, body: string, retryAfterSeconds?: number): void {
    this.#metrics.countUpgradeRefused(reason);
    res.cork(() => {
      res.writeStatus(status).writeHeader("content-type", "text/plain; charset=utf-8").writeHeader("connection", "close");
      if (retryAfterSeconds !== undefined) {
        res.writeHeader("retry-after", String(retryAfterSeconds));
      }
      if (reason === "version") {
        res.writeHeader("sec-websocket-version", "13");
      }
      res.end(`${body}\n`, true);
      markAnswered(res);
    });
  }

  /** Admits or refuses one upgrade: shutdown, protocol, origin, then the connection limits. */
  #upgrade(res: HttpResponse, req: HttpRequest, context: Parameters<HttpResponse["upgrade"]>[4]): void {
    const config = this.#config;
    if (this.#shuttingDown) {
      this.#refuseUpgrade(res, "503 Service Unavailable", "shutting_down", "server is restarting", 1);
      return;
    }
    // uWebSockets.js calls this only with a Sec-WebSocket-Key; requests without one reach the
    // signaling path's GET route instead.
    const key = req.getHeader("sec-websocket-key");
    if (req.getHeader("sec-websocket-version") !== "13") {
      this.#refuseUpgrade(res, "426 Upgrade Required", "version", "only WebSocket version 13 (RFC 6455) is served");
      return;
    }
    const origin = req.getHeader("origin");
    if (config.allowedOrigins.length > 0 && !config.allowedOrigins.includes(origin)) {
      this.#refuseUpgrade(res, "403 Forbidden", "origin", "origin not allowed");
      return;
    }
    if (this.#openSocketCount >= this.#maxConnections) {
      this.#refuseUpgrade(res, "503 Service Unavailable", "server_full", "the server holds its maximum number of connections", UPGRADE_RETRY_AFTER_SECONDS);
      return;
    }
    const peer = Buffer.from(res.getRemoteAddressAsText()).toString("latin1");
    const address = addressLimitKey(clientAddress(peer, req.getHeader("x-forwarded-for"), this.#trustedProxies));
    if (!this.upgradeAttempts.take(address, performance.now())) {
      this.#refuseUpgrade(res, "429 Too Many Requests", "address_rate", "too many connections opened from this address", UPGRADE_RETRY_AFTER_SECONDS);
      return;
    }
    if (!this.#connectionsPerAddress.acquire(address)) {
      this.#refuseUpgrade(res, "429 Too Many Requests", "address_connections", "too many open connections from this address", UPGRADE_RETRY_AFTER_SECONDS);
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
      markAnswered(res);
    } catch (error) {
      this.#connectionsPerAddress.release(address);
      throw error;
    }
  }

  /** Admits one frame: rate, binary, size and shape checks, then hands it to the core. */
  #receive(ws: WebSocket<Connection>, data: ArrayBuffer, isBinary: boolean): void {
    const config = this.#config;
    this.#metrics.messagesReceived += 1;
    const connection = ws.getUserData();
    if (connection.state !== CONNECTION_STATES.open) {
      return;
    }
    // One clock reading per message; monotonic, so a wall-clock step neither refills nor drains.
    const nowMs = performance.now();
    // Rate first, so that a flood costs no parsing.
    const rate = this.#messageRate.take(connection.rate, nowMs);
    if (rate === undefined) {
      this.refuse(connection, "rate_limited", `more than ${config.messagesPerSecond} messages per second`, undefined, nowMs);
      return;
    }
    connection.rate = rate;
    if (isBinary) {
      this.refuse(connection, "binary_not_supported", "binary frames are not accepted", undefined, nowMs);
      return;
    }
    if (data.byteLength > config.maxMessageBytes) {
      this.refuse(connection, "message_too_large", `frame of ${data.byteLength} bytes exceeds ${config.maxMessageBytes}`, undefined, nowMs);
      return;
    }
    const bytes = new Uint8Array(data);
    const text = UTF8.decode(bytes);
    const decoded = decodeClientMessage(text);
    if (!decoded.ok) {
      this.refuse(connection, decoded.code, decoded.message, decoded.refType, nowMs);
      return;
    }
    try {
      this.#events?.message(connection, decoded.message, text, bytes, nowMs);
    } catch (error) {
      this.#failures.report(`message ${decoded.message.type}`, error);
      this.refuse(connection, "internal", "the server failed to handle this message; it has been logged", decoded.message.type, nowMs);
    }
  }

  /** A socket closed: unless a `resume` took its session over, the core hears that the session lost it. */
  #closed(ws: WebSocket<Connection>, code: number, closeMessage: ArrayBuffer): void {
    const connection = ws.getUserData();
    // A close the server queued itself (4001, 4002, 4003, 1012) is no network loss.
    const closedByServer = connection.state === CONNECTION_STATES.closing;
    connection.state = CONNECTION_STATES.gone;
    this.#metrics.countClose(code);
    if (this.#takenOver.has(connection)) {
      return;
    }
    this.#sockets.delete(connection.id);
    const reason = code === 1006 && closeMessage.byteLength > 0 ? UTF8.decode(closeMessage) : "";
    this.#events?.sessionLost(connection.id, { code, closedByServer, reason });
  }

  /**
   * Closes by force everything still open: the WebSockets that did not finish their closing
   * handshake (a client that stopped reading) and every HTTP connection, idle keep-alive ones
   * included. The native transport closes them all at once; the JavaScript fallback has no such
   * call, so its WebSockets are closed one by one.
   */
  #forceCloseAll(): void {
    const app = this.#app;
    const closeApp = (app as (TemplatedApp & { close?: () => void }) | undefined)?.close;
    if (app && typeof closeApp === "function") {
      closeApp.call(app);
      return;
    }
    for (const ws of [...this.#sockets.values()]) {
      if (ws.getUserData().state !== CONNECTION_STATES.gone) {
        ws.close();
      }
    }
  }
}
