/**
 * `webrtc-room camera`: puts one camera (or several, from a config file) into rooms as headless,
 * publish-only participants, and/or logs it in as a device user anyone may watch from `/call`,
 * until SIGTERM or Ctrl-C. Progress and errors go to stderr, one line
 * per event, prefixed with the camera's name.
 */
import { spawnSync } from "node:child_process";
import { readFile } from "node:fs/promises";
import * as v from "valibot";
import { ROOM_NAME_PATTERN } from "../../shared/protocol/index.ts";
import {
  Camera,
  DEFAULT_CAMERA_FORMAT,
  DEFAULT_IDLE_STOP_SECONDS,
  DEFAULT_STALL_SECONDS,
  type CameraOptions,
} from "./camera.ts";
import type { FrameFormat, RtspTransport } from "./ffmpeg-source.ts";
import { signalingUrl } from "./cli.ts";
import { flagHelpLines, parseFlags, UsageError, type FlagSpec } from "./flags.ts";
import { settleWebRtc } from "./peers.ts";

/** Exit codes of `webrtc-room camera`. */
export const CAMERA_EXIT_CODES = {
  /** Stopped by SIGTERM or SIGINT, everything closed. */
  ok: 0,
  /** Bad flags or config file, or ffmpeg missing. */
  usage: 2,
} as const;

/** The flag table behind the parser and `--help`. */
const FLAGS: readonly FlagSpec[] = [
  { name: "url", value: "URL", help: "server: ws(s)://host:port/ws, or http(s)://host:port (required)" },
  { name: "source", value: "SRC", help: "what ffmpeg reads: rtsp://…, http://… (MJPEG…), a file (looped), /dev/video0" },
  { name: "name", value: "NAME", help: "the camera's display name in the room, e.g. \"Gate\"" },
  { name: "room", value: "ROOM", help: "the room the camera joins as a publish-only participant (--room, --login or both)" },
  { name: "token", value: "TOKEN", help: "join token for a server in token mode (webrtc-room token --room ROOM --name NAME)" },
  { name: "login", value: "USERID", help: "also log in as device user USERID, whom anyone on /call may watch without asking" },
  { name: "login-token", value: "TOKEN", help: "login token for --login in token mode (webrtc-room token --login --user USERID --device)" },
  { name: "size", value: "WxH", help: `size of the published video; the picture is scaled to fit, never stretched (default ${DEFAULT_CAMERA_FORMAT.width}x${DEFAULT_CAMERA_FORMAT.height})` },
  { name: "fps", value: "N", help: `frame rate of the published video (default ${DEFAULT_CAMERA_FORMAT.fps})` },
  { name: "rtsp-transport", value: "tcp|udp", help: "how ffmpeg reaches an rtsp:// source (default tcp)" },
  { name: "idle-stop", value: "SECONDS", help: `stop ffmpeg when nobody else is in the room this long, start it when someone joins; 0 never stops (default ${DEFAULT_IDLE_STOP_SECONDS})` },
  { name: "stall-seconds", value: "S", help: `restart ffmpeg when no frame came for this long (default ${DEFAULT_STALL_SECONDS})` },
  { name: "no-audio", value: null, help: "video only: never decode the source's sound (saves the first run that finds out a source is silent)" },
  { name: "config", value: "FILE", help: "several cameras from a JSON file (see below) instead of --source/--name/--room" },
  { name: "ffmpeg", value: "PATH", help: "the ffmpeg executable (default: ffmpeg from PATH)" },
  { name: "help", value: null, help: "show this help" },
];

/** `webrtc-room camera --help` text. */
export function cameraHelp(): string {
  const lines = flagHelpLines(FLAGS, 22);
  return [
    "Usage: webrtc-room camera --url URL --source SRC --name NAME (--room ROOM | --login USERID | both) [options]",
    "       webrtc-room camera --url URL --config cameras.json [options]",
    "",
    "Puts a camera into a room: a headless participant (@roamhq/wrtc) that publishes one video",
    "track, and the source's sound when it has some, and receives nothing. ffmpeg (a child process)",
    "decodes the source once to raw frames of a fixed size (and 48 kHz mono sound), however many",
    "people watch. A silent source costs one ffmpeg run that finds that out (or give --no-audio). When the source drops or stalls the camera stays in",
    "the room, says \"camera offline\" on stderr (and to the room: video off plus a camera_status",
    "data message; with --login its presence status is \"unavailable\") and tries again with backoff (up to 30 s between attempts). With nobody else in",
    "the room for --idle-stop seconds ffmpeg is stopped until someone joins. SIGTERM or Ctrl-C",
    "leaves the room and stops ffmpeg (SIGTERM, then SIGKILL after 2 s) before exiting.",
    "",
    "Options:",
    ...lines,
    "",
    "--config FILE holds a JSON array, one object per camera; --size, --fps, --rtsp-transport,",
    "--idle-stop and --stall-seconds apply to every entry that does not set its own:",
    '  [{ "source": "rtsp://user:pass@10.0.0.7/stream1", "name": "Gate", "room": "yard",',
    '     "token": "…", "login": "gate", "loginToken": "…", "size": "1280x720", "fps": 10,',
    '     "rtspTransport": "udp", "idleStop": 60, "audio": false }]',
    "",
    "With --login the camera is also a device user in the /call directory: anyone logged in may",
    "watch it without being asked, each watcher over its own connection with the same track (still",
    "one decode), and its watchers keep ffmpeg running like room members do.",
    "",
    "See docs/cameras.md.",
    "",
    "Exit status: 0 after SIGTERM/SIGINT, 2 on bad options or a missing ffmpeg.",
    "",
    "Example:",
    '  webrtc-room camera --url http://127.0.0.1:8080 --source rtsp://10.0.0.7/stream1 --name Gate --room yard',
  ].join("\n");
}

/** One camera entry of a config file. */
const CameraEntrySchema = v.strictObject({
  source: v.pipe(v.string(), v.minLength(1)),
  name: v.pipe(v.string(), v.minLength(1)),
  room: v.optional(v.pipe(v.string(), v.regex(ROOM_NAME_PATTERN, `room must match ${ROOM_NAME_PATTERN.source}`))),
  token: v.optional(v.pipe(v.string(), v.minLength(1))),
  login: v.optional(v.pipe(v.string(), v.minLength(1), v.maxLength(64))),
  loginToken: v.optional(v.pipe(v.string(), v.minLength(1))),
  size: v.optional(v.string()),
  fps: v.optional(v.number()),
  rtspTransport: v.optional(v.picklist(["tcp", "udp"])),
  idleStop: v.optional(v.number()),
  stallSeconds: v.optional(v.number()),
  audio: v.optional(v.boolean()),
});

/** The contents of a `--config` file: each entry joins a room, logs in, or both. */
const CameraConfigSchema = v.pipe(
  v.array(v.pipe(CameraEntrySchema, v.check((entry) => entry.room !== undefined || entry.login !== undefined, "each camera needs room, login or both"))),
  v.minLength(1, "the camera list is empty"),
);

/** A config file entry. */
type CameraEntry = v.InferOutput<typeof CameraEntrySchema>;

/** Parsed `--size`: even width and height (I420 halves both for its colour planes). */
export function parseSize(raw: string, what = "--size"): { width: number; height: number } {
  const match = /^(\d+)x(\d+)$/.exec(raw);
  const width = Number(match?.[1]);
  const height = Number(match?.[2]);
  if (!match || width < 2 || height < 2 || width > 4096 || height > 4096 || width % 2 !== 0 || height % 2 !== 0) {
    throw new UsageError(`${what} must be WIDTHxHEIGHT with even numbers from 2 to 4096, got "${raw}"`);
  }
  return { width, height };
}

function checkFps(fps: number, what: string): number {
  if (!Number.isInteger(fps) || fps < 1 || fps > 60) {
    throw new UsageError(`${what} must be an integer from 1 to 60, got "${fps}"`);
  }
  return fps;
}

function checkSeconds(seconds: number, what: string, min: number): number {
  if (!Number.isFinite(seconds) || seconds < min) {
    throw new UsageError(`${what} must be a number >= ${min}, got "${seconds}"`);
  }
  return seconds;
}

/** Parsed command line: the cameras to run and the ffmpeg to run them with. */
export interface CameraCommand {
  cameras: CameraOptions[];
  ffmpegPath: string;
}

/** Parses `webrtc-room camera` flags (reading `--config` when given). Throws {@link UsageError}. */
export async function parseCameraArgs(argv: readonly string[]): Promise<CameraCommand> {
  const parsed = parseFlags(argv, FLAGS);
  const { text } = parsed;
  const number = (name: string): number | undefined => {
    const raw = text(name);
    return raw === undefined ? undefined : Number(raw);
  };
  const rawUrl = text("url");
  if (rawUrl === undefined) {
    throw new UsageError("--url is required");
  }
  const url = signalingUrl(rawUrl);
  const rawTransport = text("rtsp-transport") ?? "tcp";
  if (rawTransport !== "tcp" && rawTransport !== "udp") {
    throw new UsageError(`--rtsp-transport must be tcp or udp, got "${rawTransport}"`);
  }
  const rtspTransport: RtspTransport = rawTransport;
  const defaults = {
    size: parseSize(text("size") ?? `${DEFAULT_CAMERA_FORMAT.width}x${DEFAULT_CAMERA_FORMAT.height}`),
    fps: checkFps(number("fps") ?? DEFAULT_CAMERA_FORMAT.fps, "--fps"),
    rtspTransport,
    idleStopSeconds: checkSeconds(number("idle-stop") ?? DEFAULT_IDLE_STOP_SECONDS, "--idle-stop", 0),
    stallSeconds: checkSeconds(number("stall-seconds") ?? DEFAULT_STALL_SECONDS, "--stall-seconds", 1),
    audio: !parsed.has("no-audio"),
  };
  const single = ["source", "name", "room", "token", "login", "login-token"].filter((name) => text(name) !== undefined);
  const configPath = text("config");
  let entries: CameraEntry[];
  if (configPath !== undefined) {
    if (single.length > 0) {
      throw new UsageError(`--config cannot be combined with ${single.map((name) => `--${name}`).join(", ")} (put them in the file)`);
    }
    entries = await readConfig(configPath);
  } else {
    const missing = ["source", "name"].filter((name) => text(name) === undefined);
    const room = text("room");
    const login = text("login");
    if (room === undefined && login === undefined) {
      missing.push("room (or --login)");
    }
    if (missing.length > 0) {
      throw new UsageError(`${missing.map((name) => `--${name}`).join(", ")} required (or --config FILE)`);
    }
    if (room !== undefined && !ROOM_NAME_PATTERN.test(room)) {
      throw new UsageError(`--room must match ${ROOM_NAME_PATTERN.source}, got "${room}"`);
    }
    const token = text("token");
    const loginToken = text("login-token");
    if (loginToken !== undefined && login === undefined) {
      throw new UsageError("--login-token needs --login");
    }
    entries = [{
      source: text("source") ?? "",
      name: text("name") ?? "",
      ...(room !== undefined ? { room } : {}),
      ...(token !== undefined ? { token } : {}),
      ...(login !== undefined ? { login } : {}),
      ...(loginToken !== undefined ? { loginToken } : {}),
    }];
  }
  const ffmpegPath = text("ffmpeg") ?? "ffmpeg";
  const cameras = entries.map((entry, index): CameraOptions => {
    const where = configPath === undefined ? "" : `${configPath}[${index}].`;
    const size = entry.size === undefined ? defaults.size : parseSize(entry.size, `${where}size`);
    const format: FrameFormat = { ...size, fps: entry.fps === undefined ? defaults.fps : checkFps(entry.fps, `${where}fps`) };
    return {
      url,
      ...(entry.room !== undefined ? { room: entry.room } : {}),
      name: entry.name,
      source: entry.source,
      ...(entry.token !== undefined ? { token: entry.token } : {}),
      ...(entry.login !== undefined ? { login: entry.login } : {}),
      ...(entry.loginToken !== undefined ? { loginToken: entry.loginToken } : {}),
      format,
      rtspTransport: entry.rtspTransport ?? defaults.rtspTransport,
      idleStopSeconds: entry.idleStop === undefined ? defaults.idleStopSeconds : checkSeconds(entry.idleStop, `${where}idleStop`, 0),
      stallSeconds: entry.stallSeconds === undefined ? defaults.stallSeconds : checkSeconds(entry.stallSeconds, `${where}stallSeconds`, 1),
      audio: entry.audio ?? defaults.audio,
      ffmpegPath,
    };
  });
  const names = cameras.map((camera) => `${camera.room ?? ""}/${camera.name}`);
  const logins = cameras.flatMap((camera) => (camera.login === undefined ? [] : [camera.login]));
  const repeatedLogin = logins.find((login, index) => logins.indexOf(login) !== index);
  if (repeatedLogin !== undefined) {
    throw new UsageError(`two cameras log in as "${repeatedLogin}" (a user id is online once)`);
  }
  const repeated = names.find((name, index) => names.indexOf(name) !== index);
  if (repeated !== undefined) {
    throw new UsageError(`two cameras named "${repeated}" (room/name must be unique)`);
  }
  return { cameras, ffmpegPath };
}

/** Reads and validates a `--config` file. Throws {@link UsageError}. */
async function readConfig(path: string): Promise<CameraEntry[]> {
  let json: unknown;
  try {
    json = JSON.parse(await readFile(path, "utf8"));
  } catch (error) {
    throw new UsageError(`cannot read --config ${path}: ${error instanceof Error ? error.message : String(error)}`);
  }
  const result = v.safeParse(CameraConfigSchema, json);
  if (!result.success) {
    const issue = result.issues[0];
    const at = issue.path?.map((item) => String(item.key)).join(".") ?? "";
    throw new UsageError(`--config ${path}${at ? ` at ${at}` : ""}: ${issue.message}`);
  }
  return result.output;
}

/** True when `ffmpegPath` runs; otherwise prints how to install it. */
function checkFfmpeg(ffmpegPath: string): boolean {
  const probe = spawnSync(ffmpegPath, ["-version"], { stdio: "ignore" });
  if (probe.error === undefined && probe.status === 0) {
    return true;
  }
  console.error([
    `webrtc-room camera: cannot run ffmpeg ("${ffmpegPath}"${probe.error ? `: ${probe.error.message}` : ""}).`,
    "The camera decodes its source with ffmpeg; install it (Debian/Ubuntu: apt-get install ffmpeg)",
    "or point --ffmpeg at it.",
  ].join("\n"));
  return false;
}

/**
 * Runs `webrtc-room camera` with `argv` (the arguments after `camera`) until SIGTERM or SIGINT,
 * then closes every camera (room left, ffmpeg exited). Resolves with the exit code. The caller
 * must end the process with `process.exit()` afterwards (see peers-worker.ts: @roamhq/wrtc can
 * crash in Node's teardown once a video source has existed).
 */
export async function runCameraCommand(argv: string[]): Promise<number> {
  if (argv.includes("--help") || argv.includes("-h")) {
    console.log(cameraHelp());
    return CAMERA_EXIT_CODES.ok;
  }
  let command: CameraCommand;
  try {
    command = await parseCameraArgs(argv);
  } catch (error) {
    if (error instanceof UsageError) {
      console.error(`webrtc-room camera: ${error.message}\nRun "webrtc-room camera --help" for the options.`);
      return CAMERA_EXIT_CODES.usage;
    }
    throw error;
  }
  if (!checkFfmpeg(command.ffmpegPath)) {
    return CAMERA_EXIT_CODES.usage;
  }
  const stopped = new Promise<NodeJS.Signals>((resolve) => {
    process.once("SIGTERM", resolve);
    process.once("SIGINT", resolve);
  });
  const cameras = command.cameras.map((options) => {
    const camera = new Camera(options);
    const prefix = `camera ${options.name} (${[options.room, options.login === undefined ? undefined : `user ${options.login}`].filter(Boolean).join(", ")})`;
    camera.on("status", ({ state, detail }) => process.stderr.write(`${prefix}: ${state}: ${detail}\n`));
    camera.on("log", ({ message }) => process.stderr.write(`${prefix}: ${message}\n`));
    return camera;
  });
  // Not awaited: a camera that cannot join yet keeps trying, and a signal must still stop it.
  for (const camera of cameras) {
    void camera.start();
  }
  const signal = await stopped;
  process.stderr.write(`camera: ${signal} received; leaving the room${cameras.length > 1 ? "s" : ""} and stopping ffmpeg\n`);
  await Promise.all(cameras.map((camera) => camera.close()));
  await settleWebRtc();
  process.stderr.write("camera: stopped\n");
  return CAMERA_EXIT_CODES.ok;
}
