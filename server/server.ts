/**
 * The signaling server, put together: the uWebSockets.js transport on `/ws` (server/transport.ts),
 * the handler table that dispatches each validated message by family (server/handlers/), the pure
 * registries behind their store interfaces (server/stores.ts), the one effects applier and timer
 * service that carry out what they return (server/effects.ts, server/timers.ts), the session
 * lifecycle (server/sessions.ts) and the HTTP routes sharing the port (server/http-routes.ts).
 * Composition only: no behaviour lives here.
 */
import type { TemplatedApp, us_listen_socket } from "uWebSockets.js";
import { AddressRateLimiter, FailureWindow } from "./address-limits.ts";
import { loadStaticAssets } from "./assets.ts";
import { CallRegistry } from "./calls.ts";
import { WATCH_TIMER_OWNER, WatchRegistry } from "./watches.ts";
import { ConfigError, DEFAULT_CONFIG, defaultMaxConnections, openFileLimit, tokenSettings, turnSettings, validateConfig, type ServerConfig } from "./config.ts";
import { EffectsApplier, timerOwner } from "./effects.ts";
import { FailureReporter } from "./failures.ts";
import type { ClusterNode } from "./cluster/index.ts";
import { dispatch, handlerTable, type HandlerServices } from "./handlers/index.ts";
import { joinedMessage } from "./handlers/welcome.ts";
import { MAX_PASSWORD_FAILURES, PASSWORD_FAILURE_WINDOW_MS } from "./handlers/rooms.ts";
import { HttpAnswers, registerHttpRoutes } from "./http-routes.ts";
import { LoginDirectory } from "./logins.ts";
import { ServerMetrics } from "./metrics.ts";
import { PresenceFanout } from "./presence.ts";
import { GRACE_TIMER_OWNER, RESUME_BUFFER_MAX_BYTES, SessionResumption } from "./resume.ts";
import { RoomRegistry } from "./rooms.ts";
import { Sessions } from "./sessions.ts";
import type { Logins, PresenceDirectory, RoomMembership, SuspendedSessions } from "./stores.ts";
import { TimerService } from "./timers.ts";
import { WebSocketTransport } from "./transport.ts";
import { OrderedMessages } from "./ordered-messages.ts";
import { TokenKeyError, TokenVerifier } from "./tokens.ts";
import { AccountVerifier } from "./account-verifier.ts";
import { AccountsFileError } from "./accounts.ts";
import { SessionIceServers } from "./turn.ts";
import { uWS } from "./uws.ts";

/** Path of the signaling WebSocket endpoint. */
export const WEBSOCKET_PATH = "/ws";

/** Most messages a connection may send behind a join or login whose token is being verified. */
const MAX_WAITING_MESSAGES = 32;

/** How often address limiters drop the state of addresses whose buckets are full again. */
const ADDRESS_SWEEP_INTERVAL_MS = 10_000;

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

/** The token verifier of a token-mode `config`; undefined in open mode. A key that cannot be used is a {@link ConfigError}. */
async function tokenVerifierFor(config: ServerConfig): Promise<TokenVerifier | undefined> {
  const settings = tokenSettings(config);
  if (settings === undefined) {
    return undefined;
  }
  try {
    return await TokenVerifier.create(settings);
  } catch (error) {
    throw error instanceof TokenKeyError ? new ConfigError(`--auth-public-key / --auth-secret: ${error.message}`) : error;
  }
}

/** The account verifier of an accounts-mode `config`; undefined otherwise. A file that cannot be used is a {@link ConfigError}. */
async function accountVerifierFor(config: ServerConfig): Promise<AccountVerifier | undefined> {
  if (config.auth !== "accounts" || config.accountsFile === undefined) {
    return undefined;
  }
  try {
    return await AccountVerifier.create({ path: config.accountsFile });
  } catch (error) {
    throw error instanceof AccountsFileError ? new ConfigError(`--accounts: ${error.message}`) : error;
  }
}

/** Starts a server with {@link DEFAULT_CONFIG} overridden by `overrides`. */
export async function startServer(overrides: Partial<ServerConfig> = {}): Promise<RunningServer> {
  const config = validateConfig({ ...DEFAULT_CONFIG, ...overrides });
  const tokens = await tokenVerifierFor(config);
  const accounts = await accountVerifierFor(config);
  const startedAtMs = Date.now();
  const metrics = new ServerMetrics();
  const failures = new FailureReporter(metrics);
  const timers = new TimerService((place, body) => failures.guarded(place, body));
  const maxConnections = config.maxConnections > 0 ? config.maxConnections : defaultMaxConnections(openFileLimit());

  // Shared state, each behind its store interface with the in-memory default.
  const rooms: RoomMembership = new RoomRegistry({ roomCapacity: config.roomCapacity, openMode: config.auth === "open" });
  const logins: Logins = new LoginDirectory();
  const calls = new CallRegistry(logins, { ringTimeoutMs: config.ringTimeoutMs });
  /** Watches wait for an answer as long as calls ring. */
  const watches = new WatchRegistry(logins, { requestTimeoutMs: config.ringTimeoutMs });
  /** Presence frames, coalesced per `presenceWindowMs`; -1 sends every change at once (no coalescing). */
  const presence: PresenceDirectory = new PresenceFanout({ coalesce: config.presenceWindowMs >= 0 });
  /**
   * Sessions whose socket was lost abruptly, waiting to be resumed. Their buffer stays within half
   * the backpressure bound, so replaying it on the new socket never trips the slow-reader close.
   */
  const suspended: SuspendedSessions = new SessionResumption({
    graceMs: config.resumeGraceMs,
    maxBufferedBytes: Math.min(RESUME_BUFFER_MAX_BYTES, Math.floor(config.maxBackpressureBytes / 2)),
  });

  const app: TemplatedApp = config.tlsCertFile && config.tlsKeyFile
    ? uWS.SSLApp({ cert_file_name: config.tlsCertFile, key_file_name: config.tlsKeyFile })
    : uWS.App();
  const answers: HttpAnswers = new HttpAnswers(failures, () => transport.shuttingDown);
  const transport = new WebSocketTransport({ config, maxConnections, metrics, failures, answers });

  /** One TURN credential per live session, handed out again until it runs out soon (server/turn.ts). */
  const iceServers = new SessionIceServers(config.iceServers, turnSettings(config));
  const issueIceServers = (id: string) => iceServers.for(id, Date.now());
  const loginAttempts = new AddressRateLimiter({ perSecond: config.loginsPerSecondPerAddress, burst: config.loginBurstPerAddress });
  const callAttempts = new AddressRateLimiter({ perSecond: config.callsPerSecondPerAddress, burst: config.callBurstPerAddress });
  const passwordFailures = new FailureWindow({ maxFailures: MAX_PASSWORD_FAILURES, windowMs: PASSWORD_FAILURE_WINDOW_MS });
  const resumeFailures = new AddressRateLimiter({ perSecond: config.resumeFailuresPerSecondPerAddress, burst: config.resumeFailureBurstPerAddress });

  const applier: EffectsApplier = new EffectsApplier({
    transport,
    suspended,
    presence,
    timers,
    presenceWindowMs: config.presenceWindowMs,
    timerFired: (timerId) => {
      if (timerOwner(timerId) === GRACE_TIMER_OWNER) {
        sessions.graceEnded(timerId.slice(GRACE_TIMER_OWNER.length + 1));
      } else if (timerOwner(timerId) === WATCH_TIMER_OWNER) {
        applier.apply(watches.timerFired(timerId));
      } else {
        applier.apply(calls.timerFired(timerId));
      }
    },
    endSession: (id) => sessions.end(id),
  });
  const sessions = new Sessions({
    rooms,
    logins,
    calls,
    watches,
    suspended,
    applier,
    transport,
    graceMs: config.resumeGraceMs,
    resumeFailures,
    iceServersFor: issueIceServers,
    forgetIceServers: (id) => iceServers.forget(id),
  });
  const services: HandlerServices = {
    config,
    transport,
    rooms,
    logins,
    calls,
    watches,
    suspended,
    sessions,
    applier,
    loginAttempts,
    callAttempts,
    passwordFailures,
    iceServersFor: issueIceServers,
    handsOutIceServers: iceServers.handsOut,
    tokens,
    accounts,
  };
  /**
   * A node of a cluster when `--redis-url` is given: rooms live in Redis (server/cluster/, loaded
   * only then, so that a single node does not even load the Redis client).
   */
  const cluster: ClusterNode | undefined = config.redisUrl === undefined ? undefined : await (await import("./cluster/index.ts")).startClusterNode({
    redisUrl: config.redisUrl,
    nodeId: config.nodeId,
    transport,
    timers,
    failures,
    roomCapacity: config.roomCapacity,
    joined: (admission, resumeToken) => joinedMessage(services, admission, resumeToken),
    graceMs: config.resumeGraceMs,
    deadAfterMs: config.nodeDeadAfterMs,
    resumeFailures,
    iceServersFor: issueIceServers,
    forgetIceServers: (id) => iceServers.forget(id),
    log: (line) => console.warn(`webrtc-room: ${line}`),
  });
  const handlers = cluster === undefined ? handlerTable(services) : cluster.handlerTable(services);
  /** Keeps each connection's messages in order behind a join or login whose token is being verified. */
  const ordered = new OrderedMessages({
    handle: (sender, message, text, bytes, nowMs) => dispatch(handlers, sender, message, text, bytes, nowMs),
    isOpen: (connection) => transport.isOpen(connection),
    failed: (sender, message, error) => {
      failures.report(`message ${message.type}`, error);
      if (transport.isOpen(sender)) {
        transport.refuse(sender, "internal", "the server failed to handle this message; it has been logged", message.type);
      }
    },
    overflowed: (sender, message, nowMs) => {
      transport.refuse(sender, "rate_limited", "too many messages while the join or login is verified; wait for its answer", message.type, nowMs);
    },
    maxWaitingMessages: MAX_WAITING_MESSAGES,
    // At most one largest frame, held as text and bytes: the per-connection bound grows by 2 × maxMessageBytes at most.
    maxWaitingBytes: config.maxMessageBytes,
  });
  transport.attach(app, WEBSOCKET_PATH, {
    message: (sender, message, text, bytes, nowMs) => ordered.receive(sender, message, text, bytes, nowMs),
    sessionLost: cluster === undefined ? (id, loss) => sessions.lost(id, loss) : (id, loss) => cluster.rooms.lost(id, loss),
  });

  /** Drops the state of addresses whose buckets are full again, so idle addresses cost nothing. */
  const sweepTimer = setInterval(() => failures.guarded("sweep", () => {
    const nowMs = performance.now();
    for (const limiter of [transport.upgradeAttempts, loginAttempts, callAttempts, resumeFailures]) {
      limiter.sweep(nowMs);
    }
    passwordFailures.sweep(nowMs);
    accounts?.sweep(nowMs);
  }), ADDRESS_SWEEP_INTERVAL_MS);
  sweepTimer.unref();

  registerHttpRoutes(app, answers, {
    websocketPath: WEBSOCKET_PATH,
    failures,
    metrics,
    assets: await loadStaticAssets(),
    auth: config.auth,
    gauges: () => {
      const { ringingCalls, activeCalls } = calls.stats();
      const { pendingWatches, activeWatches } = watches.stats();
      const suspendedIds = suspended.suspendedIds();
      // A cluster node counts the rooms and participants it holds sockets for.
      const clusterStats = cluster?.rooms.stats();
      return {
        shuttingDown: transport.shuttingDown,
        uptimeSeconds: Math.round((Date.now() - startedAtMs) / 1000),
        connections: transport.connectionCount,
        maxConnections,
        clientAddresses: transport.clientAddressCount,
        ...rooms.stats(),
        onlineUsers: logins.count(),
        ringingCalls,
        activeCalls,
        pendingWatches,
        activeWatches,
        suspendedParticipants: suspendedIds.filter((id) => rooms.roomOf(id) !== undefined).length,
        suspendedSessions: suspendedIds.length,
        ...(clusterStats === undefined ? {} : { rooms: clusterStats.rooms, participants: clusterStats.participants, cluster: clusterStats }),
      };
    },
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
    connectionCount: () => transport.connectionCount,
    close() {
      closing ??= (() => {
        const drained = transport.shutdown(config.shutdownTimeoutMs);
        uWS.us_listen_socket_close(listenSocket);
        clearInterval(sweepTimer);
        timers.close();
        // A cluster node's sessions leave their rooms (the 1012 closes end them) before it lets go of Redis.
        return cluster === undefined ? drained : drained.then(() => cluster.close());
      })();
      return closing;
    },
  };
}
