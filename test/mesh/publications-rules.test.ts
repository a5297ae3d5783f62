/**
 * The pure parts of publications: matching received tracks to announced sources, diffing two
 * matches, the `sources` data-channel message, and LocalPublications forwarding each change to
 * its targets (real @roamhq/wrtc tracks, no connection).
 */
import wrtc from "@roamhq/wrtc";
import { afterAll, describe, expect, test } from "vitest";
import {
  LocalPublications,
  diffPublications,
  matchRemotePublications,
  type LocalPublication,
  type PublicationTarget,
  type ReceivedTrack,
  type SourceAnnouncement,
  type TrackSource,
} from "../../client/core/index.ts";
import { decodeMeshChannelMessage } from "../../shared/protocol/mesh.ts";

type FakeTrack = { kind: string; id: string };
type FakeStream = { id: string };
type Received = ReceivedTrack<FakeTrack, FakeStream>;

const userVideo: Received = { track: { kind: "video", id: "uv" }, stream: { id: "user" } };
const userAudio: Received = { track: { kind: "audio", id: "ua" }, stream: { id: "user" } };
const screenVideo: Received = { track: { kind: "video", id: "sv" }, stream: { id: "screen" } };
const screenVideoAgain: Received = { track: { kind: "video", id: "sv2" }, stream: { id: "screen" } };
const userAndScreen: SourceAnnouncement[] = [
  { source: "camera", streamId: "user" },
  { source: "microphone", streamId: "user" },
  { source: "screen", streamId: "screen" },
];

describe("matchRemotePublications", () => {
  const cases: Array<[string, SourceAnnouncement[], Received[], Array<[TrackSource, string]>]> = [
    ["nothing announced, nothing received", [], [], []],
    ["tracks received before any announcement are not matched", [], [userVideo, userAudio], []],
    ["an announced source not received yet is not matched", userAndScreen, [userAudio], [["microphone", "ua"]]],
    ["camera and microphone share a stream and are told apart by kind", userAndScreen, [userVideo, userAudio], [["camera", "uv"], ["microphone", "ua"]]],
    ["the screen is matched by its stream id", userAndScreen, [userVideo, screenVideo], [["camera", "uv"], ["screen", "sv"]]],
    ["a source no longer announced is not matched though its track was received", [{ source: "camera", streamId: "user" }], [userVideo, screenVideo], [["camera", "uv"]]],
    ["the latest track of a stream and kind wins", userAndScreen, [screenVideo, screenVideoAgain], [["screen", "sv2"]]],
    ["a track of the wrong kind is not matched", [{ source: "screen-audio", streamId: "screen" }], [screenVideo], []],
  ];
  test.each(cases)("%s", (_name, announced, received, expected) => {
    const matched = matchRemotePublications(announced, received);
    expect([...matched].map(([source, entry]) => [source, entry.track.id])).toEqual(expected);
  });
});

describe("diffPublications", () => {
  const match = (entries: Array<[TrackSource, Received]>): Map<TrackSource, Received> => new Map(entries);
  const cases: Array<[string, Map<TrackSource, Received>, Map<TrackSource, Received>, { disappeared: TrackSource[]; appeared: TrackSource[] }]> = [
    ["nothing before or after", match([]), match([]), { disappeared: [], appeared: [] }],
    ["a source appears", match([]), match([["screen", screenVideo]]), { disappeared: [], appeared: ["screen"] }],
    ["a source disappears", match([["screen", screenVideo]]), match([]), { disappeared: ["screen"], appeared: [] }],
    ["the same track is no change", match([["camera", userVideo]]), match([["camera", userVideo]]), { disappeared: [], appeared: [] }],
    ["another track of a source goes and comes", match([["screen", screenVideo]]), match([["screen", screenVideoAgain]]), { disappeared: ["screen"], appeared: ["screen"] }],
    [
      "several changes at once",
      match([["camera", userVideo], ["microphone", userAudio]]),
      match([["microphone", userAudio], ["screen", screenVideo]]),
      { disappeared: ["camera"], appeared: ["screen"] },
    ],
  ];
  test.each(cases)("%s", (_name, before, after, expected) => {
    expect(diffPublications(before, after)).toEqual(expected);
  });
});

describe("sources message", () => {
  const cases: Array<[string, unknown, boolean]> = [
    ["an empty announcement", { type: "sources", sources: [] }, true],
    ["every source", { type: "sources", sources: [{ source: "camera", streamId: "a" }, { source: "microphone", streamId: "a" }, { source: "screen", streamId: "b" }, { source: "screen-audio", streamId: "b" }] }, true],
    ["an unknown source", { type: "sources", sources: [{ source: "hologram", streamId: "a" }] }, false],
    ["an empty stream id", { type: "sources", sources: [{ source: "camera", streamId: "" }] }, false],
    ["a stream id too long", { type: "sources", sources: [{ source: "camera", streamId: "x".repeat(257) }] }, false],
    ["more entries than sources", { type: "sources", sources: Array.from({ length: 5 }, () => ({ source: "camera", streamId: "a" })) }, false],
    ["no list", { type: "sources" }, false],
  ];
  test.each(cases)("a sources message with %s is decoded only when valid", (_name, message, valid) => {
    expect(decodeMeshChannelMessage(JSON.stringify(message)) !== undefined).toBe(valid);
  });
});

describe("LocalPublications", () => {
  const sources = new wrtc.nonstandard.RTCVideoSource();
  const audioSource = new wrtc.nonstandard.RTCAudioSource();
  const made: MediaStreamTrack[] = [];
  const video = (): MediaStreamTrack => {
    const track = sources.createTrack();
    made.push(track);
    return track;
  };
  const audio = (): MediaStreamTrack => {
    const track = audioSource.createTrack();
    made.push(track);
    return track;
  };
  afterAll(() => {
    for (const track of made) {
      track.stop();
    }
  });

  /** A target that records what it is told. */
  function recorder(): { target: PublicationTarget; calls: string[] } {
    const calls: string[] = [];
    const name = (publication: LocalPublication): string => `${publication.source} ${publication.track.id}`;
    return {
      calls,
      target: {
        addPublication: (publication) => calls.push(`add ${name(publication)}`),
        removePublication: (publication) => calls.push(`remove ${name(publication)}`),
        replacePublicationTrack: async (publication) => {
          calls.push(`replace ${name(publication)}`);
        },
      },
    };
  }

  const createStream = (): MediaStream => new wrtc.MediaStream();

  test("the legacy stream is published as microphone and camera, in that stream", () => {
    const camera = video();
    const microphone = audio();
    const stream = new wrtc.MediaStream([camera, microphone]);
    const publications = new LocalPublications({ createStream, stream });
    expect(publications.tracks()).toEqual(new Map([["microphone", microphone], ["camera", camera]]));
    expect(publications.announcement()).toEqual([
      { source: "microphone", streamId: stream.id },
      { source: "camera", streamId: stream.id },
    ]);
  });

  test("publish, replace and unpublish are forwarded to every attached target, and a detached one hears nothing", async () => {
    const publications = new LocalPublications({ createStream });
    const first = recorder();
    const second = recorder();
    publications.attach(first.target);
    const detach = publications.attach(second.target);
    const screen = video();
    const screen2 = video();

    publications.publish("screen", screen);
    await publications.replace("screen", screen2);
    detach();
    expect(publications.unpublish("screen")).toBe(true);
    expect(publications.unpublish("screen")).toBe(false);

    expect(first.calls).toEqual([`add screen ${screen.id}`, `replace screen ${screen2.id}`, `remove screen ${screen2.id}`]);
    expect(second.calls).toEqual([`add screen ${screen.id}`, `replace screen ${screen2.id}`]);
    expect(publications.tracks().size).toBe(0);
  });

  test("a source keeps its group's stream id when republished, and camera and microphone share one", () => {
    const publications = new LocalPublications({ createStream });
    publications.publish("camera", video());
    publications.publish("screen", video());
    const cameraStream = publications.get("camera")?.stream.id;
    const screenStream = publications.get("screen")?.stream.id;
    publications.unpublish("screen");
    publications.publish("screen", video());
    publications.publish("microphone", audio());
    expect(publications.get("screen")?.stream.id).toBe(screenStream);
    expect(publications.get("microphone")?.stream.id).toBe(cameraStream);
    expect(cameraStream).not.toBe(screenStream);
  });

  test("replace publishes a source that was not published", async () => {
    const publications = new LocalPublications({ createStream });
    const { target, calls } = recorder();
    publications.attach(target);
    const camera = video();
    await publications.replace("camera", camera);
    expect(calls).toEqual([`add camera ${camera.id}`]);
  });

  describe("failure cases", () => {
    test("publishing a source twice throws and changes nothing", () => {
      const publications = new LocalPublications({ createStream });
      const camera = video();
      publications.publish("camera", camera);
      expect(() => publications.publish("camera", video())).toThrow(/already published/);
      expect(publications.tracks().get("camera")).toBe(camera);
    });

    test("publishing or replacing with a track published under another source throws", async () => {
      const publications = new LocalPublications({ createStream });
      const track = video();
      publications.publish("camera", track);
      expect(() => publications.publish("screen", track)).toThrow(/already published as "camera"/);
      publications.publish("screen", video());
      await expect(publications.replace("screen", track)).rejects.toThrow(/already published as "camera"/);
      expect(publications.tracks().get("camera")).toBe(track);
    });

    test.each<[TrackSource, "audio" | "video"]>([
      ["camera", "audio"],
      ["microphone", "video"],
      ["screen", "audio"],
      ["screen-audio", "video"],
    ])("publishing %s with a track of kind %s throws a TypeError", (source, kind) => {
      const publications = new LocalPublications({ createStream });
      const track = kind === "audio" ? audio() : video();
      expect(() => publications.publish(source, track)).toThrow(TypeError);
      expect(publications.tracks().size).toBe(0);
    });
  });
});
