/**
 * The camera as a device user (`--login`): a real server, a real RTSP server fed by a real ffmpeg
 * publisher, the camera's own ffmpeg, and headless phone sessions that watch the camera without
 * being asked. Two watchers share one decode: one ffmpeg, started when the first watcher came.
 */
import wrtc from "@roamhq/wrtc";
import { afterAll, afterEach, beforeAll, describe, expect, test } from "vitest";
import WebSocket from "ws";
import { Camera, CameraSourceState, type CameraOptions } from "../../client/headless/camera.ts";
import { isUdpCandidate, settleWebRtc } from "../../client/headless/peers.ts";
import { PhoneSession } from "../../client/core/phone.ts";
import type { RunningServer } from "../../server/server.ts";
import { startTestServer, waitFor } from "../mesh/helpers.ts";
import { FFMPEG_PATH, requireCameraBinaries, startRtspServer, type RunningRtspServer } from "../support/rtsp-server.ts";

type RTCVideoSink = InstanceType<typeof wrtc.nonstandard.RTCVideoSink>;

const hasBinaries = requireCameraBinaries();

/** Small frames and quick retries; ffmpeg stops one second after the last watcher left. */
const TEST_CAMERA: Partial<CameraOptions> = {
  format: { width: 160, height: 120, fps: 10 },
  retryPolicy: () => 300,
  stallSeconds: 2,
  idleStopSeconds: 1,
  // The test pattern is silent: no run to find that out, so that starts count watchers only.
  audio: false,
  ffmpegPath: FFMPEG_PATH,
};

/** A logged-in user counting the frames it decodes from what it watches. */
class Watcher {
  readonly session: PhoneSession;
  frames = 0;
  readonly #sinks: RTCVideoSink[] = [];

  constructor(url: string, userID: string) {
    this.session = new PhoneSession({ url, userID, wrtc, WebSocket, candidateFilter: isUdpCandidate });
    this.session.on("watch-stream", ({ stream }) => {
      const [track] = stream.getVideoTracks();
      if (track) {
        const sink = new wrtc.nonstandard.RTCVideoSink(track);
        sink.onframe = () => (this.frames += 1);
        this.#sinks.push(sink);
      }
    });
  }

  close(): void {
    this.session.close();
    for (const sink of this.#sinks.splice(0)) {
      sink.stop();
    }
  }
}

describe.skipIf(!hasBinaries)("camera as a device user", () => {
  let server: RunningServer;
  let rtsp: RunningRtspServer;
  const cameras: Camera[] = [];
  const watchers: Watcher[] = [];

  beforeAll(async () => {
    [server, rtsp] = await Promise.all([startTestServer(), startRtspServer()]);
  });

  afterEach(async () => {
    for (const watcher of watchers.splice(0)) {
      watcher.close();
    }
    await Promise.all(cameras.splice(0).map((camera) => camera.close()));
    await settleWebRtc();
  });

  afterAll(async () => {
    await Promise.all([server?.close(), rtsp?.stop()]);
  });

  test("two users watch the camera without being asked, from one ffmpeg started for the first of them", async () => {
    rtsp.publish("porch");
    const camera = new Camera({ url: server.wsUrl, ...TEST_CAMERA, name: "Porch", login: "porch-cam", source: rtsp.clientUrl("porch"), rtspTransport: "udp" });
    cameras.push(camera);
    const starts: number[] = [];
    camera.on("ffmpeg", ({ pid, running }) => running && pid !== undefined && starts.push(pid));
    await camera.start();
    // Nobody watches: after the idle bound ffmpeg is stopped.
    await waitFor("the camera to go idle", () => camera.state === CameraSourceState.idle);

    const [first, second] = [new Watcher(server.wsUrl, "ann"), new Watcher(server.wsUrl, "ben")];
    watchers.push(first, second);
    await Promise.all([first.session.connect(), second.session.connect()]);
    expect(first.session.user("porch-cam")).toMatchObject({ username: "Porch", device: true });
    const startsBefore = starts.length;
    first.session.watch("porch-cam");
    second.session.watch("porch-cam");
    await waitFor("frames at both watchers", () => first.frames > 10 && second.frames > 10);

    expect(starts.length).toBe(startsBefore + 1);
    expect(camera.phone?.watchers.map((watcher) => watcher.userID).sort()).toEqual(["ann", "ben"]);
    // The watchers send nothing back.
    for (const watcher of [first, second]) {
      const report = await watcher.session.watches[0]?.peerConnection?.getStats();
      const sent = [...(report?.values() ?? [])].filter((entry: { type: string; bytesSent?: number }) => entry.type === "outbound-rtp" && (entry.bytesSent ?? 0) > 0);
      expect(sent).toEqual([]);
    }
  });

  test("a third user sees the camera unavailable while its publisher is down, and available when frames return", async () => {
    const publisher = rtsp.publish("yard");
    const camera = new Camera({ url: server.wsUrl, ...TEST_CAMERA, name: "Yard", login: "yard-cam", source: rtsp.clientUrl("yard"), rtspTransport: "udp", firstFrameSeconds: 8 });
    cameras.push(camera);
    await camera.start();
    const [watcher, observer] = [new Watcher(server.wsUrl, "wes"), new Watcher(server.wsUrl, "olga")];
    watchers.push(watcher, observer);
    await Promise.all([watcher.session.connect(), observer.session.connect()]);
    const statuses: string[] = [];
    observer.session.on("directory", () => {
      const status = observer.session.user("yard-cam")?.status;
      if (status !== undefined && statuses.at(-1) !== status) {
        statuses.push(status);
      }
    });
    watcher.session.watch("yard-cam");
    await waitFor("frames at the watcher", () => watcher.frames > 5);
    expect(observer.session.user("yard-cam")?.status).toBe("online");
    // From here on: the first attempt may have met the publisher not yet up (unavailable, online).
    statuses.splice(0, statuses.length, "online");

    await publisher.stop();
    await waitFor("the observer to see the camera unavailable", () => observer.session.user("yard-cam")?.status === "unavailable");
    expect(watcher.session.user("yard-cam")?.status).toBe("unavailable");

    const framesBefore = watcher.frames;
    rtsp.publish("yard");
    await waitFor("the observer to see the camera available again", () => observer.session.user("yard-cam")?.status === "online");
    await waitFor("frames at the watcher again", () => watcher.frames > framesBefore + 5);
    expect(statuses).toEqual(["online", "unavailable", "online"]);
  });
});
