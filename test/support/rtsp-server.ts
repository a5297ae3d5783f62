/**
 * A real RTSP camera on loopback for the camera tests: Debian's `rtsp-server-perl` (package
 * `rtsp-server-perl`) with `ffmpeg` publishing a generated test pattern to it over UDP (that
 * server accepts no TCP publishing). Pulling from its client port works over UDP.
 *
 * ```ts
 * const rtsp = await startRtspServer();
 * const publisher = rtsp.publish("cam");       // rtsp.clientUrl("cam") now streams
 * await publisher.stop();                      // the "camera" drops
 * await rtsp.stop();
 * ```
 */
import { spawn, type ChildProcess } from "node:child_process";
import { randomInt } from "node:crypto";
import { connect, createServer } from "node:net";
import { requireBinary } from "./system-binary.ts";

/** Where Debian installs the two programs. */
export const RTSP_SERVER_PATH = "/usr/bin/rtsp-server-perl";
export const FFMPEG_PATH = "/usr/bin/ffmpeg";

/** How long {@link startRtspServer} waits for the server to accept connections. */
const READY_TIMEOUT_MS = 10_000;

/**
 * True when ffmpeg and rtsp-server-perl are installed. Otherwise skips with the install command,
 * or fails when `CI=true` (see {@link requireBinary}).
 */
export function requireCameraBinaries(): boolean {
  const hasFfmpeg = requireBinary("ffmpeg", FFMPEG_PATH, "apt-get install -y ffmpeg rtsp-server-perl");
  const hasRtspServer = requireBinary("rtsp-server-perl", RTSP_SERVER_PATH, "apt-get install -y ffmpeg rtsp-server-perl");
  return hasFfmpeg && hasRtspServer;
}

/** A port free on 127.0.0.1 right now (bound on port 0, then released). */
export function freeTcpPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => resolve(typeof address === "object" && address ? address.port : 0));
    });
  });
}

/** True once something accepts a TCP connection on `port`. */
function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, "127.0.0.1");
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}

/** A child process with its output kept, stopped with SIGTERM then SIGKILL. */
export interface RunningProcess {
  readonly pid: number | undefined;
  /** Everything it printed so far. */
  log(): string;
  /** Ends it (SIGTERM, SIGKILL after 3 s) and waits for its exit; safe to call twice. */
  stop(): Promise<void>;
}

/** Spawns `command` with output kept; see {@link RunningProcess}. */
export function runProcess(command: string, args: readonly string[]): RunningProcess & { readonly exited: Promise<void> } {
  let output = "";
  const child: ChildProcess = spawn(command, args, { stdio: ["ignore", "pipe", "pipe"] });
  child.stdout?.on("data", (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on("data", (chunk: Buffer) => (output += chunk.toString()));
  let hasExited = false;
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  void exited.then(() => (hasExited = true));
  let stopping: Promise<void> | undefined;
  return {
    pid: child.pid,
    exited,
    log: () => output,
    stop() {
      stopping ??= (async () => {
        if (!hasExited) {
          child.kill("SIGTERM");
          const killTimer = setTimeout(() => child.kill("SIGKILL"), 3_000);
          await exited;
          clearTimeout(killTimer);
        }
      })();
      return stopping;
    },
  };
}

/** Size and rate of a published test pattern. */
export interface TestPattern {
  width: number;
  height: number;
  fps: number;
}

/** What {@link RunningRtspServer.publish} sends by default: small, to spare the shared machine. */
const DEFAULT_TEST_PATTERN: TestPattern = { width: 320, height: 240, fps: 15 };

/** A running rtsp-server-perl. */
export interface RunningRtspServer {
  /** The URL a camera client pulls `path` from. */
  clientUrl(path: string): string;
  /** The URL a publisher sends `path` to (over UDP: this server accepts no TCP publishing). */
  sourceUrl(path: string): string;
  /**
   * Starts ffmpeg publishing a test pattern (H.264, a key frame every second; 320x240 at 15 fps
   * unless `pattern` says otherwise) to `path` over UDP. The stream stops with the returned process.
   */
  publish(path: string, pattern?: TestPattern): RunningProcess;
  log(): string;
  stop(): Promise<void>;
}

/** Starts rtsp-server-perl on free loopback ports and waits until it accepts connections. */
export async function startRtspServer(): Promise<RunningRtspServer> {
  const clientPort = await freeTcpPort();
  const sourcePort = await freeTcpPort();
  // A random even RTP range, so that parallel runs rarely collide (the server hands out ports from here up).
  const rtpStartPort = randomInt(10_000, 29_000) * 2;
  const server = runProcess(RTSP_SERVER_PATH, [
    "--clientport", String(clientPort),
    "--serverport", String(sourcePort),
    "--client_listen_address", "127.0.0.1",
    "--source_listen_address", "127.0.0.1",
    "--rtp_start_port", String(rtpStartPort),
  ]);
  let exitedEarly = false;
  void server.exited.then(() => (exitedEarly = true));
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (!((await accepts(clientPort)) && (await accepts(sourcePort)))) {
    if (exitedEarly || Date.now() > deadline) {
      await server.stop();
      throw new Error(`rtsp-server-perl did not accept connections within ${READY_TIMEOUT_MS} ms; its log:\n${server.log()}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  const publishers = new Set<RunningProcess>();
  return {
    clientUrl: (path) => `rtsp://127.0.0.1:${clientPort}/${path}`,
    sourceUrl: (path) => `rtsp://127.0.0.1:${sourcePort}/${path}`,
    publish(path, pattern = DEFAULT_TEST_PATTERN) {
      const publisher = runProcess(FFMPEG_PATH, [
        "-hide_banner", "-nostdin", "-loglevel", "error",
        "-re", "-f", "lavfi", "-i", `testsrc=size=${pattern.width}x${pattern.height}:rate=${pattern.fps}`,
        "-c:v", "libx264", "-preset", "ultrafast", "-tune", "zerolatency", "-g", String(pattern.fps),
        "-f", "rtsp", "-rtsp_transport", "udp", `rtsp://127.0.0.1:${sourcePort}/${path}`,
      ]);
      publishers.add(publisher);
      return publisher;
    },
    log: () => server.log(),
    async stop() {
      await Promise.all([...publishers].map((publisher) => publisher.stop()));
      await server.stop();
    },
  };
}

/** The pitch of the tone {@link writeTestClip} puts in a clip when asked. */
export const TEST_TONE_HZ = 440;

/**
 * Writes a short H.264 test-pattern MP4 to `path` with ffmpeg (about a second of work); with
 * `tone`, with a {@link TEST_TONE_HZ} sine (AAC, 48 kHz) as its sound.
 */
export async function writeTestClip(path: string, seconds = 2, tone = false): Promise<void> {
  const sound = tone ? ["-f", "lavfi", "-i", `sine=frequency=${TEST_TONE_HZ}:sample_rate=48000:duration=${seconds}`, "-c:a", "aac"] : [];
  const maker = runProcess(FFMPEG_PATH, [
    "-hide_banner", "-nostdin", "-loglevel", "error", "-y",
    "-f", "lavfi", "-i", `testsrc=size=320x240:rate=15:duration=${seconds}`,
    ...sound,
    "-c:v", "libx264", "-preset", "ultrafast", "-g", "15", "-pix_fmt", "yuv420p", path,
  ]);
  await maker.exited;
}

/** True while a process with `pid` exists (a zombie counts until it is reaped). */
export function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}
