/**
 * `webrtc-room peers`: headless WebRTC peers that load-test a server and print a JSON report.
 *
 * Progress goes to stderr (a redrawn bar on a terminal, plain lines otherwise) and the report to
 * stdout, so `webrtc-room peers … > report.json` keeps the terminal informative.
 */
import { fork } from "node:child_process";
import { writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { fileURLToPath, pathToFileURL } from "node:url";
import { ROOM_NAME_PATTERN } from "../../shared/protocol/index.ts";
import {
  DEFAULT_DURATION_SECONDS,
  DEFAULT_TIMEOUT_SECONDS,
  newRunTag,
  planPeers,
  RunPhase,
  SYNTHETIC_VIDEO_HEIGHT,
  SYNTHETIC_VIDEO_WIDTH,
  type PeersProgress,
  type PeersReport,
  type PeersRunOptions,
} from "./peers.ts";
import { flagHelpLines, parseFlags, UsageError, type FlagSpec } from "./flags.ts";
import type { FromPeersWorker, ToPeersWorker } from "./peers-worker.ts";

/** Exit codes of `webrtc-room peers`. */
export const PEERS_EXIT_CODES = {
  /** Every expected pair connected. */
  ok: 0,
  /** Fewer pairs connected than expected. */
  incomplete: 1,
  /** Bad flags. */
  usage: 2,
  /** The peers process failed before reporting. */
  failed: 3,
} as const;

/** The flag table behind the parser and `--help`. */
const FLAGS: readonly FlagSpec[] = [
  { name: "url", value: "URL", help: "server to test: ws(s)://host:port/ws, or http(s)://host:port (required)" },
  { name: "peers", value: "N", help: "number of headless peers (default 6)" },
  { name: "rooms", value: "R", help: "spread the peers over R fresh rooms (default 1)" },
  { name: "room", value: "NAME", help: "put every peer in this room instead (e.g. one a browser is in)" },
  { name: "video", value: null, help: `send a synthetic ${SYNTHETIC_VIDEO_WIDTH}x${SYNTHETIC_VIDEO_HEIGHT} video track and count frames received per pair` },
  { name: "ping", value: null, help: "measure data-channel round trips between every pair, both directions" },
  { name: "duration-seconds", value: "S", help: `keep the complete mesh up this long (default ${DEFAULT_DURATION_SECONDS})` },
  { name: "timeout-seconds", value: "S", help: `give up waiting for a complete mesh after this long (default ${DEFAULT_TIMEOUT_SECONDS})` },
  { name: "join-interval-ms", value: "MS", help: "delay between joins; 0 joins everyone at once (default 0)" },
  { name: "json-out", value: "FILE", help: "also write the report to FILE" },
  { name: "auth-secret", value: "S", help: "for a server in token mode: mint each peer a join token with its secret (default: WEBRTC_ROOM_AUTH_SECRET; prefer the variable, flags show in ps)" },
  { name: "auth-issuer", value: "I", help: "the tokens' iss, when the server checks one (default: WEBRTC_ROOM_AUTH_ISSUER)" },
  { name: "help", value: null, help: "show this help" },
];

/** `webrtc-room peers --help` text. */
export function peersHelp(): string {
  const lines = flagHelpLines(FLAGS, 24);
  return [
    "Usage: webrtc-room peers --url URL [options]",
    "",
    "Runs headless WebRTC peers (@roamhq/wrtc) against a webrtc-room server: they join, build a",
    "full mesh, optionally exchange video and data-channel pings, then leave. Progress goes to",
    "stderr; a JSON report goes to stdout (join-to-fully-connected p50/p95/p99/max, pairs",
    "connected/expected, data-channel RTT, video frames per pair, errors by code, CPU).",
    "",
    "Options:",
    ...lines,
    "",
    "Exit status: 0 when every expected pair connected, 1 when some did not, 2 on bad options,",
    "3 when the peers process failed.",
    "",
    "Example:",
    "  webrtc-room peers --url ws://127.0.0.1:8080/ws --peers 12 --rooms 2 --video --ping",
  ].join("\n");
}

/** Thrown for unusable flags; reported with exit code 2 (here and by `webrtc-room camera`). */
/** Parsed command line: run options plus where to write the report. */
interface PeersCommand {
  options: Omit<PeersRunOptions, "onProgress" | "signal">;
  jsonOut: string | undefined;
  /** The server's secret and issuer, to mint join tokens with (token mode). */
  auth: { secret: string; issuer: string | undefined } | undefined;
}

/**
 * Mints a join token (publish and data, no host) for `username` in `room`, valid `ttlSeconds`.
 * Built by cli/main.ts from the server's token code, which this module does not import.
 */
export type JoinTokenMinter = (room: string, username: string, ttlSeconds: number) => Promise<string>;

/** What `webrtc-room peers` takes from its caller besides the flags. */
export interface PeersCommandContext {
  env: NodeJS.ProcessEnv;
  /** A minter for `--auth-secret`; its tokens throw {@link UsageError} for an unusable secret. */
  joinTokenMinter: (secret: string, issuer: string | undefined) => JoinTokenMinter;
}

/** Parses `webrtc-room peers` flags. Throws {@link UsageError}. */
function parsePeersArgs(argv: readonly string[], env: NodeJS.ProcessEnv): PeersCommand {
  const { text, has } = parseFlags(argv, FLAGS);
  const integer = (name: string, fallback: number, min: number): number => {
    const raw = text(name);
    if (raw === undefined) {
      return fallback;
    }
    const value = Number(raw);
    if (!Number.isInteger(value) || value < min) {
      throw new UsageError(`--${name} must be an integer >= ${min}, got "${raw}"`);
    }
    return value;
  };
  const url = text("url");
  if (url === undefined) {
    throw new UsageError("--url is required");
  }
  const room = text("room");
  if (room !== undefined && !ROOM_NAME_PATTERN.test(room)) {
    throw new UsageError(`--room must match ${ROOM_NAME_PATTERN.source}, got "${room}"`);
  }
  return {
    options: {
      url: signalingUrl(url),
      peers: integer("peers", 6, 1),
      rooms: integer("rooms", 1, 1),
      ...(room !== undefined ? { room } : {}),
      video: has("video"),
      ping: has("ping"),
      durationSeconds: integer("duration-seconds", DEFAULT_DURATION_SECONDS, 0),
      timeoutSeconds: integer("timeout-seconds", DEFAULT_TIMEOUT_SECONDS, 1),
      joinIntervalMs: integer("join-interval-ms", 0, 0),
    },
    jsonOut: text("json-out"),
    auth: authOf(text("auth-secret") ?? env.WEBRTC_ROOM_AUTH_SECRET, text("auth-issuer") ?? env.WEBRTC_ROOM_AUTH_ISSUER),
  };
}

function authOf(secret: string | undefined, issuer: string | undefined): PeersCommand["auth"] {
  if (secret === undefined) {
    if (issuer !== undefined) {
      throw new UsageError("--auth-issuer needs --auth-secret (or WEBRTC_ROOM_AUTH_SECRET)");
    }
    return undefined;
  }
  return { secret, issuer };
}

/** Slack on the tokens' lifetime beyond the run's own bounds (they are checked once, at the join). */
const TOKEN_TTL_SLACK_SECONDS = 60;

/** One join token per planned peer, by username, for a run tagged `runTag`. */
async function mintJoinTokens(command: PeersCommand, runTag: string, minter: JoinTokenMinter): Promise<Record<string, string>> {
  const { options } = command;
  const ttlSeconds = (options.timeoutSeconds ?? DEFAULT_TIMEOUT_SECONDS) + (options.durationSeconds ?? DEFAULT_DURATION_SECONDS) + TOKEN_TTL_SLACK_SECONDS;
  const tokens: Record<string, string> = {};
  for (const { room, usernames } of planPeers({ ...options, runTag })) {
    for (const username of usernames) {
      tokens[username] = await minter(room, username, ttlSeconds);
    }
  }
  return tokens;
}

/** Accepts the signaling URL itself, or the server's page URL (`http://host:port` → `ws://host:port/ws`). */
export function signalingUrl(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new UsageError(`--url is not a URL: "${raw}"`);
  }
  if (url.protocol === "http:" || url.protocol === "https:") {
    url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
    if (url.pathname === "/") {
      url.pathname = "/ws";
    }
  }
  if (url.protocol !== "ws:" && url.protocol !== "wss:") {
    throw new UsageError(`--url must be ws://, wss://, http:// or https://, got "${raw}"`);
  }
  return url.toString();
}

const BAR_WIDTH = 24;
const PLAIN_PROGRESS_INTERVAL_MS = 1_000;

/** Renders progress on stderr: a bar redrawn in place on a terminal, otherwise a line per second. */
function progressReporter(stream: NodeJS.WriteStream): { update: (progress: PeersProgress) => void; done: () => void } {
  const describe = (progress: PeersProgress): string =>
    `${progress.phase} · ${progress.pairsConnected}/${progress.pairsExpected} pairs · ` +
    `${progress.joined}/${progress.peers} joined · ${progress.fullyConnected}/${progress.peers} fully connected · ` +
    `${(progress.elapsedMs / 1000).toFixed(1)} s`;
  if (stream.isTTY) {
    let drawn = false;
    return {
      update(progress) {
        const ratio = progress.pairsExpected === 0 ? 1 : progress.pairsConnected / progress.pairsExpected;
        const filled = Math.round(ratio * BAR_WIDTH);
        const line = `[${"#".repeat(filled)}${"-".repeat(BAR_WIDTH - filled)}] ${describe(progress)}`;
        stream.write(`\r${line.slice(0, Math.max(20, (stream.columns ?? 120) - 1))}\x1b[K`);
        drawn = true;
      },
      done() {
        if (drawn) {
          stream.write("\n");
        }
      },
    };
  }
  let lastPhase: RunPhase | undefined;
  let lastLineAtMs = -Infinity;
  return {
    update(progress) {
      if (progress.phase !== lastPhase || progress.elapsedMs - lastLineAtMs >= PLAIN_PROGRESS_INTERVAL_MS) {
        lastPhase = progress.phase;
        lastLineAtMs = progress.elapsedMs;
        stream.write(`peers: ${describe(progress)}\n`);
      }
    },
    done() {},
  };
}

/**
 * Runs the peers in a child process (see peers-worker.ts for why) and resolves with its report,
 * relaying progress. Ctrl-C reaches the child too; it stops early and still reports.
 */
function runInChildProcess(
  options: Omit<PeersRunOptions, "onProgress" | "signal">,
  onProgress: (progress: PeersProgress) => void,
): Promise<PeersReport> {
  // The worker sits next to this module: peers-worker.js in the compiled package, or
  // peers-worker.ts when running the sources, which then needs the TypeScript loader too
  // (resolved here, so that the child finds it wherever the command runs from).
  const fromSource = import.meta.url.endsWith(".ts");
  const child = fork(fileURLToPath(new URL(fromSource ? "./peers-worker.ts" : "./peers-worker.js", import.meta.url)), [], {
    execArgv: fromSource ? ["--import", pathToFileURL(createRequire(import.meta.url).resolve("tsx")).href] : [],
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  return new Promise<PeersReport>((resolve, reject) => {
    let settled = false;
    child.on("message", (message: FromPeersWorker) => {
      switch (message.type) {
        case "progress":
          onProgress(message.progress);
          return;
        case "report":
          settled = true;
          resolve(message.report);
          return;
        case "failed":
          settled = true;
          reject(new Error(message.message));
          return;
      }
    });
    child.on("exit", (code, signal) => {
      if (!settled) {
        reject(new Error(`the peers process exited before reporting (${signal ?? `code ${code}`})`));
      }
    });
    child.send({ type: "run", options } satisfies ToPeersWorker);
  });
}

/**
 * Runs `webrtc-room peers` with `argv` (the arguments after `peers`). Resolves with the exit
 * code: 0 when every expected pair connected, 1 when not, 2 on bad flags, 3 when the peers
 * process failed. Ctrl-C ends the run early and still prints the report.
 */
export async function runPeersCommand(argv: string[], context: PeersCommandContext): Promise<number> {
  if (argv.includes("--help") || argv.includes("-h")) {
    console.log(peersHelp());
    return PEERS_EXIT_CODES.ok;
  }
  let command: PeersCommand;
  try {
    command = parsePeersArgs(argv, context.env);
    if (command.auth !== undefined) {
      const runTag = newRunTag();
      const joinTokens = await mintJoinTokens(command, runTag, context.joinTokenMinter(command.auth.secret, command.auth.issuer));
      command = { ...command, options: { ...command.options, runTag, joinTokens } };
    }
  } catch (error) {
    if (error instanceof UsageError) {
      console.error(`webrtc-room peers: ${error.message}\nRun "webrtc-room peers --help" for the options.`);
      return PEERS_EXIT_CODES.usage;
    }
    throw error;
  }
  // The child stops itself on Ctrl-C; this handler only keeps this process alive to print its report.
  const onSigint = (): void => {
    process.stderr.write("\npeers: interrupted, leaving and reporting\n");
  };
  process.on("SIGINT", onSigint);
  const progress = progressReporter(process.stderr);
  try {
    const report = await runInChildProcess(command.options, progress.update);
    progress.done();
    const json = JSON.stringify(report, null, 2);
    process.stdout.write(`${json}\n`);
    if (command.jsonOut !== undefined) {
      await writeFile(command.jsonOut, `${json}\n`);
    }
    return report.ok ? PEERS_EXIT_CODES.ok : PEERS_EXIT_CODES.incomplete;
  } catch (error) {
    progress.done();
    console.error(`webrtc-room peers: ${error instanceof Error ? error.message : String(error)}`);
    return PEERS_EXIT_CODES.failed;
  } finally {
    process.off("SIGINT", onSigint);
  }
}
