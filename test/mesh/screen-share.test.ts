/**
 * One screen share per room: the rule that picks the share that stays, the `sinceMs` of a
 * `sources` announcement's screen entry, and ScreenShare publishing, stopping and giving way
 * (real @roamhq/wrtc tracks, no connection).
 */
import wrtc from "@roamhq/wrtc";
import { afterAll, describe, expect, test } from "vitest";
import { LocalPublications, ScreenShare, yieldsScreenTo, type RemotePeer, type ScreenClaim, type ScreenShareEndReason } from "../../client/core/index.ts";
import { decodeMeshChannelMessage } from "../../shared/protocol/mesh.ts";

describe("yieldsScreenTo", () => {
  const cases: Array<[string, ScreenClaim, ScreenClaim, boolean]> = [
    ["a newer remote share wins", { participantId: "a", sinceMs: 1_000 }, { participantId: "b", sinceMs: 1_001 }, true],
    ["an older remote share gives way", { participantId: "a", sinceMs: 1_001 }, { participantId: "b", sinceMs: 1_000 }, false],
    ["on the same millisecond the larger id wins (remote larger)", { participantId: "a", sinceMs: 1_000 }, { participantId: "b", sinceMs: 1_000 }, true],
    ["on the same millisecond the larger id wins (local larger)", { participantId: "b", sinceMs: 1_000 }, { participantId: "a", sinceMs: 1_000 }, false],
  ];
  test.each(cases)("%s", (_name, local, remote, yields) => {
    expect(yieldsScreenTo(local, remote)).toBe(yields);
    // Antisymmetric: exactly one of two sharers yields.
    expect(yieldsScreenTo(remote, local)).toBe(!yields);
  });
});

describe("sources message with a screen's sinceMs", () => {
  const cases: Array<[string, unknown, boolean]> = [
    ["a sinceMs", { source: "screen", streamId: "s", sinceMs: 1_700_000_000_000 }, true],
    ["no sinceMs (an older build)", { source: "screen", streamId: "s" }, true],
    ["a negative sinceMs", { source: "screen", streamId: "s", sinceMs: -1 }, false],
    ["a fractional sinceMs", { source: "screen", streamId: "s", sinceMs: 1.5 }, false],
    ["a sinceMs that is a string", { source: "screen", streamId: "s", sinceMs: "1" }, false],
  ];
  test.each(cases)("an entry with %s is decoded only when valid", (_name, entry, valid) => {
    expect(decodeMeshChannelMessage(JSON.stringify({ type: "sources", sources: [entry] })) !== undefined).toBe(valid);
  });
});

describe("ScreenShare", () => {
  const videoSource = new wrtc.nonstandard.RTCVideoSource();
  const audioSource = new wrtc.nonstandard.RTCAudioSource();
  const made: MediaStreamTrack[] = [];
  afterAll(() => made.forEach((track) => track.stop()));

  /** A captured screen: video, and audio when asked. */
  function capture(withAudio: boolean): MediaStream {
    const tracks = [videoSource.createTrack(), ...(withAudio ? [audioSource.createTrack()] : [])];
    made.push(...tracks);
    return new wrtc.MediaStream(tracks);
  }

  /** A ScreenShare over fresh publications, recording how shares end. */
  function setup(ownId = "m"): { share: ScreenShare; publications: LocalPublications; ended: Array<[ScreenShareEndReason, string | undefined]> } {
    const publications = new LocalPublications({ createStream: () => new wrtc.MediaStream() });
    const ended: Array<[ScreenShareEndReason, string | undefined]> = [];
    const share = new ScreenShare({ publications, ownId: () => ownId, onEnded: (reason, by) => ended.push([reason, by?.id]) });
    return { share, publications, ended };
  }

  /** The part of a remote peer that ScreenShare reads. */
  const remote = (id: string, screenSinceMs: number | undefined): RemotePeer => ({ id, screenSinceMs }) as unknown as RemotePeer;

  test("start publishes the screen and its audio, the screen entry announced with sinceMs", () => {
    const { share, publications } = setup();
    const stream = capture(true);
    share.start(stream);
    expect(share.active).toBe(true);
    expect([...publications.tracks().keys()]).toEqual(["screen", "screen-audio"]);
    const [screen, screenAudio] = publications.announcement();
    expect(screen).toEqual({ source: "screen", streamId: expect.any(String), sinceMs: publications.get("screen")?.sinceMs });
    expect(screenAudio).toEqual({ source: "screen-audio", streamId: screen?.streamId });
  });

  test("stop unpublishes both tracks, reports `stopped` once, and a second stop does nothing", () => {
    const { share, publications, ended } = setup();
    share.start(capture(true));
    expect(share.stop()).toBe(true);
    expect(share.stop()).toBe(false);
    expect(publications.list()).toEqual([]);
    expect(ended).toEqual([["stopped", undefined]]);
  });

  test("a newer remote share replaces this one and names its sharer; an older one or none does not", () => {
    const { share, publications, ended } = setup();
    share.start(capture(false));
    const sinceMs = publications.get("screen")?.sinceMs ?? 0;
    share.onRemoteSources(remote("older", sinceMs - 1));
    share.onRemoteSources(remote("camera-only", undefined));
    expect(share.active).toBe(true);
    share.onRemoteSources(remote("newer", sinceMs + 1));
    expect(share.active).toBe(false);
    expect(publications.get("screen")).toBeUndefined();
    expect(ended).toEqual([["replaced", "newer"]]);
  });

  test("a stream without video is refused and publishes nothing", () => {
    const { share, publications } = setup();
    const stream = new wrtc.MediaStream([audioSource.createTrack()]);
    made.push(...stream.getTracks());
    expect(() => share.start(stream)).toThrow(TypeError);
    expect(publications.list()).toEqual([]);
  });
});
