/**
 * The HTTP side of the port: every route but the WebSocket upgrade, each inside a failure boundary
 * that answers 500 to that one request, and the answering helpers the upgrade refusals share
 * (an answer is written once; `HEAD` gets the headers of the `GET` without the body).
 */
import { nanoid } from "nanoid";
import type { HttpRequest, HttpResponse, TemplatedApp } from "uWebSockets.js";
import { PROTOCOL_VERSION } from "../shared/protocol/index.ts";
import { answerAsset, type StaticAsset } from "./assets.ts";
import type { AuthMode } from "./config.ts";
import type { ClusterStats } from "./cluster/cluster-rooms.ts";
import type { FailureReporter } from "./failures.ts";
import type { ServerMetrics } from "./metrics.ts";
import { callPage, embedExamplePage, invitationNeededPage, roomFromPath, roomPage } from "./pages.ts";
import { isNativeUws } from "./uws.ts";

/**
 * Answers an HTTP request once: a handler boundary that catches an exception after the answer was
 * written must not write a second one.
 */
const answered = new WeakSet<HttpResponse>();

/** Responses to `HEAD` requests: answered like the `GET` of the same route, without the body. */
const headRequests = new WeakSet<HttpResponse>();

/** Records that `res` has been answered (an upgrade, or a refusal written by the caller). */
export function markAnswered(res: HttpResponse): void {
  answered.add(res);
}

/** The gauges `/healthz` and `/metrics` report, read when a request comes. */
export interface ServerGauges {
  shuttingDown: boolean;
  uptimeSeconds: number;
  connections: number;
  maxConnections: number;
  clientAddresses: number;
  rooms: number;
  participants: number;
  onlineUsers: number;
  ringingCalls: number;
  activeCalls: number;
  /** Watch requests waiting for an answer, and started watches. */
  pendingWatches: number;
  activeWatches: number;
  /** Suspended sessions that hold a room seat. */
  suspendedParticipants: number;
  /** Every suspended session (room seats and logins). */
  suspendedSessions: number;
  /** A node of a cluster (`--redis-url`): its name, its link to Redis and the inbox figures. */
  cluster?: ClusterStats;
}

/** What the routes need from the rest of the server. */
export interface HttpRoutesOptions {
  /** Path of the signaling endpoint: a plain GET there is told to use a WebSocket. */
  websocketPath: string;
  failures: FailureReporter;
  metrics: ServerMetrics;
  /** The built client bundle, by file name. */
  assets: ReadonlyMap<string, StaticAsset>;
  /**
   * The server's auth mode: in token mode `/r/<room>` explains that an invitation is needed; with
   * accounts `/r/<room>` and `/call` ask for a user name and password.
   */
  auth: AuthMode;
  gauges(): ServerGauges;
}

/**
 * Answering helpers bound to one server: its failure reporter, and its shutdown state (once it
 * shuts down, answers close their keep-alive connection).
 */
export class HttpAnswers {
  readonly #failures: FailureReporter;
  readonly #isShuttingDown: () => boolean;

  constructor(failures: FailureReporter, isShuttingDown: () => boolean) {
    this.#failures = failures;
    this.#isShuttingDown = isShuttingDown;
  }

  /**
   * Writes a whole answer. While shutting down it says `Connection: close` and closes the
   * keep-alive connection after the answer, so no HTTP client keeps the process alive.
   */
  respond(res: HttpResponse, status: string, headers: Readonly<Record<string, string>>, body: string | Buffer): void {
    const shuttingDown = this.#isShuttingDown();
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

  /** A text answer that no cache keeps. */
  text(res: HttpResponse, status: string, contentType: string, body: string): void {
    this.respond(res, status, { "content-type": contentType, "cache-control": "no-store" }, body);
  }

  /**
   * The 500 answer of a handler that threw before answering; nothing when it had answered. When
   * even that fails (the handler had written part of an answer), the connection is closed: a
   * response left open would make uWebSockets.js abort the process.
   */
  answerFailure(res: HttpResponse): void {
    if (answered.has(res)) {
      return;
    }
    try {
      this.text(res, "500 Internal Server Error", "text/plain; charset=utf-8", "internal error (logged)\n");
    } catch {
      try {
        res.close();
      } catch (error) {
        this.#failures.report("http close", error);
      }
    }
  }
}

/**
 * Registers `/healthz`, `/metrics`, `/r/:room`, the plain GET of the signaling path, `/call`,
 * `/embed-example.html`, `/assets/:file`, `/` and the 404 of everything else on `app`.
 */
export function registerHttpRoutes(app: TemplatedApp, answers: HttpAnswers, options: HttpRoutesOptions): void {
  const { failures, metrics, assets } = options;
  const plainText = "text/plain; charset=utf-8";
  const html = "text/html; charset=utf-8";

  /**
   * Registers a GET (and HEAD) route inside a boundary: an exception answers that one request with
   * 500, is reported once and counted; the process and every other connection carry on.
   */
  function route(pattern: string, handler: (res: HttpResponse, req: HttpRequest) => void): void {
    const bounded = (res: HttpResponse, req: HttpRequest): void => {
      try {
        handler(res, req);
      } catch (error) {
        failures.report(`http ${pattern}`, error);
        answers.answerFailure(res);
      }
    };
    app.get(pattern, bounded);
    app.head(pattern, (res, req) => {
      headRequests.add(res);
      bounded(res, req);
    });
  }

  route("/healthz", (res) => {
    const gauges = options.gauges();
    const { cluster } = gauges;
    // A node that cannot reach Redis takes no new joins: 503 sends load balancers' new clients elsewhere.
    const redisUnreachable = cluster !== undefined && cluster.redis !== "connected";
    answers.text(res, redisUnreachable ? "503 Service Unavailable" : "200 OK", "application/json", JSON.stringify({
      status: gauges.shuttingDown ? "shutting_down" : redisUnreachable ? "redis_unreachable" : "ok",
      protocolVersion: PROTOCOL_VERSION,
      nativeTransport: isNativeUws,
      uptimeSeconds: gauges.uptimeSeconds,
      connections: gauges.connections,
      maxConnections: gauges.maxConnections,
      rooms: gauges.rooms,
      participants: gauges.participants,
      onlineUsers: gauges.onlineUsers,
      ringingCalls: gauges.ringingCalls,
      activeCalls: gauges.activeCalls,
      pendingWatches: gauges.pendingWatches,
      activeWatches: gauges.activeWatches,
      suspendedParticipants: gauges.suspendedParticipants,
      suspendedSessions: gauges.suspendedSessions,
      ...(cluster === undefined ? {} : { cluster: { node: cluster.node, redis: cluster.redis, redisRttMs: cluster.redisRttMs } }),
    }));
  });

  route("/metrics", (res) => {
    const gauges = options.gauges();
    answers.text(res, "200 OK", "text/plain; version=0.0.4", metrics.render({
      webrtc_room_connections: gauges.connections,
      webrtc_room_max_connections: gauges.maxConnections,
      webrtc_room_client_addresses: gauges.clientAddresses,
      webrtc_room_rooms: gauges.rooms,
      webrtc_room_participants: gauges.participants,
      webrtc_room_online_users: gauges.onlineUsers,
      webrtc_room_ringing_calls: gauges.ringingCalls,
      webrtc_room_active_calls: gauges.activeCalls,
      webrtc_room_pending_watches: gauges.pendingWatches,
      webrtc_room_active_watches: gauges.activeWatches,
      webrtc_room_suspended_participants: gauges.suspendedParticipants,
      webrtc_room_suspended_sessions: gauges.suspendedSessions,
      ...(gauges.cluster === undefined ? {} : {
        webrtc_room_redis_connected: gauges.cluster.redis === "connected" ? 1 : 0,
        webrtc_room_redis_rtt_ms: gauges.cluster.redisRttMs,
        webrtc_room_cluster_inbox_entries: gauges.cluster.inboxEntries,
        webrtc_room_cluster_longest_inbox: gauges.cluster.longestInbox,
        webrtc_room_cluster_reaped_sessions: gauges.cluster.reapedSessions,
      }),
    }));
  });

  route("/r/:room", (res, req) => {
    const room = roomFromPath(req.getParameter(0) ?? "");
    if (room === undefined) {
      answers.text(res, "400 Bad Request", plainText, "room names are 1 to 64 letters, digits, _ or -\n");
      return;
    }
    answers.text(res, "200 OK", html, options.auth === "token" ? invitationNeededPage(room) : roomPage(room, { accounts: options.auth === "accounts" }));
  });

  // uWebSockets.js hands only requests with a Sec-WebSocket-Key to the upgrade handler.
  route(options.websocketPath, (res) => {
    answers.text(res, "400 Bad Request", plainText, "not a WebSocket handshake (no Sec-WebSocket-Key): connect with a WebSocket client\n");
  });

  route("/call", (res) => {
    answers.text(res, "200 OK", html, callPage({ accounts: options.auth === "accounts" }));
  });

  route("/embed-example.html", (res) => {
    answers.text(res, "200 OK", html, embedExamplePage());
  });

  route("/assets/:file", (res, req) => {
    const asset = assets.get(req.getParameter(0) ?? "");
    if (!asset) {
      answers.text(res, "404 Not Found", plainText, "no such asset (did `npm run build` run?)\n");
      return;
    }
    const { status, headers, body } = answerAsset(asset, { acceptEncoding: req.getHeader("accept-encoding"), ifNoneMatch: req.getHeader("if-none-match") });
    answers.respond(res, status, headers, body);
  });

  route("/", (res) => {
    answers.respond(res, "302 Found", { location: `/r/${nanoid(10)}` }, "");
  });

  app.any("/*", (res, req) => {
    if (req.getMethod().toLowerCase() === "head") {
      headRequests.add(res);
    }
    try {
      answers.text(res, "404 Not Found", plainText, "not found\n");
    } catch (error) {
      failures.report("http 404", error);
      answers.answerFailure(res);
    }
  });
}
