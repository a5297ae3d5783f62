/**
 * `webrtc-room camera` end to end: the real binary in a child process, with its real ffmpeg
 * children, against a real server and a headless watcher.
 */
import { spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { HeadlessPeer, settleWebRtc } from "../../client/headless/peers.ts";
import type { RunningServer } from "../../server/server.ts";
import { startTestServer, waitFor } from "../mesh/helpers.ts";
import { processExists, requireCameraBinaries, writeTestClip } from "../support/rtsp-server.ts";

const BIN = fileURLToPath(new URL("../../bin/webrtc-room.js", import.meta.url));

/** Runs the binary with `args` to its end; resolves with its exit code and output. */
async function runBinary(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [BIN, ...args], { stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const [code] = (await once(child, "exit")) as [number | null];
  return { code, stdout, stderr };
}

const hasBinaries = requireCameraBinaries();

describe("webrtc-room camera, options", () => {
  test("--help documents every flag, sound and the unavailable status, and exits 0", async () => {
    const { code, stdout } = await runBinary(["camera", "--help"]);

    expect(code).toBe(0);
    for (const flag of ["--url", "--source", "--name", "--room", "--token", "--size", "--fps", "--rtsp-transport", "--idle-stop", "--stall-seconds", "--no-audio", "--config", "--ffmpeg"]) {
      expect(stdout).toContain(flag);
    }
    expect(stdout).toContain("sound");
    expect(stdout).toContain("unavailable");
  });

  test.each([
    [["--source", "a.mp4", "--name", "Gate", "--room", "yard"], "--url is required"],
    [["--url", "ws://127.0.0.1:1/ws", "--name", "Gate"], "--source, --room (or --login) required"],
    [["--url", "ws://127.0.0.1:1/ws", "--source", "a.mp4", "--name", "Gate", "--room", "yard", "--login-token", "t"], "--login-token needs --login"],
    [["--url", "ws://127.0.0.1:1/ws", "--source", "a.mp4", "--name", "Gate", "--room", "no spaces"], "--room must match"],
    [["--url", "ws://127.0.0.1:1/ws", "--source", "a.mp4", "--name", "Gate", "--room", "yard", "--size", "641x360"], "--size must be"],
    [["--url", "ws://127.0.0.1:1/ws", "--source", "a.mp4", "--name", "Gate", "--room", "yard", "--rtsp-transport", "http"], "--rtsp-transport must be"],
    [["--url", "ws://127.0.0.1:1/ws", "--config", "/nonexistent/cameras.json"], "cannot read --config"],
    [["--url", "ws://127.0.0.1:1/ws", "--config", "cameras.json", "--source", "a.mp4"], "cannot be combined"],
    [["--url", "ws://127.0.0.1:1/ws", "--source", "a.mp4", "--name", "Gate", "--room", "yard", "--ffmpeg", "/nonexistent/ffmpeg"], "cannot run ffmpeg"],
  ])("exits 2 on bad options %j", async (args, message) => {
    const { code, stderr } = await runBinary(["camera", ...args]);

    expect(code).toBe(2);
    expect(stderr).toContain(message);
  });
});

describe.skipIf(!hasBinaries)("webrtc-room camera, running", () => {
  let server: RunningServer;
  let directory: string;

  beforeAll(async () => {
    [server, directory] = await Promise.all([startTestServer(), mkdtemp(join(tmpdir(), "webrtc-room-camera-cli-"))]);
  });

  afterAll(async () => {
    await Promise.all([server?.close(), directory ? rm(directory, { recursive: true, force: true }) : undefined]);
  });

  test("runs two cameras from a config file in one process, and SIGTERM leaves no ffmpeg behind", async () => {
    const clip = join(directory, "clip.mp4");
    await writeTestClip(clip);
    const config = join(directory, "cameras.json");
    await writeFile(config, JSON.stringify([
      { source: clip, name: "Gate", room: "cli-yard" },
      { source: clip, name: "Porch", room: "cli-yard", size: "320x180", fps: 5, audio: false },
    ]));
    const child = spawn(process.execPath, [BIN, "camera", "--url", server.httpUrl, "--config", config, "--size", "160x120", "--fps", "10"], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stderr = "";
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = once(child, "exit") as Promise<[number | null, NodeJS.Signals | null]>;
    const watcher = new HeadlessPeer({ url: server.wsUrl, room: "cli-yard", username: "watcher" });
    try {
      await waitFor("both cameras live", () => (stderr.match(/: live: /g) ?? []).length >= 2);
      await watcher.join();
      const framesFrom = (name: string): number => {
        const id = [...watcher.session.peers.values()].find((peer) => peer.username === name)?.id;
        return id === undefined ? 0 : watcher.framesFrom(id);
      };
      await waitFor("frames from both cameras", () => framesFrom("Gate") > 5 && framesFrom("Porch") > 5);
      const pids = [...stderr.matchAll(/ffmpeg started \(pid (\d+)\)/g)].map((match) => Number(match[1]));
      // Gate finds out its clip is silent in a first run; Porch (audio: false) never asks.
      expect(pids).toHaveLength(3);

      child.kill("SIGTERM");
      const [code, signal] = await exited;

      expect({ code, signal }).toEqual({ code: 0, signal: null });
      expect(pids.filter(processExists)).toEqual([]);
      expect(stderr).toContain("SIGTERM received");
      expect(stderr).toContain("camera: stopped");
      await waitFor("the watcher to see both cameras leave", () => watcher.session.peers.size === 0);
    } finally {
      child.kill("SIGKILL");
      watcher.leave();
      await settleWebRtc();
    }
  });
});
