/**
 * Server configuration: defaults, environment variables and `webrtc-room serve` flags, from one
 * table so that `--help`, the docs and the parser cannot drift apart. Flags win over environment
 * variables, which win over defaults.
 */
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import type { IceServer } from "../shared/protocol/index.ts";
import { DEFAULT_UPLINK_BUDGET_KBPS } from "../shared/protocol/room.ts";
import { normalizeAvatarHost } from "./avatars.ts";
import { PRESENCE_WINDOW_MS } from "./presence.ts";
import { DEFAULT_RESUME_GRACE_MS } from "./resume.ts";
import type { TurnSettings } from "./turn.ts";
import { TrustedProxies } from "./client-address.ts";
import { MIN_SECRET_BYTES, type TokenSettings } from "./tokens.ts";

/**
 * Who may join and log in: `open` (anyone, today's behaviour, for development), `token` (a valid
 * signed token for every join and login) or `accounts` (a user id and password from the accounts
 * file for every join and login). One mode per server: docs/security.md says why.
 */
export type AuthMode = "open" | "token" | "accounts";

/** The auth modes, for validation and `--help`. */
export const AUTH_MODES: readonly AuthMode[] = ["open", "token", "accounts"];

/** Everything the server needs to run. */
export interface ServerConfig {
  /**
   * Interface to listen on. `webrtc-room serve` in open mode without an explicit `--auth open`
   * listens on loopback only and refuses any other host ({@link loadConfig}).
   */
  host: string;
  /** 0 picks a free port (tests). */
  port: number;
  /** When both are set the server speaks `https`/`wss`. */
  tlsCertFile?: string;
  tlsKeyFile?: string;
  /** Largest JSON frame accepted; larger frames get `message_too_large`. */
  maxMessageBytes: number;
  /** Most participants per room (a full mesh is practical up to about 8). */
  roomCapacity: number;
  /**
   * The uplink video budget announced in `joined`, in kbit/s: each participant divides it among
   * its video senders (one per other participant), unless its application sets its own.
   */
  uplinkBudgetKbps: number;
  /** Sustained messages per second per connection. */
  messagesPerSecond: number;
  /** Messages a connection may send in a burst above the sustained rate (ICE trickle at join). */
  messageBurst: number;
  /** Refused messages a connection may accumulate (refilled 1 per second) before it is closed. */
  maxErrorBurst: number;
  /** Allowed `Origin` header values; empty means any origin. */
  allowedOrigins: string[];
  /** Seconds without traffic before a connection is dropped; pings are sent before that. */
  idleTimeoutSeconds: number;
  /** Bytes the server may queue for one slow reader before closing it (close code 4002). */
  maxBackpressureBytes: number;
  /** ICE servers handed to every joining client. */
  iceServers: IceServer[];
  /** How long a call may ring before `NotResponse` / `incomingCallNotResponse`. */
  ringTimeoutMs: number;
  /**
   * Presence changes are coalesced for this long: each logged-in connection gets at most one
   * presence frame per window. 0 coalesces within one event-loop turn; -1 (programmatic only, for
   * `bench:presence`'s baseline) turns coalescing off: one frame per change, sent at once.
   */
  presenceWindowMs: number;
  /**
   * How long a participant whose socket was lost abruptly stays in its room, suspended, waiting for
   * its client to `resume`. 0 turns resumption off: an abrupt close is a leave.
   */
  resumeGraceMs: number;
  /** `turn:` / `turns:` URLs handed to clients with short-lived credentials; needs {@link turnSecret}. */
  turnUrls: string[];
  /** coturn's `static-auth-secret` (TURN REST API). Never sent to clients, never logged. */
  turnSecret?: string;
  /** Lifetime of issued TURN credentials, in seconds. */
  turnCredentialTtlSeconds: number;
  /**
   * Most WebSockets open at once, all clients together; past it upgrades get HTTP 503. 0 derives it
   * from the process's open-file limit at start-up ({@link defaultMaxConnections}).
   */
  maxConnections: number;
  /** Most WebSockets one client address (an IPv6 /64) holds at once; past it upgrades get HTTP 429. */
  maxConnectionsPerAddress: number;
  /** Sustained WebSocket upgrades per second per client address. */
  upgradesPerSecondPerAddress: number;
  /** Upgrades one client address may make at once above that rate. */
  upgradeBurstPerAddress: number;
  /** Sustained `login` attempts per second per client address, whatever connection they come on. */
  loginsPerSecondPerAddress: number;
  /** `login` attempts one client address may make at once above that rate. */
  loginBurstPerAddress: number;
  /** Sustained `call` attempts per second per client address. */
  callsPerSecondPerAddress: number;
  /** `call` attempts one client address may make at once above that rate. */
  callBurstPerAddress: number;
  /** Refused `resume` attempts one client address may make per second, sustained. */
  resumeFailuresPerSecondPerAddress: number;
  /** Refused `resume` attempts one client address may make at once. */
  resumeFailureBurstPerAddress: number;
  /**
   * Addresses or CIDR subnets of reverse proxies whose `X-Forwarded-For` names the client. Empty:
   * the TCP peer is the client and `X-Forwarded-For` is ignored.
   */
  trustedProxies: string[];
  /**
   * On SIGTERM/SIGINT (or `close()`), how long open connections get to close after the 1012 close
   * frame before whatever remains is closed by force.
   */
  shutdownTimeoutMs: number;
  /**
   * Hosts (`host` or `host:port`) whose `https:` avatar URLs a `login` may carry, besides this
   * server's own host and same-origin paths, which are always allowed. Empty: those only.
   */
  avatarHosts: string[];
  /** `open` or `token` (see {@link AuthMode}). */
  auth: AuthMode;
  /** HS256 secret join and login tokens are verified with (at least 32 bytes). Never logged. */
  authSecret?: string;
  /**
   * Ed25519 public key tokens are verified with, as JWK (JSON text) or PEM; `--auth-public-key`
   * also takes a file holding either. One of this and {@link authSecret}, not both.
   */
  authPublicKey?: string;
  /** When set, tokens must carry this `iss`. */
  authIssuer?: string;
  /**
   * The accounts file of `--auth accounts` (server/accounts.ts); giving it without `--auth` selects
   * that mode. Read at start and again whenever it changes.
   */
  accountsFile?: string;
  /**
   * Redis (or Valkey) shared by the nodes of a cluster, as a `redis://` / `rediss://` URL or a unix
   * socket path. Unset: one node holding everything in memory (docs/scaling.md).
   */
  redisUrl?: string;
  /** This node's name in the cluster; unset: a random one per start. */
  nodeId?: string;
  /**
   * A node whose heartbeat is older than this is dead; its sessions end once the resume grace
   * window has passed on top of it, unless their clients resumed on another node.
   */
  nodeDeadAfterMs: number;
}

/** Defaults used by `npm start` and by tests that do not override them. */
export const DEFAULT_CONFIG: ServerConfig = {
  host: "0.0.0.0",
  port: 8080,
  maxMessageBytes: 64 * 1024,
  roomCapacity: 8,
  uplinkBudgetKbps: DEFAULT_UPLINK_BUDGET_KBPS,
  messagesPerSecond: 50,
  messageBurst: 200,
  maxErrorBurst: 20,
  allowedOrigins: [],
  idleTimeoutSeconds: 32,
  maxBackpressureBytes: 1024 * 1024,
  iceServers: [{ urls: "stun:stun.l.google.com:19302" }],
  ringTimeoutMs: 30_000,
  presenceWindowMs: PRESENCE_WINDOW_MS,
  resumeGraceMs: DEFAULT_RESUME_GRACE_MS,
  turnUrls: [],
  turnCredentialTtlSeconds: 3600,
  maxConnections: 0,
  maxConnectionsPerAddress: 1000,
  upgradesPerSecondPerAddress: 20,
  upgradeBurstPerAddress: 200,
  loginsPerSecondPerAddress: 5,
  loginBurstPerAddress: 50,
  callsPerSecondPerAddress: 5,
  callBurstPerAddress: 50,
  resumeFailuresPerSecondPerAddress: 2,
  resumeFailureBurstPerAddress: 20,
  trustedProxies: [],
  shutdownTimeoutMs: 2000,
  avatarHosts: [],
  auth: "open",
  nodeDeadAfterMs: 10_000,
};

type OptionKind = "string" | "integer" | "list";

interface OptionSpec {
  key: keyof ServerConfig | "stunUrls";
  flag: string;
  env: string;
  kind: OptionKind;
  help: string;
}

/** The option table behind flags, environment variables, `--help` and docs/configuration.md. */
export const SERVER_OPTIONS: readonly OptionSpec[] = [
  { key: "host", flag: "host", env: "HOST", kind: "string", help: "interface to listen on" },
  { key: "port", flag: "port", env: "PORT", kind: "integer", help: "TCP port (0 = any free port)" },
  { key: "tlsCertFile", flag: "tls-cert", env: "WEBRTC_ROOM_TLS_CERT", kind: "string", help: "PEM certificate file; with --tls-key serves https/wss" },
  { key: "tlsKeyFile", flag: "tls-key", env: "WEBRTC_ROOM_TLS_KEY", kind: "string", help: "PEM private key file" },
  { key: "maxMessageBytes", flag: "max-message-bytes", env: "WEBRTC_ROOM_MAX_MESSAGE_BYTES", kind: "integer", help: "largest accepted frame in bytes" },
  { key: "roomCapacity", flag: "room-capacity", env: "WEBRTC_ROOM_ROOM_CAPACITY", kind: "integer", help: "most participants per room" },
  { key: "uplinkBudgetKbps", flag: "uplink-budget-kbps", env: "WEBRTC_ROOM_UPLINK_BUDGET_KBPS", kind: "integer", help: "uplink video budget in kbit/s that each participant divides among its peers (announced in joined)" },
  { key: "messagesPerSecond", flag: "messages-per-second", env: "WEBRTC_ROOM_MESSAGES_PER_SECOND", kind: "integer", help: "sustained messages per second per connection" },
  { key: "messageBurst", flag: "message-burst", env: "WEBRTC_ROOM_MESSAGE_BURST", kind: "integer", help: "burst of messages allowed above the sustained rate" },
  { key: "maxErrorBurst", flag: "max-error-burst", env: "WEBRTC_ROOM_MAX_ERROR_BURST", kind: "integer", help: "refused messages (refilled 1/s) before the connection is closed with 4001" },
  { key: "allowedOrigins", flag: "allowed-origins", env: "WEBRTC_ROOM_ALLOWED_ORIGINS", kind: "list", help: "comma-separated allowed Origin values; empty = any" },
  { key: "idleTimeoutSeconds", flag: "idle-timeout", env: "WEBRTC_ROOM_IDLE_TIMEOUT", kind: "integer", help: "seconds of silence before a connection is dropped (multiple of 4, >= 8)" },
  { key: "maxBackpressureBytes", flag: "max-backpressure-bytes", env: "WEBRTC_ROOM_MAX_BACKPRESSURE_BYTES", kind: "integer", help: "bytes queued for a slow reader before it is closed with 4002" },
  { key: "ringTimeoutMs", flag: "ring-timeout-ms", env: "WEBRTC_ROOM_RING_TIMEOUT_MS", kind: "integer", help: "milliseconds a call rings before it is given up as not answered" },
  { key: "presenceWindowMs", flag: "presence-window-ms", env: "WEBRTC_ROOM_PRESENCE_WINDOW_MS", kind: "integer", help: "milliseconds presence changes are coalesced (one frame per connection per window); 0 = end of the event-loop turn" },
  { key: "stunUrls", flag: "stun", env: "WEBRTC_ROOM_STUN_URLS", kind: "list", help: "comma-separated STUN URLs handed to clients; empty = none" },
  { key: "resumeGraceMs", flag: "resume-grace-ms", env: "WEBRTC_ROOM_RESUME_GRACE_MS", kind: "integer", help: "milliseconds a participant whose connection dropped may resume; 0 = off" },
  { key: "turnUrls", flag: "turn-urls", env: "WEBRTC_ROOM_TURN_URLS", kind: "list", help: "comma-separated turn:/turns: URLs handed out with short-lived credentials (needs --turn-secret)" },
  { key: "turnSecret", flag: "turn-secret", env: "WEBRTC_ROOM_TURN_SECRET", kind: "string", help: "coturn static-auth-secret (prefer the environment variable: flags show in ps)" },
  { key: "turnCredentialTtlSeconds", flag: "turn-credential-ttl-seconds", env: "WEBRTC_ROOM_TURN_CREDENTIAL_TTL_SECONDS", kind: "integer", help: "lifetime of issued TURN credentials in seconds" },
  { key: "maxConnections", flag: "max-connections", env: "WEBRTC_ROOM_MAX_CONNECTIONS", kind: "integer", help: "most WebSockets open at once (503 past it); 0 = 3/4 of the open-file limit, at most 50000" },
  { key: "maxConnectionsPerAddress", flag: "max-connections-per-address", env: "WEBRTC_ROOM_MAX_CONNECTIONS_PER_ADDRESS", kind: "integer", help: "most WebSockets per client address or IPv6 /64 (429 past it)" },
  { key: "upgradesPerSecondPerAddress", flag: "upgrades-per-second-per-address", env: "WEBRTC_ROOM_UPGRADES_PER_SECOND_PER_ADDRESS", kind: "integer", help: "sustained WebSocket upgrades per second per client address" },
  { key: "upgradeBurstPerAddress", flag: "upgrade-burst-per-address", env: "WEBRTC_ROOM_UPGRADE_BURST_PER_ADDRESS", kind: "integer", help: "upgrades per client address allowed at once above that rate" },
  { key: "loginsPerSecondPerAddress", flag: "logins-per-second-per-address", env: "WEBRTC_ROOM_LOGINS_PER_SECOND_PER_ADDRESS", kind: "integer", help: "sustained login attempts per second per client address" },
  { key: "loginBurstPerAddress", flag: "login-burst-per-address", env: "WEBRTC_ROOM_LOGIN_BURST_PER_ADDRESS", kind: "integer", help: "login attempts per client address allowed at once above that rate" },
  { key: "callsPerSecondPerAddress", flag: "calls-per-second-per-address", env: "WEBRTC_ROOM_CALLS_PER_SECOND_PER_ADDRESS", kind: "integer", help: "sustained call attempts per second per client address" },
  { key: "callBurstPerAddress", flag: "call-burst-per-address", env: "WEBRTC_ROOM_CALL_BURST_PER_ADDRESS", kind: "integer", help: "call attempts per client address allowed at once above that rate" },
  { key: "resumeFailuresPerSecondPerAddress", flag: "resume-failures-per-second-per-address", env: "WEBRTC_ROOM_RESUME_FAILURES_PER_SECOND_PER_ADDRESS", kind: "integer", help: "refused resume attempts per second per client address before resumes from it are throttled" },
  { key: "resumeFailureBurstPerAddress", flag: "resume-failure-burst-per-address", env: "WEBRTC_ROOM_RESUME_FAILURE_BURST_PER_ADDRESS", kind: "integer", help: "refused resume attempts per client address allowed at once" },
  { key: "trustedProxies", flag: "trusted-proxies", env: "WEBRTC_ROOM_TRUSTED_PROXIES", kind: "list", help: "comma-separated proxy addresses or CIDR subnets whose X-Forwarded-For names the client; empty = none" },
  { key: "shutdownTimeoutMs", flag: "shutdown-timeout-ms", env: "WEBRTC_ROOM_SHUTDOWN_TIMEOUT_MS", kind: "integer", help: "milliseconds connections get to close on shutdown before they are closed by force" },
  { key: "avatarHosts", flag: "avatar-hosts", env: "WEBRTC_ROOM_AVATAR_HOSTS", kind: "list", help: "comma-separated hosts (host or host:port) allowed in https: avatar URLs; own host and /paths always" },
  { key: "auth", flag: "auth", env: "WEBRTC_ROOM_AUTH", kind: "string", help: "open (anyone may join and log in; loopback only unless given explicitly), token (signed tokens required) or accounts (user id and password from --accounts)" },
  { key: "authSecret", flag: "auth-secret", env: "WEBRTC_ROOM_AUTH_SECRET", kind: "string", help: "HS256 secret (>= 32 bytes) tokens are verified and minted with (prefer the environment variable: flags show in ps)" },
  { key: "authPublicKey", flag: "auth-public-key", env: "WEBRTC_ROOM_AUTH_PUBLIC_KEY", kind: "string", help: "Ed25519 public key tokens are verified with: a file, or the JWK or PEM itself" },
  { key: "authIssuer", flag: "auth-issuer", env: "WEBRTC_ROOM_AUTH_ISSUER", kind: "string", help: "iss every token must carry; unset = not checked" },
  { key: "accountsFile", flag: "accounts", env: "WEBRTC_ROOM_ACCOUNTS", kind: "string", help: "accounts file (webrtc-room user add); selects --auth accounts: joins and logins need a user id and password" },
  { key: "redisUrl", flag: "redis-url", env: "WEBRTC_ROOM_REDIS_URL", kind: "string", help: "redis:// URL (or unix socket path) shared by the nodes of a cluster; unset = one node, in memory" },
  { key: "nodeId", flag: "node-id", env: "WEBRTC_ROOM_NODE_ID", kind: "string", help: "this node's name in the cluster; unset = random" },
  { key: "nodeDeadAfterMs", flag: "node-dead-after-ms", env: "WEBRTC_ROOM_NODE_DEAD_AFTER_MS", kind: "integer", help: "milliseconds without a heartbeat after which a node is dead (its sessions end after the resume grace on top)" },
];

/** The host `webrtc-room serve` listens on in open mode when neither `--host` nor `--auth` is given. */
export const OPEN_MODE_DEFAULT_HOST = "127.0.0.1";

/** True when `host` is a loopback interface (127.0.0.0/8, ::1, localhost). */
export function isLoopbackHost(host: string): boolean {
  return host === "localhost" || host === "::1" || host === "[::1]" || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

/** The text of `--auth-public-key`: the JWK or PEM itself, or the file that holds it. */
function readPublicKeyOption(value: string): string {
  const trimmed = value.trim();
  if (trimmed.startsWith("{") || trimmed.startsWith("-----BEGIN")) {
    return trimmed;
  }
  try {
    return readFileSync(trimmed, "utf8");
  } catch (error) {
    throw new ConfigError(`--auth-public-key: cannot read "${trimmed}" (${(error as NodeJS.ErrnoException).code ?? "error"}); give a file, a JWK or a PEM`);
  }
}

/** Thrown for a flag or variable that cannot be used; the CLI prints it and exits with 2. */
export class ConfigError extends Error {
  override name = "ConfigError";
}

/**
 * Reads flags and environment variables over {@link DEFAULT_CONFIG}. Open mode that nobody asked
 * for (no `--auth` / `WEBRTC_ROOM_AUTH`) listens on {@link OPEN_MODE_DEFAULT_HOST} when no host is
 * given, and refuses a host that is not loopback: an open server reaches the network only by an
 * explicit `--auth open`.
 */
export function loadConfig(argv: readonly string[], env: NodeJS.ProcessEnv): ServerConfig {
  const { values } = parseArgs({
    args: [...argv],
    options: Object.fromEntries(SERVER_OPTIONS.map((option) => [option.flag, { type: "string" as const }])),
    strict: true,
    allowPositionals: false,
  });
  const config: ServerConfig = { ...DEFAULT_CONFIG, iceServers: [...DEFAULT_CONFIG.iceServers] };
  for (const option of SERVER_OPTIONS) {
    const raw = values[option.flag] ?? env[option.env];
    if (typeof raw !== "string") {
      continue;
    }
    const value = parseOptionValue(option, raw);
    if (option.key === "authPublicKey") {
      config.authPublicKey = readPublicKeyOption(raw);
    } else if (option.key === "stunUrls") {
      config.iceServers = (value as string[]).map((urls) => ({ urls }));
    } else {
      Object.assign(config, { [option.key]: value });
    }
  }
  const authGiven = values.auth !== undefined || env.WEBRTC_ROOM_AUTH !== undefined;
  if (!authGiven && config.accountsFile !== undefined) {
    config.auth = "accounts";
  }
  const hostGiven = values.host !== undefined || env.HOST !== undefined;
  if (config.auth === "open" && !authGiven) {
    if (!hostGiven) {
      config.host = OPEN_MODE_DEFAULT_HOST;
    } else if (!isLoopbackHost(config.host)) {
      throw new ConfigError(
        `refusing to listen on ${config.host} in open mode (anyone could join any room and log in as anyone): ` +
          "give --auth token with a key, or --auth open to accept that explicitly",
      );
    }
  }
  return validateConfig(config);
}

function parseOptionValue(option: OptionSpec, raw: string): string | number | string[] {
  switch (option.kind) {
    case "string":
      return raw;
    case "list":
      return raw.split(",").map((item) => item.trim()).filter((item) => item.length > 0);
    case "integer": {
      const value = Number(raw);
      if (!Number.isInteger(value) || value < 0) {
        throw new ConfigError(`--${option.flag} (${option.env}) must be a non-negative integer, got "${raw}"`);
      }
      return value;
    }
  }
}

/** Checks cross-field rules and the bounds uWebSockets.js imposes. */
export function validateConfig(config: ServerConfig): ServerConfig {
  if (Boolean(config.tlsCertFile) !== Boolean(config.tlsKeyFile)) {
    throw new ConfigError("--tls-cert and --tls-key go together");
  }
  if (config.port > 65535) {
    throw new ConfigError(`--port must be at most 65535, got ${config.port}`);
  }
  if (config.idleTimeoutSeconds < 8 || config.idleTimeoutSeconds % 4 !== 0 || config.idleTimeoutSeconds > 960) {
    throw new ConfigError(`--idle-timeout must be a multiple of 4 between 8 and 960, got ${config.idleTimeoutSeconds}`);
  }
  const positive = [
    "maxMessageBytes", "roomCapacity", "uplinkBudgetKbps", "messagesPerSecond", "messageBurst", "maxErrorBurst", "maxBackpressureBytes", "ringTimeoutMs",
    "turnCredentialTtlSeconds", "maxConnectionsPerAddress", "upgradesPerSecondPerAddress", "upgradeBurstPerAddress",
    "loginsPerSecondPerAddress", "loginBurstPerAddress", "callsPerSecondPerAddress", "callBurstPerAddress",
    "resumeFailuresPerSecondPerAddress", "resumeFailureBurstPerAddress", "shutdownTimeoutMs",
  ] as const;
  for (const key of positive) {
    if (config[key] < 1) {
      throw new ConfigError(`${key} must be at least 1`);
    }
  }
  if (!Number.isInteger(config.presenceWindowMs) || config.presenceWindowMs < -1) {
    throw new ConfigError(`--presence-window-ms must be a non-negative integer, got ${config.presenceWindowMs}`);
  }
  if (config.resumeGraceMs < 0) {
    throw new ConfigError(`--resume-grace-ms must not be negative, got ${config.resumeGraceMs}`);
  }
  if ((config.turnUrls.length > 0) !== Boolean(config.turnSecret)) {
    throw new ConfigError("--turn-urls and --turn-secret go together");
  }
  if (config.maxConnections < 0) {
    throw new ConfigError(`--max-connections must not be negative, got ${config.maxConnections}`);
  }
  try {
    new TrustedProxies(config.trustedProxies);
  } catch (error) {
    throw new ConfigError(`--trusted-proxies: ${(error as Error).message}`);
  }
  for (const url of config.turnUrls) {
    if (!/^turns?:/.test(url)) {
      throw new ConfigError(`--turn-urls takes turn: or turns: URLs, got "${url}"`);
    }
  }
  validateAuth(config);
  validateCluster(config);
  for (const host of config.avatarHosts) {
    if (normalizeAvatarHost(host) === undefined) {
      throw new ConfigError(`--avatar-hosts takes host or host:port entries, got "${host}"`);
    }
  }
  return config;
}

/** The cluster options: a node id that fits in Redis key names, a dead-after bound the heartbeat can meet. */
function validateCluster(config: ServerConfig): void {
  if (config.nodeId !== undefined && !/^[A-Za-z0-9_.-]{1,64}$/.test(config.nodeId)) {
    throw new ConfigError(`--node-id takes 1 to 64 letters, digits, "_", "." or "-", got "${config.nodeId}"`);
  }
  if (config.nodeDeadAfterMs < 500) {
    throw new ConfigError(`--node-dead-after-ms must be at least 500, got ${config.nodeDeadAfterMs}`);
  }
}

/** Auth mode and token key: a known mode, one key at most, a secret long enough, token mode keyed. */
function validateAuth(config: ServerConfig): void {
  if (!AUTH_MODES.includes(config.auth)) {
    throw new ConfigError(`--auth takes ${AUTH_MODES.join(" or ")}, got "${config.auth}"`);
  }
  if (config.authSecret !== undefined && config.authPublicKey !== undefined) {
    throw new ConfigError("--auth-secret and --auth-public-key exclude each other: give the one key tokens are verified with");
  }
  if (config.authSecret !== undefined && Buffer.byteLength(config.authSecret, "utf8") < MIN_SECRET_BYTES) {
    throw new ConfigError(`--auth-secret (WEBRTC_ROOM_AUTH_SECRET) must be at least ${MIN_SECRET_BYTES} bytes`);
  }
  if (config.auth === "accounts" && config.accountsFile === undefined) {
    throw new ConfigError("--auth accounts needs the accounts file: --accounts FILE (WEBRTC_ROOM_ACCOUNTS); create it with webrtc-room user add");
  }
  if (config.auth !== "accounts" && config.accountsFile !== undefined) {
    throw new ConfigError(`--accounts is for --auth accounts, not --auth ${config.auth}: accounts and tokens do not combine on one server (docs/security.md)`);
  }
  if (config.auth === "accounts" && config.redisUrl !== undefined) {
    throw new ConfigError("--auth accounts and --redis-url do not combine yet: a cluster serves open and token mode (docs/scaling.md)");
  }
  if (config.auth === "token" && config.authSecret === undefined && config.authPublicKey === undefined) {
    throw new ConfigError(
      "--auth token needs the key tokens are verified with: --auth-secret (WEBRTC_ROOM_AUTH_SECRET, HS256, >= 32 bytes) " +
        "or --auth-public-key (WEBRTC_ROOM_AUTH_PUBLIC_KEY, Ed25519 as a file, JWK or PEM)",
    );
  }
}

/** The token settings of `config`, or undefined in open mode (tokens are then ignored). */
export function tokenSettings(config: ServerConfig): TokenSettings | undefined {
  if (config.auth !== "token") {
    return undefined;
  }
  const key: TokenSettings["key"] = config.authSecret !== undefined
    ? { kind: "secret", secret: config.authSecret }
    : { kind: "publicKey", publicKey: config.authPublicKey ?? "" };
  return { key, issuer: config.authIssuer };
}

/** The TURN settings of `config`, or undefined when TURN is not configured. */
export function turnSettings(config: ServerConfig): TurnSettings | undefined {
  if (config.turnUrls.length === 0 || !config.turnSecret) {
    return undefined;
  }
  return { urls: config.turnUrls, secret: config.turnSecret, credentialTtlSeconds: config.turnCredentialTtlSeconds };
}

/** Largest connection ceiling {@link defaultMaxConnections} picks, whatever the open-file limit. */
export const MAX_DEFAULT_CONNECTIONS = 50_000;

/**
 * The soft limit on open files of this process (`ulimit -n`), read from `/proc/self/limits`;
 * undefined where that file does not exist (not Linux) or says "unlimited".
 */
export function openFileLimit(limitsText?: string): number | undefined {
  let text = limitsText;
  if (text === undefined) {
    try {
      text = readFileSync("/proc/self/limits", "utf8");
    } catch {
      return undefined;
    }
  }
  const match = /^Max open files\s+(\d+)/m.exec(text);
  return match ? Number(match[1]) : undefined;
}

/**
 * The connection ceiling when `--max-connections` is 0, given the open-file limit
 * ({@link openFileLimit}): three quarters of it, so
 * that the listening socket, HTTP requests (`/healthz` among them), upgrades in progress, log and
 * asset files always find a descriptor; at most {@link MAX_DEFAULT_CONNECTIONS}.
 */
export function defaultMaxConnections(fileLimit: number | undefined): number {
  if (fileLimit === undefined) {
    return MAX_DEFAULT_CONNECTIONS;
  }
  return Math.max(1, Math.min(MAX_DEFAULT_CONNECTIONS, Math.floor(fileLimit * 0.75)));
}

/** `webrtc-room serve --help` text, generated from {@link SERVER_OPTIONS}. */
export function serveHelp(): string {
  const lines = SERVER_OPTIONS.map((option) => {
    const fallback = option.key === "stunUrls"
      ? DEFAULT_CONFIG.iceServers.map((server) => server.urls).join(",")
      : option.key === "host"
        ? `${DEFAULT_CONFIG.host} (${OPEN_MODE_DEFAULT_HOST} in open mode unless --auth is given)`
        : DEFAULT_CONFIG[option.key];
    const shown = Array.isArray(fallback) ? fallback.join(",") : (fallback ?? "");
    return `  --${option.flag.padEnd(24)} ${option.help}\n  ${"".padEnd(26)} env ${option.env}, default ${shown === "" ? "(none)" : shown}`;
  });
  return ["Usage: webrtc-room serve [options]", "", "Runs the signaling server, the web client and the join pages on one port.", "", "Options:", ...lines, "  --help                     show this help"].join("\n");
}
