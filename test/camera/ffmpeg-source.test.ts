/**
 * The pure parts of the camera's source: ffmpeg's command line, the frame splitter, frame sizes
 * and the log's password redaction.
 */
import { describe, expect, test } from "vitest";
import { redactUrls } from "../../client/headless/camera.ts";
import {
  AUDIO_BLOCK_BYTES,
  FrameSplitter,
  ffmpegArguments,
  i420FrameBytes,
  isMissingAudioExit,
  sourceKind,
  type SourceKind,
} from "../../client/headless/ffmpeg-source.ts";

describe("sourceKind", () => {
  test.each<[string, SourceKind]>([
    ["rtsp://10.0.0.7/stream1", "rtsp"],
    ["RTSPS://cam.local:322/live", "rtsp"],
    ["http://10.0.0.8/mjpg/video.mjpg", "url"],
    ["https://example.org/live.m3u8", "url"],
    ["/dev/video0", "v4l2"],
    ["/srv/clips/gate.mp4", "file"],
    ["clip.mp4", "file"],
  ])("classifies %s as %s", (source, kind) => {
    expect(sourceKind(source)).toBe(kind);
  });
});

describe("ffmpegArguments", () => {
  const format = { width: 640, height: 360, fps: 15 };

  test("asks for raw I420 frames of the fixed size on stdout, scaled to fit and padded, at a fixed rate", () => {
    const args = ffmpegArguments({ source: "http://cam/video.mjpg", format, rtspTransport: "tcp" });

    expect(args.slice(args.indexOf("-i"), args.indexOf("-i") + 2)).toEqual(["-i", "http://cam/video.mjpg"]);
    expect(args).toContain("-an");
    expect(args[args.indexOf("-vf") + 1]).toBe("scale=640:360:force_original_aspect_ratio=decrease,pad=640:360:(ow-iw)/2:(oh-ih)/2,fps=15");
    expect(args.slice(-5)).toEqual(["-pix_fmt", "yuv420p", "-f", "rawvideo", "pipe:1"]);
    expect(args).not.toContain("-rtsp_transport");
  });

  test("with audio, maps the first video stream to stdout and the first audio stream, if any, to 48 kHz mono s16le on fd 3", () => {
    const args = ffmpegArguments({ source: "rtsp://cam/stream", format, rtspTransport: "tcp", audio: true });

    expect(args).not.toContain("-an");
    expect(args.slice(args.indexOf("-i") + 2, args.indexOf("-i") + 4)).toEqual(["-map", "0:v:0"]);
    expect(args.slice(args.indexOf("pipe:1") + 1)).toEqual(["-map", "0:a:0?", "-ac", "1", "-ar", "48000", "-flush_packets", "1", "-f", "s16le", "pipe:3"]);
    expect(AUDIO_BLOCK_BYTES).toBe(960);
  });

  test.each([
    [{ code: 1, signal: null, stopped: false, stderrTail: "Output file #1 does not contain any stream" }, true],
    [{ code: 1, signal: null, stopped: false, stderrTail: "rtsp://cam/stream: Connection refused" }, false],
    [{ code: null, signal: "SIGTERM", stopped: true, stderrTail: "Output file #1 does not contain any stream" }, false],
  ] as const)("tells a silent source's refusal from a failure: %o is %s", (exit, silent) => {
    expect(isMissingAudioExit(exit)).toBe(silent);
  });

  test.each([
    ["rtsp://cam/stream", "udp", ["-rtsp_transport", "udp"]],
    ["rtsp://cam/stream", "tcp", ["-rtsp_transport", "tcp"]],
    ["/dev/video2", "tcp", ["-f", "v4l2"]],
    ["gate.mp4", "tcp", ["-re", "-stream_loop", "-1"]],
  ] as const)("puts the input options of %s (%s) before -i", (source, rtspTransport, expected) => {
    const args = ffmpegArguments({ source, format, rtspTransport });
    const inputAt = args.indexOf("-i");

    expect(args.slice(inputAt - expected.length, inputAt)).toEqual(expected);
  });
});

describe("i420FrameBytes", () => {
  test.each([
    [640, 360, 345_600],
    [160, 120, 28_800],
    [3, 3, 9 + 2 * 4],
  ])("%ix%i takes %i bytes", (width, height, bytes) => {
    expect(i420FrameBytes(width, height)).toBe(bytes);
  });
});

describe("FrameSplitter", () => {
  /** Feeds `chunks` and returns copies of the frames handed out. */
  function split(frameBytes: number, chunks: number[][]): number[][] {
    const splitter = new FrameSplitter(frameBytes);
    const frames: number[][] = [];
    for (const chunk of chunks) {
      splitter.push(Uint8Array.from(chunk), (frame) => frames.push([...frame]));
    }
    return frames;
  }

  test.each([
    ["one chunk per frame", [[1, 2, 3], [4, 5, 6]], [[1, 2, 3], [4, 5, 6]]],
    ["frames across chunk boundaries", [[1], [2, 3, 4], [5], [6, 7]], [[1, 2, 3], [4, 5, 6]]],
    ["several frames in one chunk", [[1, 2, 3, 4, 5, 6, 7, 8, 9]], [[1, 2, 3], [4, 5, 6], [7, 8, 9]]],
    ["a partial frame held back", [[1, 2, 3, 4]], [[1, 2, 3]]],
    ["empty chunks", [[], [1, 2], [], [3]], [[1, 2, 3]]],
  ])("cuts %s", (_name, chunks, expected) => {
    expect(split(3, chunks)).toEqual(expected);
  });
});

describe("redactUrls", () => {
  test.each([
    ["rtsp://admin:s3cret@10.0.0.7/stream1", "rtsp://admin:***@10.0.0.7/stream1"],
    ["rtsp://admin:s3cret@10.0.0.7/stream1: Server returned 401 Unauthorized", "rtsp://admin:***@10.0.0.7/stream1: Server returned 401 Unauthorized"],
    ["rtsp://10.0.0.7/stream1", "rtsp://10.0.0.7/stream1"],
    ["/srv/clips/gate.mp4", "/srv/clips/gate.mp4"],
  ])("%s is logged as %s", (text, logged) => {
    expect(redactUrls(text)).toBe(logged);
  });
});
