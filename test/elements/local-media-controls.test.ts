/**
 * `LocalMediaControls`, the microphone and camera switches both elements use, on stand-in tracks
 * (Node has no `MediaStream`; the controls only touch `enabled`, `stop()` and the track lists).
 */
import { describe, expect, test } from "vitest";
import { LocalMediaControls, MediaProblem, describeMissingMedia, type LocalMedia } from "../../client/elements/shared/local-media.ts";

interface FakeTrack {
  kind: "audio" | "video";
  enabled: boolean;
  stopped: boolean;
  stop(): void;
}

function fakeTrack(kind: "audio" | "video"): FakeTrack {
  return { kind, enabled: true, stopped: false, stop() { this.stopped = true; } };
}

function fakeMedia(...kinds: Array<"audio" | "video">): { media: LocalMedia; tracks: FakeTrack[] } {
  const tracks = kinds.map(fakeTrack);
  const stream = {
    addTrack: (track: FakeTrack) => tracks.push(track),
    getTracks: () => tracks,
    getAudioTracks: () => tracks.filter((track) => track.kind === "audio"),
    getVideoTracks: () => tracks.filter((track) => track.kind === "video"),
  } as unknown as MediaStream;
  return { media: { stream, audioProblem: undefined, videoProblem: undefined }, tracks };
}

describe("LocalMediaControls", () => {
  test("use applies the switches to the tracks; a switch flips one kind and calls onSwitch", () => {
    let switched = 0;
    const controls = new LocalMediaControls(() => (switched += 1));
    const { media, tracks } = fakeMedia("audio", "video");
    controls.use(media, { audio: false, video: true });
    expect(tracks.map((track) => track.enabled)).toEqual([false, true]);
    expect([controls.audioOn, controls.videoOn]).toEqual([false, true]);
    expect(switched).toBe(0);

    controls.toggleAudio();
    controls.toggleVideo();
    expect(tracks.map((track) => track.enabled)).toEqual([true, false]);
    expect([controls.audioOn, controls.videoOn]).toEqual([true, false]);
    expect(switched).toBe(2);
  });

  test("switchOff (a host's mute request) turns one kind off without onSwitch; the user can switch it back on", () => {
    let switched = 0;
    const controls = new LocalMediaControls(() => (switched += 1));
    const { media, tracks } = fakeMedia("audio", "video");
    controls.use(media, { audio: true, video: true });
    controls.switchOff("audio");
    expect(tracks.map((track) => track.enabled)).toEqual([false, true]);
    expect([controls.audioOn, controls.videoOn, switched]).toEqual([false, true, 0]);
    controls.switchOff("video");
    expect([controls.audioOn, controls.videoOn]).toEqual([false, false]);

    controls.toggleAudio();
    expect([tracks[0]?.enabled, controls.audioOn, switched]).toEqual([true, true, 1]);
  });

  test("a switch does nothing when that kind has no track", () => {
    let switched = 0;
    const controls = new LocalMediaControls(() => (switched += 1));
    controls.use(fakeMedia("audio").media, { audio: true, video: true });
    controls.toggleVideo();
    expect([controls.hasAudio, controls.hasVideo, controls.videoOn]).toEqual([true, false, false]);
    expect(switched).toBe(0);
  });

  test("a kind that was denied can be retried: the granted track is adopted, switched on and the problem cleared", () => {
    const controls = new LocalMediaControls(() => {});
    const { media } = fakeMedia("audio");
    controls.use({ ...media, videoProblem: MediaProblem.denied }, { audio: false, video: false });
    expect([controls.canRetry("video"), controls.canRetry("audio")]).toEqual([true, false]);

    const camera = fakeTrack("video");
    expect(controls.adopt(camera as unknown as MediaStreamTrack)).toBe(true);
    expect([controls.hasVideo, controls.videoOn, controls.audioOn, controls.media.videoProblem]).toEqual([true, true, false, undefined]);
    expect(controls.switches).toEqual({ audio: false, video: true });
    expect(controls.canRetry("video")).toBe(false);

    const second = fakeTrack("video");
    expect(controls.adopt(second as unknown as MediaStreamTrack)).toBe(false);
    expect(second.stopped).toBe(true);
  });

  test("a retry that fails again keeps the kind retryable, except on a page that cannot ask at all", () => {
    const controls = new LocalMediaControls(() => {});
    controls.use(fakeMedia("audio").media, { audio: true, video: true });
    controls.setProblem("video", MediaProblem.busy);
    expect(controls.canRetry("video")).toBe(true);
    controls.setProblem("video", MediaProblem.unsupported);
    expect(controls.canRetry("video")).toBe(false);
  });

  test("release and a new use stop the tracks in use; releasing twice is safe", () => {
    const controls = new LocalMediaControls(() => {});
    const first = fakeMedia("audio", "video");
    const second = fakeMedia("video");
    controls.use(first.media, { audio: true, video: true });
    controls.use(second.media, { audio: true, video: true });
    expect(first.tracks.every((track) => track.stopped)).toBe(true);
    controls.release();
    controls.release();
    expect(second.tracks[0]?.stopped).toBe(true);
    expect([controls.stream, controls.hasAudio, controls.hasVideo]).toEqual([undefined, false, false]);
  });
});

describe("describeMissingMedia", () => {
  test.each([
    [undefined, undefined, ""],
    [MediaProblem.denied, undefined, "microphone: denied"],
    [undefined, MediaProblem.busy, "camera: busy"],
    [MediaProblem.missing, MediaProblem.denied, "camera: denied, microphone: missing"],
  ])("audio %s and video %s read %j", (audioProblem, videoProblem, expected) => {
    expect(describeMissingMedia({ stream: undefined, audioProblem, videoProblem })).toBe(expected);
  });
});
