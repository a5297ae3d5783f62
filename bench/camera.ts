/**
 * `npm run bench:camera`: what one camera peer costs with 1, 4 and 8 watchers, side by side in one
 * run. Prints JSON.
 *
 * A real RTSP server (rtsp-server-perl, test/support/rtsp-server.ts) gets a 640×480, 25 fps
 * picture from an ffmpeg publisher (H.264 over UDP) fed by this process: each frame carries the
 * wall-clock time it was made, as 24 black or white blocks (the "glass" side, see
 * {@link drawTimestamp}). `webrtc-room camera` runs as its own process (the CLI, from source),
 * pulls it over UDP and logs in as a device user; headless watchers (PhoneSession + @roamhq/wrtc,
 * in this process) watch it, count the frames they decode and read the time back from them. For
 * each watcher count, once every watcher decodes, over a window of `BENCH_WINDOW_S` seconds (10):
 * - `cpuPercent`: CPU time of the camera process and of its ffmpeg children (Linux `/proc/<pid>/stat`
 *   utime + stime) over the window's wall time, in percent of one core;
 * - `rssMiB`: their resident memory at the end of the window (`VmRSS`);
 * - `ffmpegProcesses`: ffmpeg children of the camera: one decode however many watch, so always 1;
 * - `fpsPerWatcher`: frames decoded per second by the slowest and the average watcher;
 * - `glassToGlassMs`: p50 and p95 of (time a watcher decoded a frame − time written in it), over
 *   every decoded frame of every watcher: publisher encode, RTSP, the camera's decode and scale,
 *   its VP8 encode, WebRTC and the watcher's decode; one clock, one machine.
 *
 * The decode must not grow with watchers: ffmpeg's CPU stays flat while the camera's (one encode
 * per watcher connection, libwebrtc) grows.
 *
 * Environment: `BENCH_WINDOW_S` (10), `BENCH_WATCHERS` (`1,4,8`).
 */
import wrtc from "@roamhq/wrtc";
import { spawn, type ChildProcess } from "node:child_process";
import { readFile, readdir } from "node:fs/promises";
import { setTimeout as sleep } from "node:timers/promises";
import WebSocket from "ws";
import { PhoneSession } from "../client/core/phone.ts";
import { isUdpCandidate, settleWebRtc } from "../client/headless/peers.ts";
import { startServer } from "../server/server.ts";
import { LOOPBACK_TEST_LIMITS } from "../test/support/loopback-limits.ts";
import { FFMPEG_PATH, startRtspServer } from "../test/support/rtsp-server.ts";

type RTCVideoSink = InstanceType<typeof wrtc.nonstandard.RTCVideoSink>;

const WINDOW_S = Number(process.env.BENCH_WINDOW_S ?? 10);
const WATCHER_COUNTS = (process.env.BENCH_WATCHERS ?? "1,4,8").split(",").map(Number);
const PATTERN = { width: 640, height: 480, fps: 25 };
const CAMERA_USER = "bench-cam";
/** Linux clock ticks per second (`getconf CLK_TCK`), the unit of utime and stime. */
const CLOCK_TICKS_PER_SECOND = 100;
/** Bound of every wait for the camera and the watchers. */
const DEADLINE_MS = 120_000;

/** Bits of the time stamp drawn into each frame: milliseconds modulo 2^24 (4.6 hours). */
const STAMP_BITS = 24;
const STAMP_MODULO = 2 ** STAMP_BITS;
/** The stamp's blocks: 6 columns × 4 rows of 80×80 pixels, centred on the 640×480 picture. */
const STAMP_COLUMNS = 6;
const STAMP_BLOCK = 80;
const STAMP_LEFT = (PATTERN.width - STAMP_COLUMNS * STAMP_BLOCK) / 2;
const STAMP_TOP = (PATTERN.height - (STAMP_BITS / STAMP_COLUMNS) * STAMP_BLOCK) / 2;
/** A latency above this is a misread stamp (a frame caught mid-change by the encoder), not kept. */
const MAX_PLAUSIBLE_LATENCY_MS = 10_000;

/** The wall clock as the stamp carries it. */
function stampNow(): number {
  return Date.now() % STAMP_MODULO;
}

/** Writes `stamp` into the grey picture `luma` (640×480): bit i is block i, white for 1. */
function drawTimestamp(luma: Uint8Array, stamp: number): void {
  for (let bit = 0; bit < STAMP_BITS; bit += 1) {
    const value = (stamp >> bit) & 1 ? 235 : 16;
    const left = STAMP_LEFT + (bit % STAMP_COLUMNS) * STAMP_BLOCK;
    const top = STAMP_TOP + Math.floor(bit / STAMP_COLUMNS) * STAMP_BLOCK;
    for (let row = top; row < top + STAMP_BLOCK; row += 1) {
      luma.fill(value, row * PATTERN.width + left, row * PATTERN.width + left + STAMP_BLOCK);
    }
  }
}

/**
 * Reads the stamp back from a decoded I420 frame of any size (libwebrtc may scale it down): the
 * luma at the centre of each block, scaled to the frame, above or below mid-grey.
 */
function readTimestamp(frame: { width: number; height: number; data: Uint8Array }): number {
  const scaleX = frame.width / PATTERN.width;
  const scaleY = frame.height / PATTERN.height;
  let stamp = 0;
  for (let bit = 0; bit < STAMP_BITS; bit += 1) {
    const x = Math.round((STAMP_LEFT + (bit % STAMP_COLUMNS) * STAMP_BLOCK + STAMP_BLOCK / 2) * scaleX);
    const y = Math.round((STAMP_TOP + Math.floor(bit / STAMP_COLUMNS) * STAMP_BLOCK + STAMP_BLOCK / 2) * scaleY);
    if ((frame.data[y * frame.width + x] ?? 0) > 128) {
      stamp |= 1 << bit;
    }
  }
  return stamp;
}

/**
 * Publishes the stamped picture to `url` at 25 fps: this process draws each frame when it is due
 * and hands it to ffmpeg (grey raw video on stdin → H.264 → RTSP over UDP).
 */
function startStampPublisher(url: string): { stop: () => Promise<void> } {
  const child = spawn(FFMPEG_PATH, [
    "-hide_banner", "-nostdin", "-loglevel", "error",
    "-f", "rawvideo", "-pix_fmt", "gray", "-s", `${PATTERN.width}x${PATTERN.height}`, "-r", String(PATTERN.fps), "-i", "pipe:0",
    "-c:v", "libx264", "-preset", "ultrafast", "-tune", "zerolatency", "-g", String(PATTERN.fps), "-pix_fmt", "yuv420p",
    "-f", "rtsp", "-rtsp_transport", "udp", url,
  ], { stdio: ["pipe", "ignore", "inherit"] });
  const luma = new Uint8Array(PATTERN.width * PATTERN.height).fill(128);
  const timer = setInterval(() => {
    drawTimestamp(luma, stampNow());
    // A frame ffmpeg cannot take now is dropped, not queued: a queued frame would carry a stale time.
    if (child.stdin && child.stdin.writableLength === 0) {
      child.stdin.write(luma);
    }
  }, 1000 / PATTERN.fps);
  const exited = new Promise((resolve) => child.once("exit", resolve));
  return {
    async stop() {
      clearInterval(timer);
      child.stdin?.end();
      child.kill("SIGTERM");
      await exited;
    },
  };
}

/** p-th percentile (0–100) of `values`, rounded to a millisecond; null without values. */
function percentile(values: readonly number[], p: number): number | null {
  if (values.length === 0) {
    return null;
  }
  const sorted = [...values].sort((a, b) => a - b);
  return Math.round(sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0);
}

/** A headless user watching the camera, counting the frames it decodes and their latency. */
class BenchWatcher {
  readonly session: PhoneSession;
  frames = 0;
  /** Glass-to-glass latencies of the frames decoded since the last {@link takeLatencies}. */
  #latencies: number[] = [];
  #sink: RTCVideoSink | undefined;

  constructor(url: string, userID: string) {
    this.session = new PhoneSession({ url, userID, wrtc, WebSocket, candidateFilter: isUdpCandidate });
    this.session.on("watch-stream", ({ stream }) => {
      const [track] = stream.getVideoTracks();
      if (track) {
        this.#sink = new wrtc.nonstandard.RTCVideoSink(track);
        this.#sink.onframe = ({ frame }: { frame: { width: number; height: number; data: Uint8Array } }) => {
          this.frames += 1;
          const latency = (stampNow() - readTimestamp(frame) + STAMP_MODULO) % STAMP_MODULO;
          if (latency < MAX_PLAUSIBLE_LATENCY_MS) {
            this.#latencies.push(latency);
          }
        };
      }
    });
  }

  /** The latencies gathered since the last call, and a fresh start. */
  takeLatencies(): number[] {
    const taken = this.#latencies;
    this.#latencies = [];
    return taken;
  }

  close(): void {
    this.#sink?.stop();
    this.session.close();
  }
}

/** CPU ticks (utime + stime) and resident KiB of one process; undefined once it is gone. */
async function processSample(pid: number): Promise<{ ticks: number; rssKiB: number } | undefined> {
  try {
    const [stat, status] = await Promise.all([readFile(`/proc/${pid}/stat`, "utf8"), readFile(`/proc/${pid}/status`, "utf8")]);
    // Fields after the command name (which may hold spaces) start at ") ": utime and stime are 14 and 15.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const ticks = Number(fields[11]) + Number(fields[12]);
    const rssKiB = Number(/^VmRSS:\s+(\d+)/m.exec(status)?.[1] ?? 0);
    return { ticks, rssKiB };
  } catch {
    return undefined;
  }
}

/** Pids of the ffmpeg processes whose parent is `parentPid`. */
async function ffmpegChildren(parentPid: number): Promise<number[]> {
  const pids: number[] = [];
  for (const entry of await readdir("/proc")) {
    if (!/^\d+$/.test(entry)) {
      continue;
    }
    try {
      const stat = await readFile(`/proc/${entry}/stat`, "utf8");
      const name = stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"));
      const parent = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      if (name === "ffmpeg" && parent === parentPid) {
        pids.push(Number(entry));
      }
    } catch {
      // The process ended while /proc was read.
    }
  }
  return pids;
}

async function waitUntil(description: string, condition: () => boolean | Promise<boolean>): Promise<void> {
  const deadline = Date.now() + DEADLINE_MS;
  while (!(await condition())) {
    if (Date.now() > deadline) {
      throw new Error(`timed out waiting for ${description}`);
    }
    await sleep(100);
  }
}

/** Starts `webrtc-room camera` from source, as its own process. */
function startCameraProcess(wsUrl: string, source: string): { child: ChildProcess; log: () => string } {
  const child = spawn(process.execPath, [
    "--conditions=@webrtc-room/source", "--import", "tsx", "bin/webrtc-room.js", "camera",
    "--url", wsUrl, "--source", source, "--name", "Bench", "--login", CAMERA_USER,
    "--size", `${PATTERN.width}x${PATTERN.height}`, "--fps", String(PATTERN.fps),
    "--rtsp-transport", "udp", "--idle-stop", "0", "--no-audio", "--ffmpeg", FFMPEG_PATH,
  ], { stdio: ["ignore", "ignore", "pipe"] });
  let log = "";
  child.stderr?.on("data", (chunk: Buffer) => (log += chunk.toString()));
  return { child, log: () => log };
}

async function main(): Promise<void> {
  const [server, rtsp] = await Promise.all([
    startServer({ ...LOOPBACK_TEST_LIMITS, host: "127.0.0.1", port: 0, iceServers: [] }),
    startRtspServer(),
  ]);
  const publisher = startStampPublisher(rtsp.sourceUrl("bench"));
  const camera = startCameraProcess(server.wsUrl, rtsp.clientUrl("bench"));
  const cameraPid = camera.child.pid ?? 0;
  const watchers: BenchWatcher[] = [];
  const rounds: unknown[] = [];
  try {
    await waitUntil("the camera to go live", () => camera.log().includes(": live: "));
    for (const count of WATCHER_COUNTS) {
      while (watchers.length < count) {
        const watcher = new BenchWatcher(server.wsUrl, `watcher-${watchers.length + 1}`);
        watchers.push(watcher);
        await watcher.session.connect();
        watcher.session.watch(CAMERA_USER);
      }
      await waitUntil(`${count} watchers decoding`, () => watchers.every((watcher) => watcher.frames > PATTERN.fps));
      // Let the encoders settle on their bitrate before measuring.
      await sleep(2_000);
      const ffmpegPids = await ffmpegChildren(cameraPid);
      const pids = [cameraPid, ...ffmpegPids];
      const before = await Promise.all(pids.map(processSample));
      const framesBefore = watchers.map((watcher) => watcher.frames);
      for (const watcher of watchers) {
        watcher.takeLatencies();
      }
      const startedAt = performance.now();
      await sleep(WINDOW_S * 1000);
      const seconds = (performance.now() - startedAt) / 1000;
      const after = await Promise.all(pids.map(processSample));
      const cpuPercent = (index: number): number => {
        const used = (after[index]?.ticks ?? 0) - (before[index]?.ticks ?? 0);
        return Math.round((used / CLOCK_TICKS_PER_SECOND / seconds) * 1000) / 10;
      };
      const ffmpegCpu = ffmpegPids.reduce((sum, _pid, index) => sum + cpuPercent(index + 1), 0);
      const fps = watchers.map((watcher, index) => (watcher.frames - (framesBefore[index] ?? 0)) / seconds);
      const latencies = watchers.flatMap((watcher) => watcher.takeLatencies());
      rounds.push({
        watchers: count,
        ffmpegProcesses: (await ffmpegChildren(cameraPid)).length,
        cpuPercent: { camera: cpuPercent(0), ffmpeg: Math.round(ffmpegCpu * 10) / 10, total: Math.round((cpuPercent(0) + ffmpegCpu) * 10) / 10 },
        rssMiB: {
          camera: Math.round((after[0]?.rssKiB ?? 0) / 102.4) / 10,
          ffmpeg: Math.round(after.slice(1).reduce((sum, sample) => sum + (sample?.rssKiB ?? 0), 0) / 102.4) / 10,
        },
        fpsPerWatcher: { min: Math.round(Math.min(...fps) * 10) / 10, mean: Math.round((fps.reduce((sum, value) => sum + value, 0) / fps.length) * 10) / 10 },
        glassToGlassMs: { p50: percentile(latencies, 50), p95: percentile(latencies, 95), frames: latencies.length },
      });
    }
  } finally {
    for (const watcher of watchers) {
      watcher.close();
    }
    camera.child.kill("SIGTERM");
    await new Promise((resolve) => camera.child.once("exit", resolve));
    await publisher.stop();
    await Promise.all([rtsp.stop(), server.close()]);
    await settleWebRtc();
  }
  const [first] = rounds as Array<{ cpuPercent: { camera: number; ffmpeg: number } }>;
  const ratios = (rounds as Array<{ watchers: number; cpuPercent: { camera: number; ffmpeg: number } }>).map((round) => ({
    watchers: round.watchers,
    cameraCpuVsOneWatcher: first ? Math.round((round.cpuPercent.camera / first.cpuPercent.camera) * 100) / 100 : null,
    ffmpegCpuVsOneWatcher: first ? Math.round((round.cpuPercent.ffmpeg / first.cpuPercent.ffmpeg) * 100) / 100 : null,
  }));
  const load = (await readFile("/proc/loadavg", "utf8")).split(" ").slice(0, 3).map(Number);
  console.log(JSON.stringify({ source: { ...PATTERN, transport: "rtsp/udp", picture: "time stamp blocks" }, windowSeconds: WINDOW_S, loadAverage: load, rounds, ratios }, null, 2));
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    // A process in which @roamhq/wrtc ran ends with process.exit() (node-webrtc/node-webrtc#636).
    process.exit(1);
  },
);
