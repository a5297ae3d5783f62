/**
 * The camera peer with real parts: a real server, a real RTSP server fed by a real ffmpeg
 * publisher, the camera's own ffmpeg, and a headless peer that decodes what the camera publishes.
 */
import wrtc from "@roamhq/wrtc";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, test } from "vitest";
import { startServer, type RunningServer } from "../../server/server.ts";
import { mintToken } from "../../server/tokens.ts";
import { LOOPBACK_TEST_LIMITS } from "../support/loopback-limits.ts";
import { Camera, CameraSourceState, type CameraOptions, type CameraStatusMessage } from "../../client/headless/camera.ts";
import { HeadlessPeer, settleWebRtc } from "../../client/headless/peers.ts";
import { MESH_DEADLINE_MS, startTestServer, waitFor } from "../mesh/helpers.ts";
import {
  FFMPEG_PATH,
  processExists,
  requireCameraBinaries,
  startRtspServer,
  writeTestClip,
  type RunningRtspServer,
} from "../support/rtsp-server.ts";

const hasBinaries = requireCameraBinaries();

/**
 * Small frames and quick retries: the behaviour is the same, the machine is shared. A first frame
 * gets 8 s, not the default 20: an attempt that opened the RTSP stream in the moment the publisher
 * came and went would otherwise hold the camera for 20 s before the next one, most of a wait's
 * budget. The test sources are silent (the sound tests ask for audio).
 */
const TEST_CAMERA: Partial<CameraOptions> = {
  format: { width: 160, height: 120, fps: 10 },
  retryPolicy: () => 300,
  stallSeconds: 2,
  firstFrameSeconds: 8,
  idleStopSeconds: 0,
  audio: false,
  ffmpegPath: FFMPEG_PATH,
};

/**
 * Resolves when `camera` enters `state` (at once when it is there): listening to its status
 * events, so that a state it passes through between two polls is not missed.
 */
function nextState(camera: Camera, state: CameraSourceState, timeoutMs = MESH_DEADLINE_MS): Promise<void> {
  if (camera.state === state) {
    return Promise.resolve();
  }
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      unsubscribe();
      reject(new Error(`timed out after ${timeoutMs} ms waiting for the camera to be ${state} (it is ${camera.state})`));
    }, timeoutMs);
    const unsubscribe = camera.on("status", ({ state: entered }) => {
      if (entered === state) {
        clearTimeout(timer);
        unsubscribe();
        resolve();
      }
    });
  });
}

describe.skipIf(!hasBinaries)("camera peer", () => {
  let server: RunningServer;
  let rtsp: RunningRtspServer;
  let directory: string;
  let clip: string;
  let toneClip: string;
  const cameras: Camera[] = [];
  const peers: HeadlessPeer[] = [];

  beforeAll(async () => {
    [server, rtsp, directory] = await Promise.all([startTestServer(), startRtspServer(), mkdtemp(join(tmpdir(), "webrtc-room-camera-"))]);
    clip = join(directory, "clip.mp4");
    toneClip = join(directory, "tone.mp4");
    await Promise.all([writeTestClip(clip), writeTestClip(toneClip, 2, true)]);
  });

  afterEach(async () => {
    for (const peer of peers.splice(0)) {
      peer.leave();
    }
    await Promise.all(cameras.splice(0).map((camera) => camera.close()));
    await settleWebRtc();
  });

  afterAll(async () => {
    await Promise.all([server?.close(), rtsp?.stop(), directory ? rm(directory, { recursive: true, force: true }) : undefined]);
  });

  function startCamera(options: Pick<CameraOptions, "room" | "source" | "name"> & Partial<CameraOptions>): Camera {
    const camera = new Camera({ url: server.wsUrl, ...TEST_CAMERA, ...options });
    cameras.push(camera);
    void camera.start();
    return camera;
  }

  async function joinWatcher(room: string, video = false): Promise<HeadlessPeer> {
    const peer = new HeadlessPeer({ url: server.wsUrl, room, username: `watcher-${peers.length + 1}`, video });
    peers.push(peer);
    await peer.join();
    return peer;
  }

  /** The camera's id as the watcher knows it (its only peer named `name`). */
  function cameraIdAt(watcher: HeadlessPeer, name: string): string | undefined {
    return [...watcher.session.peers.values()].find((peer) => peer.username === name)?.id;
  }

  describe("happy path", () => {
    test("a watcher decodes frames from an RTSP camera pulled over UDP, and the camera receives nothing", async () => {
      rtsp.publish("gate");
      const camera = startCamera({ room: "rtsp-room", name: "Gate", source: rtsp.clientUrl("gate"), rtspTransport: "udp" });
      await waitFor("the camera to go live", () => camera.state === CameraSourceState.live);

      // The watcher sends video too: the camera must not take it.
      const watcher = await joinWatcher("rtsp-room", true);
      await waitFor("frames from the camera", () => {
        const id = cameraIdAt(watcher, "Gate");
        return id !== undefined && watcher.framesFrom(id) > 10;
      });

      const cameraPeer = [...(camera.session?.peers.values() ?? [])][0];
      const sdp = cameraPeer?.peerConnection?.localDescription?.sdp ?? "";
      const mediaSections = sdp.split(/^(?=m=)/m).filter((section) => /^m=(audio|video)/.test(section));
      expect(mediaSections.length).toBeGreaterThan(0);
      for (const section of mediaSections) {
        expect(section).toMatch(/^a=(sendonly|inactive)\r?$/m);
      }
      const stats = await cameraPeer?.peerConnection?.getStats();
      const decoded = [...(stats?.values() ?? [])].filter((report: { type: string; framesDecoded?: number }) => report.type === "inbound-rtp" && (report.framesDecoded ?? 0) > 0);
      expect(decoded).toEqual([]);
    });

    test("a file source is read in a loop, and two watchers share the camera's one ffmpeg", async () => {
      const camera = startCamera({ room: "file-room", name: "Clip", source: clip });
      await waitFor("the camera to go live", () => camera.state === CameraSourceState.live);
      const pid = camera.ffmpegPid;
      const starts: number[] = [];
      camera.on("ffmpeg", ({ pid: started, running }) => running && started !== undefined && starts.push(started));

      const first = await joinWatcher("file-room");
      const second = await joinWatcher("file-room");
      await waitFor("frames at both watchers", () =>
        [first, second].every((watcher) => {
          const id = cameraIdAt(watcher, "Clip");
          return id !== undefined && watcher.framesFrom(id) > 10;
        }),
      );
      // The 2 s clip gives 20 frames at 10 fps: more than 30 means it looped.
      const framesNow = camera.framesSent;
      await waitFor("more than a clip's worth of frames", () => camera.framesSent > framesNow + 30);

      expect(camera.ffmpegPid).toBe(pid);
      expect(starts).toEqual([]);
    });

    test("a source with sound is heard by a watcher: its audio sink receives the tone's samples", async () => {
      const camera = startCamera({ room: "tone-room", name: "Bell", source: toneClip, audio: true });
      const watcher = new HeadlessPeer({ url: server.wsUrl, room: "tone-room", username: "listener" });
      peers.push(watcher);
      const streams: MediaStream[] = [];
      watcher.session.on("peer-stream", ({ stream }) => streams.push(stream));
      await watcher.join();
      await waitFor("the camera's sound to be published", () => camera.hasAudio);
      await waitFor("an audio track from the camera", () => streams.some((stream) => stream.getAudioTracks().length > 0));
      const [track] = streams.flatMap((stream) => stream.getAudioTracks());
      let loudest = 0;
      const sink = new wrtc.nonstandard.RTCAudioSink(track as MediaStreamTrack);
      sink.ondata = ({ samples }: { samples: Int16Array }) => {
        for (const sample of samples) {
          loudest = Math.max(loudest, Math.abs(sample));
        }
      };
      try {
        // The tone is written at ffmpeg's default sine amplitude (1/8 of full scale): far above silence.
        await waitFor("non-silent samples at the watcher", () => loudest > 1_000);
        const cameraId = cameraIdAt(watcher, "Bell") ?? "";
        await waitFor("the camera's tile state to say sound on", () => watcher.session.peers.get(cameraId)?.mediaState?.audio === true);
      } finally {
        sink.stop();
      }
    });

    test("a source without sound is video only after one run that finds that out", async () => {
      const camera = startCamera({ room: "silent-room", name: "Mute", source: clip, audio: true });
      const logs: string[] = [];
      camera.on("log", ({ message }) => logs.push(message));
      await waitFor("the camera to go live", () => camera.state === CameraSourceState.live);

      expect(camera.hasAudio).toBe(false);
      expect(logs).toContain("the source has no sound: video only");
    });
  });

  describe("failure cases", () => {
    test("reports offline when the RTSP publisher stops, and frames rise again when it comes back", async () => {
      const publisher = rtsp.publish("drop");
      const camera = startCamera({ room: "drop-room", name: "Yard", source: rtsp.clientUrl("drop"), rtspTransport: "udp" });
      const watcher = await joinWatcher("drop-room");
      const statuses: CameraStatusMessage[] = [];
      watcher.session.on("peer-data", ({ data }) => statuses.push(data as CameraStatusMessage));
      const framesAtWatcher = (): number => {
        const id = cameraIdAt(watcher, "Yard");
        return id === undefined ? 0 : watcher.framesFrom(id);
      };
      await waitFor("frames before the drop", () => framesAtWatcher() > 5);
      const sessionBefore = camera.session;

      const offline = nextState(camera, CameraSourceState.offline);
      await publisher.stop();
      await offline;
      await waitFor("the watcher to hear camera offline", () => statuses.some((status) => status.type === "camera_status" && status.state === "offline"));
      const cameraId = cameraIdAt(watcher, "Yard") ?? "";
      await waitFor("the watcher to see the camera's video off", () => watcher.session.peers.get(cameraId)?.mediaState?.video === false);

      const liveAgain = nextState(camera, CameraSourceState.live);
      rtsp.publish("drop");
      await liveAgain;
      const framesAtRecovery = framesAtWatcher();
      await waitFor("frames rising again at the watcher", () => framesAtWatcher() > framesAtRecovery + 5);
      // Same room session, same peer: the camera never left.
      expect(camera.session).toBe(sessionBefore);
      expect(cameraIdAt(watcher, "Yard")).toBe(cameraId);
    });

    test("stops ffmpeg when nobody else is in the room, and starts it when someone joins", async () => {
      const camera = startCamera({ room: "idle-room", name: "Porch", source: clip, idleStopSeconds: 1 });
      await waitFor("ffmpeg to start", () => camera.ffmpegPid !== undefined);
      const firstPid = camera.ffmpegPid ?? 0;

      await waitFor("the camera to go idle", () => camera.state === CameraSourceState.idle);
      expect(camera.ffmpegPid).toBeUndefined();
      await waitFor("the idle ffmpeg to be gone", () => !processExists(firstPid));

      const watcher = await joinWatcher("idle-room");
      await waitFor("ffmpeg to start again", () => camera.ffmpegPid !== undefined);
      await waitFor("frames after the restart", () => {
        const id = cameraIdAt(watcher, "Porch");
        return id !== undefined && watcher.framesFrom(id) > 5;
      });
    });

    test("another camera in the room does not count as a watcher: both go idle", async () => {
      const first = startCamera({ room: "two-cameras", name: "East", source: clip, idleStopSeconds: 1 });
      await waitFor("the first camera in the room", () => first.session?.isJoined === true);
      const second = startCamera({ room: "two-cameras", name: "West", source: clip, idleStopSeconds: 1 });
      await waitFor("the cameras to see each other", () => first.session?.peers.size === 1 && second.session?.peers.size === 1);

      await waitFor("both cameras idle", () => first.state === CameraSourceState.idle && second.state === CameraSourceState.idle);
      expect([first.ffmpegPid, second.ffmpegPid]).toEqual([undefined, undefined]);
    });

    test("joins a token-mode server with its join token, and is refused (and says so) without one", async () => {
      const secret = "a-camera-test-secret-of-more-than-32-bytes";
      const tokenServer = await startServer({ ...LOOPBACK_TEST_LIMITS, host: "127.0.0.1", port: 0, iceServers: [], auth: "token", authSecret: secret });
      try {
        const token = await mintToken({ kind: "join", userId: "gate-camera", room: "token-yard", name: "Gate", grants: { publish: true } }, secret, 60);
        const withToken = startCamera({ url: tokenServer.wsUrl, room: "token-yard", name: "Gate", source: clip, token });
        const withoutToken = startCamera({ url: tokenServer.wsUrl, room: "token-yard", name: "Intruder", source: clip });
        const refusals: string[] = [];
        withoutToken.on("log", ({ message }) => refusals.push(message));

        await waitFor("the camera with a token in the room", () => withToken.session?.isJoined === true);
        expect(withToken.session?.info?.username).toBe("Gate");
        await waitFor("the camera without a token refused", () => refusals.some((message) => message.includes("token_missing")));
        expect(withoutToken.session?.isJoined).toBe(false);
      } finally {
        await Promise.all(cameras.splice(0).map((camera) => camera.close()));
        await tokenServer.close();
      }
    });

    test("close() leaves the room and leaves no ffmpeg running", async () => {
      const camera = startCamera({ room: "close-room", name: "Door", source: clip });
      const watcher = await joinWatcher("close-room");
      await waitFor("the camera to go live", () => camera.state === CameraSourceState.live);
      const pid = camera.ffmpegPid ?? 0;

      await camera.close();

      expect(processExists(pid)).toBe(false);
      await waitFor("the watcher to see the camera leave", () => cameraIdAt(watcher, "Door") === undefined);
    });
  });
});
