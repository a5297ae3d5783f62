/**
 * The pure division of the uplink budget among video senders (`fitVideoSenders`): table-driven,
 * one row per room shape.
 */
import { describe, expect, test } from "vitest";
import { SOURCE_CAP_KBPS, SOURCE_FLOOR_KBPS, fitVideoSenders, type VideoSenderSpec } from "../../client/core/bandwidth.ts";

/** `count` camera senders of a 1280×720 track, to peers p1…pN. */
function cameras(count: number): VideoSenderSpec[] {
  return Array.from({ length: count }, (_, index) => ({ peerId: `p${index + 1}`, source: "camera" as const, trackWidth: 1280, trackHeight: 720 }));
}

/** kbit/s of each sender of a fit, in input order. */
function kbpsOf(budgetKbps: number, senders: VideoSenderSpec[]): number[] {
  return fitVideoSenders(budgetKbps, senders).senders.map((sender) => sender.encoding.maxBitrate / 1000);
}

describe("fitVideoSenders, shares", () => {
  test.each([
    // [case, budget, senders, expected kbit/s per sender]
    ["one peer is held at the per-peer cap, not given the whole budget", 2_500, cameras(1), [1_500]],
    ["two peers split below the cap", 2_500, cameras(2), [1_250, 1_250]],
    ["five peers (a room of 6) share equally", 2_500, cameras(5), [500, 500, 500, 500, 500]],
    ["three peers after two left get more each", 2_500, cameras(3), [833, 833, 833]],
    ["seven peers (a room of 8) share equally", 2_500, cameras(7), [357, 357, 357, 357, 357, 357, 357]],
    ["the floor wins when the budget is too small: every tile keeps moving", 500, cameras(5), [150, 150, 150, 150, 150]],
    [
      "a screen share gets three times a camera's share",
      2_500,
      [...cameras(2), { peerId: "p1", source: "screen" as const, trackWidth: 1920, trackHeight: 1080 }],
      [500, 500, 1_500],
    ],
    [
      "a small tile's cap frees budget for the others",
      2_000,
      [...cameras(2), { peerId: "p3", source: "camera" as const, trackWidth: 1280, trackHeight: 720, hint: { maxWidth: 320, maxHeight: 180 } }],
      [925, 925, 150],
    ],
  ])("%s", (_case, budgetKbps, senders, expected) => {
    expect(kbpsOf(budgetKbps, senders)).toEqual(expected);
  });

  test("the sum stays within the budget whenever the floors fit, for every room size up to 8 and budgets from 1 to 10 Mbit/s", () => {
    for (let peers = 1; peers <= 7; peers += 1) {
      for (let budgetKbps = 1_000; budgetKbps <= 10_000; budgetKbps += 500) {
        const fit = fitVideoSenders(budgetKbps, cameras(peers));
        expect(fit.overBudget).toBe(peers * SOURCE_FLOOR_KBPS.camera > budgetKbps);
        if (!fit.overBudget) {
          expect(fit.totalKbps).toBeLessThanOrEqual(budgetKbps + peers);
        }
        for (const sender of fit.senders) {
          expect(sender.encoding.maxBitrate / 1000).toBeLessThanOrEqual(SOURCE_CAP_KBPS.camera);
          expect(sender.encoding.maxBitrate / 1000).toBeGreaterThanOrEqual(SOURCE_FLOOR_KBPS.camera);
        }
      }
    }
  });

  test("no senders makes an empty fit", () => {
    expect(fitVideoSenders(2_500, [])).toEqual({ senders: [], totalKbps: 0, overBudget: false });
  });
});

describe("fitVideoSenders, resolution and framerate", () => {
  test.each([
    // [case, budget, senders, expected scaleResolutionDownBy, expected maxFramerate]
    ["a camera with 500 kbit/s or more keeps its resolution and framerate", 2_500, cameras(5), 1, undefined],
    ["a camera below 500 kbit/s is sent at most 640 wide", 2_500, cameras(7), 2, undefined],
    ["a camera below 300 kbit/s is sent 320 wide at 15 frames/s", 1_000, cameras(5), 4, 15],
    ["a 320×240 camera is never scaled up", 1_000, [{ peerId: "p", source: "camera" as const, trackWidth: 320, trackHeight: 240 }, ...cameras(4)], 1, 15],
    ["a hint scales to the tile", 2_500, [{ ...cameras(1)[0]!, hint: { maxWidth: 640, maxHeight: 360 } }], 2, undefined],
    ["a hint for a wide, short tile follows the tighter edge (and its small cap lowers the framerate)", 2_500, [{ ...cameras(1)[0]!, hint: { maxWidth: 640, maxHeight: 180 } }], 4, 15],
    ["a track of unknown size counts as 1280×720", 1_000, [{ peerId: "p", source: "camera" as const }, ...cameras(4)], 4, 15],
    ["a screen keeps its resolution and runs at 15 frames/s", 2_500, [{ peerId: "p", source: "screen" as const, trackWidth: 1920, trackHeight: 1080 }], 1, 15],
    [
      "a screen below 500 kbit/s keeps its resolution and drops to 5 frames/s",
      600,
      [{ peerId: "p1", source: "screen" as const, trackWidth: 1920, trackHeight: 1080 }, { peerId: "p2", source: "screen" as const, trackWidth: 1920, trackHeight: 1080 }],
      1,
      5,
    ],
  ])("%s", (_case, budgetKbps, senders, scale, framerate) => {
    const [first] = fitVideoSenders(budgetKbps, senders).senders;
    expect(first?.encoding.scaleResolutionDownBy).toBe(scale);
    expect(first?.encoding.maxFramerate).toBe(framerate);
  });
});
