/**
 * One `ffmpeg` child process that reads a camera source (RTSP, HTTP MJPEG, a file, a V4L2
 * device: anything ffmpeg opens) and writes raw I420 frames of one fixed size to its stdout and,
 * when asked, the source's sound as 10 ms blocks of 48 kHz mono 16-bit samples to a second pipe
 * (fd 3); and the splitter that cuts those byte streams into frames.
 *
 * ffmpeg does the decoding and the scaling, so that the WebRTC side always gets frames of the size
 * it announced, whatever the camera sends and even when the camera changes resolution.
 */
import { spawn, type ChildProcess } from "node:child_process";
import type { Readable } from "node:stream";

/** The raw frames ffmpeg is asked for. */
export interface FrameFormat {
  width: number;
  height: number;
  fps: number;
}

/** How ffmpeg reaches an `rtsp://` source; cameras and most servers speak both. */
export type RtspTransport = "tcp" | "udp";

/** What {@link ffmpegArguments} needs. */
export interface FfmpegInput {
  /** A URL (`rtsp://`, `rtsps://`, `http://`…), a file path, or a V4L2 device (`/dev/video0`). */
  source: string;
  format: FrameFormat;
  /** Used only for `rtsp://` and `rtsps://` sources. */
  rtspTransport: RtspTransport;
  /**
   * Also decode the source's first audio stream to {@link AUDIO_FORMAT} on fd 3. ffmpeg fails
   * (see {@link isMissingAudioExit}) when the source has no audio: run it again without.
   */
  audio?: boolean;
}

/**
 * The audio ffmpeg writes, as `RTCAudioSource.onData` takes it: 16-bit signed little-endian mono
 * at 48 kHz, handed on in blocks of 10 ms (480 samples).
 */
export const AUDIO_FORMAT = { sampleRate: 48_000, channelCount: 1, bitsPerSample: 16, samplesPerBlock: 480 } as const;

/** Bytes of one 10 ms audio block of {@link AUDIO_FORMAT}. */
export const AUDIO_BLOCK_BYTES = AUDIO_FORMAT.samplesPerBlock * AUDIO_FORMAT.channelCount * (AUDIO_FORMAT.bitsPerSample / 8);

/** The file descriptor of the child's audio pipe (`pipe:3`): 0–2 are stdin, stdout, stderr. */
const AUDIO_FD = 3;

/** Bytes of one I420 frame: a full-size luma plane and two quarter-size chroma planes. */
export function i420FrameBytes(width: number, height: number): number {
  return width * height + 2 * (Math.ceil(width / 2) * Math.ceil(height / 2));
}

/** The kind of source a string names, which decides ffmpeg's input options. */
export type SourceKind = "rtsp" | "url" | "v4l2" | "file";

/** Classifies `source`: an RTSP URL, another URL, a V4L2 device, or a file. */
export function sourceKind(source: string): SourceKind {
  if (/^rtsps?:\/\//i.test(source)) {
    return "rtsp";
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(source)) {
    return "url";
  }
  if (source.startsWith("/dev/video")) {
    return "v4l2";
  }
  return "file";
}

/**
 * The ffmpeg command line for `input`. A file is read at its own frame rate (`-re`) and looped, so
 * that it behaves like a live camera; live sources are read as fast as they come. The picture is
 * scaled to fit the frame and padded (black bars), never stretched, and the frame rate is fixed
 * (frames dropped or repeated), so that every frame on stdout has the same size. With `audio`, a
 * second output carries the first audio stream (`0:a:0?`), resampled and mixed down to
 * {@link AUDIO_FORMAT}, to fd 3; `-flush_packets 1` hands each decoded packet on at once instead
 * of in 32 KiB bursts (a third of a second of sound).
 */
export function ffmpegArguments(input: FfmpegInput): string[] {
  const { width, height, fps } = input.format;
  const inputOptions: Record<SourceKind, string[]> = {
    rtsp: ["-rtsp_transport", input.rtspTransport],
    url: [],
    v4l2: ["-f", "v4l2"],
    file: ["-re", "-stream_loop", "-1"],
  };
  const filter = [
    `scale=${width}:${height}:force_original_aspect_ratio=decrease`,
    `pad=${width}:${height}:(ow-iw)/2:(oh-ih)/2`,
    `fps=${fps}`,
  ].join(",");
  return [
    "-hide_banner",
    "-nostdin",
    "-loglevel", "error",
    ...inputOptions[sourceKind(input.source)],
    "-i", input.source,
    ...(input.audio ? ["-map", "0:v:0"] : ["-an"]),
    "-vf", filter,
    "-pix_fmt", "yuv420p",
    "-f", "rawvideo",
    "pipe:1",
    ...(input.audio
      ? [
          "-map", "0:a:0?",
          "-ac", String(AUDIO_FORMAT.channelCount),
          "-ar", String(AUDIO_FORMAT.sampleRate),
          "-flush_packets", "1",
          "-f", "s16le",
          `pipe:${AUDIO_FD}`,
        ]
      : []),
  ];
}

/**
 * True when `exit` is ffmpeg refusing to start because the audio output got no stream: the
 * source has no sound. The caller runs it again without `audio`.
 */
export function isMissingAudioExit(exit: FfmpegExit): boolean {
  return !exit.stopped && /does not contain any stream/.test(exit.stderrTail);
}

/**
 * Cuts a byte stream into frames of exactly `frameBytes` bytes. Chunks arrive at any boundary; a
 * frame is handed out as soon as its last byte arrived, in a buffer that is reused for the next
 * frame (the consumer copies what it keeps, as `RTCVideoSource.onFrame` does). One splitter per
 * ffmpeg run: a partial frame dies with its process.
 */
export class FrameSplitter {
  readonly #frame: Uint8Array;
  #filled = 0;

  constructor(frameBytes: number) {
    this.#frame = new Uint8Array(frameBytes);
  }

  /** Adds `chunk`; calls `onFrame` for every frame it completes, in order. */
  push(chunk: Uint8Array, onFrame: (frame: Uint8Array) => void): void {
    let offset = 0;
    while (offset < chunk.length) {
      const take = Math.min(this.#frame.length - this.#filled, chunk.length - offset);
      this.#frame.set(chunk.subarray(offset, offset + take), this.#filled);
      this.#filled += take;
      offset += take;
      if (this.#filled === this.#frame.length) {
        this.#filled = 0;
        onFrame(this.#frame);
      }
    }
  }
}

/** How an ffmpeg process ended. */
export interface FfmpegExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** The last lines ffmpeg wrote to stderr (its error, when it failed). */
  stderrTail: string;
  /** True when {@link FfmpegProcess.stop} ended it. */
  stopped: boolean;
}

/** Options of an {@link FfmpegProcess}. */
export interface FfmpegProcessOptions extends FfmpegInput {
  /** The ffmpeg executable; `ffmpeg` from `PATH` by default. */
  ffmpegPath?: string;
  /** Called with each complete frame; the buffer is reused after the call returns. */
  onFrame: (frame: Uint8Array) => void;
  /** With `audio`: called with each 10 ms block of {@link AUDIO_FORMAT} samples, reused likewise. */
  onAudio?: (samples: Int16Array) => void;
}

/** How long ffmpeg may take to exit after SIGTERM before it is killed with SIGKILL. */
export const FFMPEG_STOP_GRACE_MS = 2_000;

/** Lines of ffmpeg's stderr kept for the error message of a failed run. */
const STDERR_TAIL_LINES = 5;

/** A running ffmpeg process that reads one source; see {@link ffmpegArguments}. */
export class FfmpegProcess {
  /** Resolves once the process has exited (and been reaped). */
  readonly exited: Promise<FfmpegExit>;
  readonly #child: ChildProcess;
  #stderrLines: string[] = [];
  #stopping = false;
  #hasExited = false;

  constructor(options: FfmpegProcessOptions) {
    const { width, height } = options.format;
    const splitter = new FrameSplitter(i420FrameBytes(width, height));
    this.#child = spawn(options.ffmpegPath ?? "ffmpeg", ffmpegArguments(options), {
      stdio: ["ignore", "pipe", "pipe", ...(options.audio ? (["pipe"] as const) : [])],
    });
    const { stdout, stderr } = this.#child;
    stdout?.on("data", (chunk: Buffer) => splitter.push(chunk, options.onFrame));
    const audioPipe = this.#child.stdio[AUDIO_FD] as Readable | null | undefined;
    const onAudio = options.onAudio;
    if (audioPipe && onAudio) {
      const audioSplitter = new FrameSplitter(AUDIO_BLOCK_BYTES);
      // The splitter's buffer starts at offset 0 of its own ArrayBuffer: aligned for 16-bit samples.
      audioPipe.on("data", (chunk: Buffer) => audioSplitter.push(chunk, (block) => onAudio(new Int16Array(block.buffer, block.byteOffset, AUDIO_FORMAT.samplesPerBlock))));
    }
    let partialLine = "";
    stderr?.setEncoding("utf8");
    stderr?.on("data", (text: string) => {
      const lines = (partialLine + text).split(/\r?\n/);
      partialLine = lines.pop() ?? "";
      this.#stderrLines = [...this.#stderrLines, ...lines.filter((line) => line.trim() !== "")].slice(-STDERR_TAIL_LINES);
    });
    this.exited = new Promise<FfmpegExit>((resolve) => {
      // `close` (not `exit`) so that the last frames and stderr lines are in before it resolves.
      this.#child.once("close", (code, signal) => {
        this.#hasExited = true;
        resolve({ code, signal, stderrTail: [...this.#stderrLines, partialLine].filter(Boolean).join("\n"), stopped: this.#stopping });
      });
      // A missing executable: `close` follows `error`, with code -2 or null; keep the reason.
      this.#child.once("error", (error) => {
        this.#stderrLines.push(error.message);
      });
    });
  }

  /** The process id, once spawned (undefined when the executable could not be started). */
  get pid(): number | undefined {
    return this.#child.pid;
  }

  /**
   * Ends the process: SIGTERM, then SIGKILL when it has not exited after `graceMs`. Resolves once
   * it has exited. Safe to call twice.
   */
  async stop(graceMs: number = FFMPEG_STOP_GRACE_MS): Promise<FfmpegExit> {
    if (!this.#hasExited && !this.#stopping) {
      this.#stopping = true;
      this.#child.kill("SIGTERM");
      const killTimer = setTimeout(() => this.#child.kill("SIGKILL"), graceMs);
      void this.exited.then(() => clearTimeout(killTimer));
    }
    return this.exited;
  }
}
